#include "service/rollout.h"

namespace idsign::service {
namespace {

void Copy(const auto& counts, v1::VerificationCounts* out) {
  out->set_valid(counts.valid.load(std::memory_order_relaxed));
  out->set_invalid(counts.invalid.load(std::memory_order_relaxed));
  out->set_missing(counts.missing.load(std::memory_order_relaxed));
  out->set_denied(counts.denied.load(std::memory_order_relaxed));
}

}  // namespace

v1::Decision Decide(v1::VerifyReason reason, keys::RolloutMode mode) {
  if (reason == v1::VERIFY_REASON_VALID) return v1::DECISION_ALLOW;
  return mode == keys::RolloutMode::kMonitor ? v1::DECISION_ALLOW
                                             : v1::DECISION_DENY;
}

v1::RolloutMode ToProto(keys::RolloutMode mode) {
  return mode == keys::RolloutMode::kMonitor ? v1::ROLLOUT_MODE_MONITOR
                                             : v1::ROLLOUT_MODE_ENFORCE;
}

const char* RolloutModeName(v1::RolloutMode mode) {
  return mode == v1::ROLLOUT_MODE_MONITOR ? "monitor" : "enforce";
}

RolloutCounters::Entry* RolloutCounters::Find(absl::string_view key) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : it->second.get();
}

void RolloutCounters::Record(absl::string_view key, VerifiedKind kind,
                             v1::VerifyReason reason, v1::Decision decision) {
  Entry* entry = Find(key);
  if (entry == nullptr) {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) {
      if (entries_.size() >= max_keys_) return;
      it = entries_.emplace(std::string(key), std::make_unique<Entry>()).first;
    }
    entry = it->second.get();
  }
  Counts& counts = kind == VerifiedKind::kJwt ? entry->jwt : entry->user_hash;
  switch (reason) {
    case v1::VERIFY_REASON_VALID:
      counts.valid.fetch_add(1, std::memory_order_relaxed);
      break;
    case v1::VERIFY_REASON_MISSING:
      counts.missing.fetch_add(1, std::memory_order_relaxed);
      break;
    default:
      counts.invalid.fetch_add(1, std::memory_order_relaxed);
      break;
  }
  if (decision == v1::DECISION_DENY) {
    counts.denied.fetch_add(1, std::memory_order_relaxed);
  }
}

void RolloutCounters::Read(absl::string_view key,
                           v1::KeyRolloutStatus* out) const {
  out->mutable_user_hash();
  out->mutable_jwt();
  const Entry* entry = Find(key);
  if (entry == nullptr) return;
  Copy(entry->user_hash, out->mutable_user_hash());
  Copy(entry->jwt, out->mutable_jwt());
}

}  // namespace idsign::service
