// idsignd stops cleanly on SIGTERM and SIGINT: exit status 0 within 5 s, and
// a call in flight when the signal arrives still completes (drain).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "idsign/v1/signer.grpc.pb.h"
#include "tests/e2e/idsignd_process.h"
#include "tests/e2e/subprocess.h"
#include "tests/e2e/unix_relay.h"
#include "tests/testing/oracle.h"

namespace idsign::e2e {
namespace {

using ::idsign::testing::OpenSslHmacSha256Hex;
using ::testing::HasSubstr;

constexpr char kKey[] = "shutdown/web/prod";
constexpr char kSecret[] = "shutdown-secret-0123456789abcdefghijkl";
// The one bound on elapsed time in the suite: a stop signal must end the
// process within this.
constexpr std::chrono::seconds kStopBound(5);
constexpr int kBatchSize = 1000;
constexpr size_t kIdentifierBytes = 1024;

class ShutdownTest : public ::testing::TestWithParam<int> {
 protected:
  static void SetUpTestSuite() {
    RunResult imported = ImportKey(kKey, kSecret);
    ASSERT_EQ(imported.exit_code, 0) << imported.Describe();
  }

  static std::unique_ptr<IdsigndProcess> StartServer(std::string* socket_path) {
    *socket_path = ScratchPath("stop.sock");
    std::string error;
    auto server = IdsigndProcess::Start("unix:" + *socket_path, {}, &error);
    EXPECT_NE(server, nullptr) << error;
    return server;
  }

  // Sends the parameter's signal and expects exit status 0 within the bound.
  static void ExpectCleanStop(IdsigndProcess& server) {
    server.process().Signal(GetParam());
    std::optional<int> status = server.process().WaitFor(kStopBound);
    ASSERT_TRUE(status.has_value())
        << "idsignd still running " << kStopBound.count() << " s after "
        << strsignal(GetParam()) << "; log:\n"
        << server.log();
    EXPECT_EQ(DescribeWaitStatus(*status), "exit 0") << server.log();
    EXPECT_THAT(server.log(), HasSubstr("stopping"));
    EXPECT_THAT(server.log(), HasSubstr("stopped"));
  }

  // One BatchSign of 1000 identities of 1 KiB each.
  static v1::BatchSignRequest BigBatch() {
    v1::BatchSignRequest request;
    request.set_key(kKey);
    for (int i = 0; i < kBatchSize; ++i) {
      std::string user_id = absl::StrCat("drain-user-", i, "-");
      user_id.resize(kIdentifierBytes, 'x');
      request.add_identities()->set_user_id(user_id);
    }
    return request;
  }

  // Bytes the request occupies on the wire at least: the message and
  // gRPC's 5-byte length prefix (HTTP/2 framing comes on top).
  static uint64_t MinWireBytes(const v1::BatchSignRequest& request) {
    return request.ByteSizeLong() + 5;
  }

  // Runs one drain attempt on a fresh server. *in_flight tells whether the
  // call was still unanswered when the signal was sent.
  static void DrainAttempt(bool* in_flight);
};

TEST_P(ShutdownTest, IdleServerExitsZero) {
  std::string socket_path;
  std::unique_ptr<IdsigndProcess> server = StartServer(&socket_path);
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(server->WaitUntilServing());
  ExpectCleanStop(*server);
}

// A client that keeps an idle connection open (as backends do) does not read
// idsignd's GOAWAY, so idsignd waits out --shutdown-grace (4 s by default)
// before closing it. It must still exit 0 within the bound.
TEST_P(ShutdownTest, ServerWithIdleClientConnectionExitsZero) {
  std::string socket_path;
  std::unique_ptr<IdsigndProcess> server = StartServer(&socket_path);
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(server->WaitUntilServing());
  auto channel =
      grpc::CreateChannel(server->target(), grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_TRUE(health->Check(&context, {}, &response).ok());
  ExpectCleanStop(*server);
}

void ShutdownTest::DrainAttempt(bool* in_flight) {
  *in_flight = false;
  std::string socket_path;
  std::unique_ptr<IdsigndProcess> server = StartServer(&socket_path);
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(server->WaitUntilServing());

  // The client talks through a relay that shows when idsignd has read the
  // whole request, so the signal lands while the call is being served.
  const std::string relay_path = ScratchPath("relay.sock");
  std::string error;
  std::unique_ptr<UnixRelay> relay =
      UnixRelay::Start(relay_path, socket_path, &error);
  ASSERT_NE(relay, nullptr) << error;
  auto channel = grpc::CreateChannel("unix:" + relay_path,
                                     grpc::InsecureChannelCredentials());
  ASSERT_TRUE(channel->WaitForConnected(std::chrono::system_clock::now() +
                                        std::chrono::seconds(30)));
  {
    // A first call through the relay sets the connection up.
    auto health = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    grpc::health::v1::HealthCheckResponse response;
    ASSERT_TRUE(health->Check(&context, {}, &response).ok());
  }

  const v1::BatchSignRequest request = BigBatch();
  const uint64_t request_wire_bytes = MinWireBytes(request);
  auto stub = v1::Signer::NewStub(channel);
  const uint64_t sent_before = relay->bytes_to_server();
  std::atomic<bool> answered{false};
  grpc::Status call_status;
  v1::BatchSignResponse response;
  std::thread client([&] {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(60));
    call_status = stub->BatchSign(&context, request, &response);
    answered = true;
  });

  // Wait until the relay has passed the whole request on, idsignd has read
  // it, and nothing more is coming.
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  uint64_t last_count = 0;
  auto stable_since = std::chrono::steady_clock::now();
  bool request_read = false;
  while (!answered && std::chrono::steady_clock::now() < give_up) {
    const uint64_t count = relay->bytes_to_server() - sent_before;
    const auto now = std::chrono::steady_clock::now();
    if (count != last_count || relay->unread_by_server() != 0) {
      last_count = count;
      stable_since = now;
    } else if (count >= request_wire_bytes &&
               now - stable_since >= std::chrono::milliseconds(2)) {
      request_read = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  const bool answered_at_signal = answered;
  server->process().Signal(GetParam());
  std::optional<int> status = server->process().WaitFor(kStopBound);
  client.join();  // bounded by the call's deadline

  ASSERT_TRUE(status.has_value())
      << "idsignd still running " << kStopBound.count() << " s after "
      << strsignal(GetParam()) << "; log:\n"
      << server->log();
  EXPECT_EQ(DescribeWaitStatus(*status), "exit 0") << server->log();
  ASSERT_TRUE(call_status.ok())
      << "the in-flight call was not drained: " << call_status.error_code()
      << " " << call_status.error_message()
      << "\nrequest read by idsignd: " << request_read << "\nlog:\n"
      << server->log();
  ASSERT_EQ(response.results_size(), kBatchSize);
  for (int i = 0; i < kBatchSize; ++i) {
    ASSERT_EQ(response.results(i).response().user_hash(),
              OpenSslHmacSha256Hex(kSecret, request.identities(i).user_id()))
        << "identity " << i;
  }
  *in_flight = request_read && !answered_at_signal;
}

TEST_P(ShutdownTest, InFlightCallIsDrainedAndServerExitsZero) {
  // A fast machine may answer before the signal lands; try again then, so
  // that the drain is really exercised.
  bool in_flight = false;
  for (int attempt = 0; attempt < 3 && !in_flight; ++attempt) {
    DrainAttempt(&in_flight);
    if (HasFatalFailure()) return;
  }
  EXPECT_TRUE(in_flight)
      << "every attempt was answered before the signal was sent";
}

INSTANTIATE_TEST_SUITE_P(Signals, ShutdownTest,
                         ::testing::Values(SIGTERM, SIGINT),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(info.param == SIGTERM ? "SIGTERM"
                                                                    : "SIGINT");
                         });

}  // namespace
}  // namespace idsign::e2e
