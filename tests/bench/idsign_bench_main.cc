// idsign_bench: a load generator for idsignd.
//
// It keeps --inflight unary calls in flight, first against grpc.health.v1
// Check (the anchor: the cheapest call the same server can answer), then
// against idsign.v1.Signer/Sign with a different user id on every call, and
// prints the rate and latency of each and the ratio Sign/Check. Absolute
// rates drift from run to run; the ratio is the figure to compare.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "idsign/v1/signer.grpc.pb.h"
#include "tests/bench/load_generator.h"

namespace idsign::bench {
namespace {

// A unary call made with a generated stub's PrepareAsync method.
template <typename Stub, typename Request, typename Response>
class UnaryCall : public PendingCall {
 public:
  using Prepare = std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> (
      Stub::*)(grpc::ClientContext*, const Request&, grpc::CompletionQueue*);

  UnaryCall(Stub* stub, Prepare prepare, Request request)
      : stub_(stub), prepare_(prepare), request_(std::move(request)) {}

  void Start(grpc::CompletionQueue* cq) override {
    reader_ = (stub_->*prepare_)(&context, request_, cq);
    reader_->StartCall();
    reader_->Finish(&response_, &status_, this);
  }
  const grpc::Status& status() const override { return status_; }

 private:
  Stub* const stub_;
  const Prepare prepare_;
  const Request request_;
  Response response_;
  grpc::Status status_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> reader_;
};

struct Flags {
  std::string server = "127.0.0.1:50051";
  std::string key;
  int inflight = 32;
  int channels = 1;
  std::string duration = "5s";
  std::string warmup = "1s";
  std::string only;  // "check" or "sign": run that phase alone
  int rounds = 1;
};

void Print(const std::string& name, const LoadResult& result) {
  // Client CPU per call: with client and server on one machine, what the
  // load generator itself costs.
  const double client_cpu_us =
      result.started > 0 ? absl::ToDoubleMicroseconds(result.client_cpu) /
                               static_cast<double>(result.started)
                         : 0;
  std::printf(
      "%-30s qps=%-9.0f p50_ms=%-7.3f p99_ms=%-7.3f calls=%llu "
      "errors=%llu client_cpu_us_per_call=%.1f\n",
      name.c_str(), result.qps(), result.LatencyMs(0.50),
      result.LatencyMs(0.99), static_cast<unsigned long long>(result.completed),
      static_cast<unsigned long long>(result.errors), client_cpu_us);
  if (result.errors > 0) {
    std::printf("%-30s first error: %s\n", name.c_str(),
                result.first_error.c_str());
  }
  std::fflush(stdout);
}

int Run(const Flags& flags) {
  LoadOptions options;
  options.inflight = flags.inflight;
  if (!absl::ParseDuration(flags.duration, &options.duration) ||
      options.duration <= absl::ZeroDuration()) {
    std::fprintf(stderr,
                 "idsign_bench: --duration must be positive, e.g. 5s\n");
    return 2;
  }
  if (!absl::ParseDuration(flags.warmup, &options.warmup) ||
      options.warmup < absl::ZeroDuration()) {
    std::fprintf(stderr,
                 "idsign_bench: --warmup must be a duration, e.g. 1s\n");
    return 2;
  }

  // Each channel gets its own connection (no shared subchannel pool).
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < flags.channels; ++i) {
    grpc::ChannelArguments arguments;
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    channels.push_back(grpc::CreateCustomChannel(
        flags.server, grpc::InsecureChannelCredentials(), arguments));
    if (!channels.back()->WaitForConnected(
            absl::ToChronoTime(absl::Now() + absl::Seconds(10)))) {
      std::fprintf(stderr, "idsign_bench: cannot connect to %s\n",
                   flags.server.c_str());
      return 1;
    }
  }
  std::vector<std::unique_ptr<grpc::health::v1::Health::Stub>> health_stubs;
  std::vector<std::unique_ptr<v1::Signer::Stub>> signer_stubs;
  for (const auto& channel : channels) {
    health_stubs.push_back(grpc::health::v1::Health::NewStub(channel));
    signer_stubs.push_back(v1::Signer::NewStub(channel));
  }

  std::printf(
      "idsign_bench: server=%s key=%s inflight=%d channels=%d "
      "warmup=%s duration=%s rounds=%d\n",
      flags.server.c_str(), flags.key.c_str(), flags.inflight, flags.channels,
      absl::FormatDuration(options.warmup).c_str(),
      absl::FormatDuration(options.duration).c_str(), flags.rounds);

  using CheckCall = UnaryCall<grpc::health::v1::Health::Stub,
                              grpc::health::v1::HealthCheckRequest,
                              grpc::health::v1::HealthCheckResponse>;
  const CallFactory check_call = [&](const std::shared_ptr<grpc::Channel>&,
                                     uint64_t sequence) {
    return std::make_unique<CheckCall>(
        health_stubs[sequence % health_stubs.size()].get(),
        &grpc::health::v1::Health::Stub::PrepareAsyncCheck,
        grpc::health::v1::HealthCheckRequest());
  };
  using SignCall =
      UnaryCall<v1::Signer::Stub, v1::SignRequest, v1::SignResponse>;
  uint64_t signed_before = 0;  // keeps user ids distinct across rounds
  const CallFactory sign_call = [&](const std::shared_ptr<grpc::Channel>&,
                                    uint64_t sequence) {
    v1::SignRequest request;
    request.set_key(flags.key);
    // 24 bytes, different on every call.
    request.mutable_identity()->set_user_id(
        absl::StrFormat("user-%019u", signed_before + sequence));
    return std::make_unique<SignCall>(
        signer_stubs[sequence % signer_stubs.size()].get(),
        &v1::Signer::Stub::PrepareAsyncSign, std::move(request));
  };

  // Rounds alternate the phases, so that both see the same conditions on a
  // machine whose load changes while the benchmark runs.
  const bool run_check = flags.only != "sign";
  const bool run_sign = flags.only != "check";
  LoadResult check, sign;
  for (int round = 0; round < flags.rounds; ++round) {
    if (run_check) check.Add(RunLoad(channels, check_call, options));
    if (run_sign) {
      LoadResult result = RunLoad(channels, sign_call, options);
      signed_before += result.started;
      sign.Add(result);
    }
    if (check.errors > 0 || sign.errors > 0) break;
  }
  if (run_check) Print("grpc.health.v1.Health/Check", check);
  if (run_sign) Print("idsign.v1.Signer/Sign", sign);

  if (run_check && run_sign) {
    const double ratio = check.qps() > 0 ? sign.qps() / check.qps() : 0;
    std::printf("ratio_sign_check=%.2f\n", ratio);
  }
  return check.errors == 0 && sign.errors == 0 ? 0 : 1;
}

}  // namespace
}  // namespace idsign::bench

int main(int argc, char** argv) {
  idsign::bench::Flags flags;
  CLI::App app{
      "idsign_bench: keep N unary calls in flight against idsignd, first "
      "grpc.health.v1 Check (the anchor), then idsign.v1.Signer/Sign with "
      "varying user ids; print QPS, p50/p99 latency and the ratio "
      "Sign/Check. Exit 1 if any call failed.",
      "idsign_bench"};
  app.add_option("--server", flags.server,
                 "idsignd address: host:port or unix:/path")
      ->capture_default_str();
  app.add_option("--key", flags.key, "logical key name to sign with")
      ->required();
  app.add_option("--inflight", flags.inflight, "calls kept in flight")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--channels", flags.channels,
                 "client connections the calls are spread over")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--duration", flags.duration,
                 "measured time per phase, e.g. 5s, 200ms")
      ->capture_default_str();
  app.add_option("--warmup", flags.warmup,
                 "unmeasured time before each phase's window")
      ->capture_default_str();
  app.add_option("--rounds", flags.rounds,
                 "alternate the phases this many times (each with its "
                 "warm-up and duration) and report the totals")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--only", flags.only,
                 "run one phase: check or sign (default: both, and the "
                 "ratio)")
      ->check(CLI::IsMember({"check", "sign"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return idsign::bench::Run(flags);
}
