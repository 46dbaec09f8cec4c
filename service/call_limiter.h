// CallLimiter: idsignd's load limits (--rate-limit, --rate-burst,
// --max-inflight).
//
// Each caller has a token bucket: it holds at most `burst` tokens, gains
// `rate` tokens a second, and every call takes one; a call finding the
// bucket empty gets RESOURCE_EXHAUSTED naming the caller and the limit. A
// rate of 0 turns rate limiting off. Independently, at most `max_inflight`
// calls run at once (0: no cap); one more gets RESOURCE_EXHAUSTED. Buckets
// that have refilled are forgotten once many callers have been seen, so
// memory stays bounded.
//
// Thread safety: thread-safe. Ownership: owns its buckets; the clock is
// injectable for tests.
#ifndef IDSIGN_SERVICE_CALL_LIMITER_H_
#define IDSIGN_SERVICE_CALL_LIMITER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace idsign::service {

class CallLimiter {
 public:
  struct Options {
    double rate = 0;               // calls per second per caller; 0: unlimited
    double burst = 0;              // bucket size; 0: max(1, rate)
    uint32_t max_inflight = 1024;  // 0: no cap
  };
  using Clock = std::function<absl::Time()>;

  explicit CallLimiter(Options options, Clock clock = &absl::Now);

  bool limits_rate() const { return options_.rate > 0; }

  // Takes one token from `caller`'s bucket, or RESOURCE_EXHAUSTED.
  absl::Status TakeToken(absl::string_view caller);

  // Takes an in-flight slot, or RESOURCE_EXHAUSTED. Each OK must be matched
  // by one Exit().
  absl::Status Enter();
  void Exit();

 private:
  struct Bucket {
    double tokens;
    absl::Time last;
  };

  const Options options_;
  const double burst_;
  const Clock clock_;
  std::atomic<uint32_t> inflight_{0};
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
  absl::Time next_prune_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace idsign::service

#endif  // IDSIGN_SERVICE_CALL_LIMITER_H_
