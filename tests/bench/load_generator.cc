#include "tests/bench/load_generator.h"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <iterator>

#include "absl/strings/str_cat.h"

namespace idsign::bench {

double LoadResult::qps() const {
  const double seconds = absl::ToDoubleSeconds(window);
  return seconds > 0 ? static_cast<double>(completed) / seconds : 0;
}

void LoadResult::Add(const LoadResult& other) {
  completed += other.completed;
  if (errors == 0) first_error = other.first_error;
  errors += other.errors;
  window += other.window;
  started += other.started;
  client_cpu += other.client_cpu;
  std::vector<double> merged;
  merged.reserve(latencies_ms.size() + other.latencies_ms.size());
  std::merge(latencies_ms.begin(), latencies_ms.end(),
             other.latencies_ms.begin(), other.latencies_ms.end(),
             std::back_inserter(merged));
  latencies_ms.swap(merged);
}

double LoadResult::LatencyMs(double q) const {
  if (latencies_ms.empty()) return 0;
  const double rank = q * static_cast<double>(latencies_ms.size() - 1);
  return latencies_ms[static_cast<size_t>(std::llround(rank))];
}

namespace {

absl::Duration ProcessCpuTime() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return absl::DurationFromTimeval(usage.ru_utime) +
         absl::DurationFromTimeval(usage.ru_stime);
}

}  // namespace

LoadResult RunLoad(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                   const CallFactory& factory, const LoadOptions& options) {
  LoadResult result;
  grpc::CompletionQueue cq;
  uint64_t sequence = 0;
  std::vector<std::unique_ptr<PendingCall>> slots(options.inflight);
  auto start_call = [&](size_t index) {
    const auto& channel = channels[sequence % channels.size()];
    std::unique_ptr<PendingCall>& slot = slots[index];
    slot = factory(channel, sequence++);
    slot->slot = index;
    slot->started = absl::Now();
    slot->context.set_deadline(
        absl::ToChronoTime(slot->started + options.call_deadline));
    slot->Start(&cq);
  };

  const absl::Duration cpu_before = ProcessCpuTime();
  const absl::Time begin = absl::Now();
  const absl::Time window_start = begin + options.warmup;
  const absl::Time window_end = window_start + options.duration;
  for (size_t i = 0; i < slots.size(); ++i) start_call(i);
  size_t outstanding = slots.size();

  while (outstanding > 0) {
    void* tag = nullptr;
    bool ok = false;
    if (!cq.Next(&tag, &ok)) break;
    const absl::Time now = absl::Now();
    auto* call = static_cast<PendingCall*>(tag);
    if (!ok || !call->status().ok()) {
      if (result.errors++ == 0) {
        result.first_error =
            ok ? absl::StrCat("status ", call->status().error_code(), ": ",
                              call->status().error_message())
               : "the completion queue reported a failed call";
      }
    } else if (now >= window_start && now < window_end) {
      ++result.completed;
      result.latencies_ms.push_back(
          absl::ToDoubleMilliseconds(now - call->started));
    }
    // A failed call ends the run: figures mixed with errors mean nothing.
    if (now < window_end && result.errors == 0) {
      start_call(call->slot);  // replaces, and so frees, the finished call
    } else {
      slots[call->slot].reset();
      --outstanding;
    }
  }
  cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (cq.Next(&tag, &ok)) {
  }
  result.window = options.duration;
  result.started = sequence;
  result.client_cpu = ProcessCpuTime() - cpu_before;
  std::sort(result.latencies_ms.begin(), result.latencies_ms.end());
  return result;
}

}  // namespace idsign::bench
