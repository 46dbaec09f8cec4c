// TokenWorkers: a fixed set of threads that run the token-bound part of
// Signer calls (C_Sign, C_Verify, C_Digest*), so that gRPC's own threads
// only parse, admit and answer.
//
// Why: gRPC's callback API runs handlers on a small pool of its own threads
// (2 to 16, by core count). Were token work done there, a slow or hung HSM
// would hold all of them: no call could be refused for --max-inflight, and
// health checks would go unanswered. With the work here, gRPC's threads stay
// free; calls wait in this queue while holding their in-flight slot, so
// --max-inflight bounds the queue.
//
// Thread safety: Run() may be called from any thread. Ownership: owns its
// threads; the destructor runs every job already queued, then joins them.
#ifndef IDSIGN_SERVICE_TOKEN_WORKERS_H_
#define IDSIGN_SERVICE_TOKEN_WORKERS_H_

#include <cstdint>
#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace idsign::service {

class TokenWorkers {
 public:
  explicit TokenWorkers(uint32_t threads);
  ~TokenWorkers();
  TokenWorkers(const TokenWorkers&) = delete;
  TokenWorkers& operator=(const TokenWorkers&) = delete;

  // Queues `job`; one of the threads runs it, in arrival order.
  void Run(absl::AnyInvocable<void() &&> job);

  uint32_t threads() const { return static_cast<uint32_t>(threads_.size()); }

 private:
  void Loop();

  absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void() &&>> jobs_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace idsign::service

#endif  // IDSIGN_SERVICE_TOKEN_WORKERS_H_
