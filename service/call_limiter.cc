#include "service/call_limiter.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace idsign::service {
namespace {

// Beyond this many callers, buckets that have refilled are dropped.
constexpr size_t kPruneAbove = 4096;
constexpr size_t kMaxEchoedCaller = 256;

}  // namespace

CallLimiter::CallLimiter(Options options, Clock clock)
    : options_(options),
      burst_(options.burst > 0 ? options.burst : std::max(1.0, options.rate)),
      clock_(std::move(clock)) {}

absl::Status CallLimiter::TakeToken(absl::string_view caller) {
  if (options_.rate <= 0) return absl::OkStatus();
  const absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  const absl::Duration refill = absl::Seconds(burst_ / options_.rate);
  if (buckets_.size() > kPruneAbove && now >= next_prune_) {
    absl::erase_if(buckets_, [&](const auto& entry) {
      return now - entry.second.last >= refill;
    });
    next_prune_ = now + refill;
  }
  auto [it, fresh] = buckets_.try_emplace(caller, Bucket{burst_, now});
  Bucket& bucket = it->second;
  if (!fresh && now > bucket.last) {
    bucket.tokens = std::min(
        burst_, bucket.tokens +
                    options_.rate * absl::ToDoubleSeconds(now - bucket.last));
    bucket.last = now;
  }
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return absl::OkStatus();
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("caller \"", caller.substr(0, kMaxEchoedCaller),
                   "\" is over its rate limit of ", options_.rate,
                   " calls per second (burst ", burst_, "); retry later"));
}

absl::Status CallLimiter::Enter() {
  const uint32_t inflight = inflight_.fetch_add(1) + 1;
  if (options_.max_inflight == 0 || inflight <= options_.max_inflight) {
    return absl::OkStatus();
  }
  inflight_.fetch_sub(1);
  return absl::ResourceExhaustedError(
      absl::StrCat("the server already has ", options_.max_inflight,
                   options_.max_inflight == 1 ? " call" : " calls",
                   " in flight (--max-inflight); retry later"));
}

void CallLimiter::Exit() { inflight_.fetch_sub(1); }

}  // namespace idsign::service
