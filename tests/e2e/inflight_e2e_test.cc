// idsignd --max-inflight through the binaries. idsignd runs with the fault
// shim in front of the test token, and the shim holds C_Sign ("HOLD C_Sign")
// until the test releases it, so calls stay in flight exactly as long as the
// test wants: no sleeps, no timing. With the cap reached, further Signer
// calls get RESOURCE_EXHAUSTED naming the flag, health checks still answer
// (grpc.health.v1 is not counted), and once the held calls complete (with
// the OpenSSL MAC) the slot is free again.
//
// Token work runs on idsignd's own threads (--token-threads), not on gRPC's
// callback threads (gRPC 1.51 starts max(2, min(16, cores / 2)) of those),
// so calls held in a hung token never stop idsignd from refusing calls over
// the cap or from answering health checks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "idsign/v1/signer.grpc.pb.h"
#include "tests/e2e/idsignd_process.h"
#include "tests/e2e/subprocess.h"
#include "tests/testing/oracle.h"
#include "tests/testing/softhsm_token.h"

namespace idsign::e2e {
namespace {

using ::idsign::testing::OpenSslHmacSha256Hex;
using ::idsign::testing::TestToken;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kKey[] = "inflight/web/prod";
constexpr char kSecret[] = "inflight-secret-0123456789abcdefghijklm";
// Bounds every wait; reached only when something is broken.
constexpr std::chrono::seconds kGiveUp(30);

// A Sign started on its own thread, answered when the shim releases it.
class BackgroundSign {
 public:
  BackgroundSign(v1::Signer::Stub* stub, std::string user_id)
      : user_id_(std::move(user_id)), thread_([this, stub] {
          grpc::ClientContext context;
          // Longer than the shim's own 30 s cap on a hold.
          context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::seconds(60));
          v1::SignRequest request;
          request.set_key(kKey);
          request.mutable_identity()->set_user_id(user_id_);
          status_ = stub->Sign(&context, request, &response_);
        }) {}
  ~BackgroundSign() { Join(); }

  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  const std::string& user_id() const { return user_id_; }
  // Read after Join().
  const grpc::Status& status() const { return status_; }
  const v1::SignResponse& response() const { return response_; }

 private:
  const std::string user_id_;
  grpc::Status status_;
  v1::SignResponse response_;
  std::thread thread_;  // last: starts once the rest is built
};

class InflightTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    RunResult imported = ImportKey(kKey, kSecret);
    ASSERT_EQ(imported.exit_code, 0) << imported.Describe();
    // idsignd inherits these: the shim wraps the test token's module and
    // reads its faults from this file.
    fault_file_ = new std::string(ScratchPath("fault"));
    ::setenv("IDSIGN_SHIM_TARGET", TestToken::module_path().c_str(), 1);
    ::setenv("IDSIGN_SHIM_FAULT_FILE", fault_file_->c_str(), 1);
  }

  static void TearDownTestSuite() {
    delete fault_file_;
    fault_file_ = nullptr;
  }

  void SetUp() override { Arm(""); }

  // Always releases, so no held call outlives a failed test.
  void TearDown() override { Arm(""); }

  // Replaces the fault file at once (rename), as the shim asks.
  static void Arm(const std::string& contents) {
    const std::string temporary = *fault_file_ + ".tmp";
    std::ofstream(temporary, std::ios::trunc) << contents;
    std::filesystem::rename(temporary, *fault_file_);
  }

  // How many calls the shim holds now ("" when none).
  static std::string HeldCount() {
    std::ifstream in(*fault_file_ + ".held");
    std::stringstream contents;
    contents << in.rdbuf();
    return contents.str();
  }

  // Polls (bounded) until the shim holds exactly `count` calls.
  static ::testing::AssertionResult WaitUntilHeld(int count) {
    const std::string want = absl::StrCat(count, "\n");
    const auto give_up = std::chrono::steady_clock::now() + kGiveUp;
    std::string now;
    while ((now = HeldCount()) != want) {
      if (std::chrono::steady_clock::now() >= give_up) {
        return ::testing::AssertionFailure()
               << "the shim did not hold " << count << " call(s) within "
               << kGiveUp.count() << " s (held: \"" << now << "\")";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return ::testing::AssertionSuccess();
  }

  static std::unique_ptr<IdsigndProcess> StartServer(
      int max_inflight, std::vector<std::string> extra_flags = {}) {
    std::string error;
    extra_flags.push_back(std::string("--pkcs11-module=") +
                          IDSIGN_TEST_FAULT_SHIM);
    extra_flags.push_back(absl::StrCat("--max-inflight=", max_inflight));
    auto server = IdsigndProcess::Start("unix:" + ScratchPath("inflight.sock"),
                                        extra_flags, &error);
    EXPECT_NE(server, nullptr) << error;
    return server;
  }

  static grpc::Status Sign(v1::Signer::Stub& stub, const std::string& user_id,
                           v1::SignResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kGiveUp);
    v1::SignRequest request;
    request.set_key(kKey);
    request.mutable_identity()->set_user_id(user_id);
    return stub.Sign(&context, request, response);
  }

  static RunResult CliSign(const IdsigndProcess& server,
                           const std::string& user_id) {
    return RunIdsign({"sign", "--server=" + server.target(), "--timeout=30s",
                      std::string("--key=") + kKey, "--user-id=" + user_id});
  }

  static std::string* fault_file_;
};

std::string* InflightTest::fault_file_ = nullptr;

// The scenario of the flag's help: one call in flight with --max-inflight=1;
// the next is refused, whatever the method and whichever the client, while
// health checks answer; the held call then completes correctly and the slot
// is free again.
TEST_F(InflightTest, CapOfOneRefusesTheSecondCallUntilTheFirstEnds) {
  std::unique_ptr<IdsigndProcess> server = StartServer(1);
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(server->WaitUntilServing());
  auto channel =
      grpc::CreateChannel(server->target(), grpc::InsecureChannelCredentials());
  auto stub = v1::Signer::NewStub(channel);

  Arm("HOLD C_Sign");
  BackgroundSign held(stub.get(), "held-user-1");
  ::testing::AssertionResult is_held = WaitUntilHeld(1);
  EXPECT_TRUE(is_held) << "\nlog:\n" << server->log();
  if (is_held) {
    v1::SignResponse refused_response;
    grpc::Status refused = Sign(*stub, "second-user", &refused_response);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << refused.error_message();
    EXPECT_THAT(refused.error_message(),
                AllOf(HasSubstr(" 1 call"), HasSubstr("--max-inflight")));
    EXPECT_THAT(refused_response.user_hash(), IsEmpty());

    // The cap is global: a call that never reaches C_Sign counts too.
    {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + kGiveUp);
      v1::ListKeysResponse keys;
      grpc::Status listed = stub->ListKeys(&context, {}, &keys);
      EXPECT_EQ(listed.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
          << listed.error_message();
      EXPECT_THAT(listed.error_message(), HasSubstr("--max-inflight"));
    }

    // What a person running the CLI sees: exit 3 and the reason.
    RunResult cli = CliSign(*server, "cli-user");
    EXPECT_EQ(cli.exit_code, 3) << cli.Describe();
    EXPECT_THAT(cli.stdout_text, IsEmpty());
    EXPECT_THAT(cli.stderr_text, AllOf(HasSubstr("RESOURCE_EXHAUSTED"),
                                       HasSubstr("--max-inflight")));

    // Health checks are not Signer calls and are not counted.
    {
      auto health = grpc::health::v1::Health::NewStub(channel);
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + kGiveUp);
      grpc::health::v1::HealthCheckRequest request;
      request.set_service("idsign.v1.Signer");
      grpc::health::v1::HealthCheckResponse response;
      grpc::Status checked = health->Check(&context, request, &response);
      EXPECT_TRUE(checked.ok()) << checked.error_message();
      EXPECT_EQ(response.status(),
                grpc::health::v1::HealthCheckResponse::SERVING);
    }
    // Everything above was answered while the first call stayed held.
    EXPECT_EQ(HeldCount(), "1\n");
  }

  Arm("");
  held.Join();
  ASSERT_TRUE(held.status().ok()) << held.status().error_message();
  EXPECT_EQ(held.response().user_hash(),
            OpenSslHmacSha256Hex(kSecret, held.user_id()));

  // The slot is free again, and the refusals did not keep any.
  RunResult third = CliSign(*server, "third-user");
  ASSERT_EQ(third.exit_code, 0) << third.Describe();
  EXPECT_EQ(third.stdout_text,
            OpenSslHmacSha256Hex(kSecret, "third-user") + "\n");
  v1::SignResponse fourth;
  grpc::Status fourth_status = Sign(*stub, "fourth-user", &fourth);
  ASSERT_TRUE(fourth_status.ok()) << fourth_status.error_message();
  EXPECT_EQ(fourth.user_hash(), OpenSslHmacSha256Hex(kSecret, "fourth-user"));
}

// A hung token holds every token thread. idsignd still refuses the call
// over the cap at once, and still answers health checks: gRPC's own
// threads, fewer than the held calls on a 2-core machine, stay free.
TEST_F(InflightTest, HungTokenHoldsNeitherGrpcThreadsNorCallsOverTheCap) {
  std::unique_ptr<IdsigndProcess> server =
      StartServer(2, {"--token-threads=2", "--sessions=2"});
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(server->WaitUntilServing());
  auto channel =
      grpc::CreateChannel(server->target(), grpc::InsecureChannelCredentials());
  auto stub = v1::Signer::NewStub(channel);

  Arm("HOLD C_Sign");
  BackgroundSign first(stub.get(), "hung-user-a");
  BackgroundSign second(stub.get(), "hung-user-b");
  ::testing::AssertionResult is_held = WaitUntilHeld(2);
  EXPECT_TRUE(is_held) << "\nlog:\n" << server->log();
  if (is_held) {
    v1::SignResponse refused_response;
    grpc::Status refused = Sign(*stub, "third-user", &refused_response);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << refused.error_message();

    auto health = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kGiveUp);
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status checked = health->Check(&context, request, &response);
    EXPECT_TRUE(checked.ok()) << checked.error_message();
    EXPECT_EQ(HeldCount(), "2\n");
  }

  Arm("");
  for (BackgroundSign* call : {&first, &second}) {
    call->Join();
    ASSERT_TRUE(call->status().ok()) << call->status().error_message();
    EXPECT_EQ(call->response().user_hash(),
              OpenSslHmacSha256Hex(kSecret, call->user_id()));
  }
}

// --max-inflight=0 is no cap: two Signs are held inside the token at once
// (as many as idsignd has callback threads for, at least), and both then
// complete.
TEST_F(InflightTest, CapOfZeroAdmitsConcurrentCalls) {
  std::unique_ptr<IdsigndProcess> server = StartServer(0);
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(server->WaitUntilServing());
  auto channel =
      grpc::CreateChannel(server->target(), grpc::InsecureChannelCredentials());
  auto stub = v1::Signer::NewStub(channel);

  Arm("HOLD C_Sign");
  BackgroundSign first(stub.get(), "held-user-a");
  BackgroundSign second(stub.get(), "held-user-b");
  EXPECT_TRUE(WaitUntilHeld(2)) << "\nlog:\n" << server->log();

  Arm("");
  for (BackgroundSign* call : {&first, &second}) {
    call->Join();
    ASSERT_TRUE(call->status().ok()) << call->status().error_message();
    EXPECT_EQ(call->response().user_hash(),
              OpenSslHmacSha256Hex(kSecret, call->user_id()));
  }
}

}  // namespace
}  // namespace idsign::e2e
