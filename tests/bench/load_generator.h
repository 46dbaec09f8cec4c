// LoadGenerator: keeps a fixed number of unary calls in flight against one
// server with the gRPC async (CompletionQueue) client API, and measures the
// completion rate and latency over a time window after a warm-up.
//
// A call is described by a CallFactory that starts call number `sequence`
// on a channel and completion queue; LoadGenerator restarts a slot as soon
// as its call completes, until the window ends, then drains.
//
// Thread safety: Run() is called from one thread and drives the completion
// queue on it. Ownership: borrows the channels; owns the calls it starts.
#ifndef IDSIGN_TESTS_BENCH_LOAD_GENERATOR_H_
#define IDSIGN_TESTS_BENCH_LOAD_GENERATOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/support/status.h"

namespace idsign::bench {

// One call in flight. Start() begins it on `cq` with `this` as the tag.
class PendingCall {
 public:
  virtual ~PendingCall() = default;
  virtual void Start(grpc::CompletionQueue* cq) = 0;
  virtual const grpc::Status& status() const = 0;

  grpc::ClientContext context;
  absl::Time started;
  size_t slot = 0;
};

// Builds call number `sequence` on `channel`; the context's deadline is set
// by the caller.
using CallFactory = std::function<std::unique_ptr<PendingCall>(
    const std::shared_ptr<grpc::Channel>& channel, uint64_t sequence)>;

struct LoadOptions {
  int inflight = 32;
  absl::Duration warmup = absl::Seconds(1);
  absl::Duration duration = absl::Seconds(5);
  absl::Duration call_deadline = absl::Seconds(10);
};

struct LoadResult {
  uint64_t completed = 0;  // OK calls completed inside the window
  uint64_t errors = 0;     // failed calls, warm-up included
  std::string first_error;
  absl::Duration window;             // the measured window (= duration)
  uint64_t started = 0;              // calls started, warm-up included
  absl::Duration client_cpu;         // this process's CPU time for the run
  std::vector<double> latencies_ms;  // of the OK calls in the window, sorted

  double qps() const;
  // Adds another run's figures, as if the windows were one.
  void Add(const LoadResult& other);
  // The q-quantile (0..1) of latencies_ms; 0 when there are none.
  double LatencyMs(double q) const;
};

LoadResult RunLoad(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                   const CallFactory& factory, const LoadOptions& options);

}  // namespace idsign::bench

#endif  // IDSIGN_TESTS_BENCH_LOAD_GENERATOR_H_
