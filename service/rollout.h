// Verification rollout: the decision a verifier should act on, and per-key
// counters of valid, invalid and missing values that show adoption before
// anyone enforces.
//
// A valid value is always allowed. An invalid or missing one is allowed in
// monitor mode and denied in enforce mode (the default for a key whose ring
// sets no mode).
//
// RolloutCounters keeps one entry per key name it is given, up to
// `max_keys`; callers record only keys the key store knows, so memory is
// bounded by the keys on the token. Recording takes a shared lock and
// relaxed atomic increments.
//
// Thread safety: Decide is stateless; RolloutCounters is thread-safe.
// Ownership: RolloutCounters owns its entries.
#ifndef IDSIGN_SERVICE_ROLLOUT_H_
#define IDSIGN_SERVICE_ROLLOUT_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "idsign/v1/signer.pb.h"
#include "service/keys/key_types.h"

namespace idsign::service {

v1::Decision Decide(v1::VerifyReason reason, keys::RolloutMode mode);

v1::RolloutMode ToProto(keys::RolloutMode mode);

// "monitor" or "enforce", for people. ROLLOUT_MODE_UNSPECIFIED (a ring that
// never had a mode) is enforced, so it is named "enforce" too.
const char* RolloutModeName(v1::RolloutMode mode);

// What was verified: a user_hash (Verify) or a JWT (VerifyJwt).
enum class VerifiedKind { kUserHash, kJwt };

class RolloutCounters {
 public:
  explicit RolloutCounters(size_t max_keys = 100000)
      : max_keys_(max_keys), since_(absl::Now()) {}

  void Record(absl::string_view key, VerifiedKind kind, v1::VerifyReason reason,
              v1::Decision decision);

  // Fills `out` with the key's counts; zeros for a key never recorded.
  void Read(absl::string_view key, v1::KeyRolloutStatus* out) const;

  // When counting started: the server's start.
  absl::Time since() const { return since_; }

 private:
  struct Counts {
    std::atomic<uint64_t> valid{0};
    std::atomic<uint64_t> invalid{0};
    std::atomic<uint64_t> missing{0};
    std::atomic<uint64_t> denied{0};
  };
  struct Entry {
    Counts user_hash;
    Counts jwt;
  };

  Entry* Find(absl::string_view key) const;

  const size_t max_keys_;
  const absl::Time since_;
  mutable absl::Mutex mu_;
  // Entries are never removed, so a pointer stays valid after unlocking.
  std::map<std::string, std::unique_ptr<Entry>, std::less<>> entries_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace idsign::service

#endif  // IDSIGN_SERVICE_ROLLOUT_H_
