// Live reload and per-key health of the real idsignd, with the key changed by
// another process: while a client signs in a loop, `idsign key rotate
// --make-primary` runs as a separate process, and idsignd picks the new
// version up on SIGHUP, or by itself at --reload-interval. No call fails,
// and every user_hash equals OpenSSL's HMAC under the secret of the version
// the response names. Health reports each key, and a weak key object made
// with raw PKCS#11 is NOT_SERVING while the server stays SERVING.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "idsign/v1/signer.grpc.pb.h"
#include "tests/e2e/idsignd_process.h"
#include "tests/e2e/subprocess.h"
#include "tests/testing/oracle.h"
#include "tests/testing/raw_pkcs11.h"
#include "tests/testing/softhsm_token.h"

namespace idsign::e2e {
namespace {

using ::grpc::health::v1::HealthCheckResponse;
using ::idsign::testing::OpenSslHmacSha256Hex;
using ::idsign::testing::TestToken;
using ::testing::HasSubstr;

// How long a test waits for idsignd to show a change; far above the 1 s
// reload interval, so only a missing reload runs into it.
constexpr std::chrono::seconds kChangeBound(30);

std::string WriteSecretFile(const std::string& secret) {
  const std::string path = ScratchPath("secret");
  std::ofstream(path, std::ios::binary) << secret;
  return path;
}

std::vector<std::string> WithTokenFlags(std::vector<std::string> args) {
  for (const std::string& flag : TokenFlags()) args.push_back(flag);
  return args;
}

std::shared_ptr<grpc::Channel> ChannelTo(const IdsigndProcess& server) {
  return grpc::CreateChannel(server.target(),
                             grpc::InsecureChannelCredentials());
}

// A client thread that signs in a loop and keeps every outcome.
class SigningLoop {
 public:
  struct Call {
    std::string user_id;
    grpc::Status status;
    v1::SignResponse response;
  };

  SigningLoop(std::shared_ptr<grpc::Channel> channel, std::string key)
      : stub_(v1::Signer::NewStub(channel)), key_(std::move(key)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~SigningLoop() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  // Waits until a call returns `version` and `then` more calls complete.
  ::testing::AssertionResult AwaitVersion(uint32_t version, int then) {
    auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      for (size_t i = 0; i < calls_.size(); ++i) {
        if (calls_[i].response.key_version() == version) {
          return calls_.size() >= i + 1 + then;
        }
      }
      return false;
    };
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&reached),
                             absl::FromChrono(kChangeBound))) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << "no call returned key_version " << version << " within "
           << kChangeBound.count() << " s (" << calls_.size() << " calls)";
  }

  // Waits until `count` more calls have completed.
  ::testing::AssertionResult AwaitMoreCalls(size_t count) {
    absl::MutexLock lock(&mu_);
    const size_t target = calls_.size() + count;
    auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return calls_.size() >= target;
    };
    if (mu_.AwaitWithTimeout(absl::Condition(&reached),
                             absl::FromChrono(kChangeBound))) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << "fewer than " << count << " calls completed within "
           << kChangeBound.count() << " s";
  }

  std::vector<Call> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  void Run() {
    for (int i = 0; !stop_; ++i) {
      Call call;
      call.user_id = absl::StrCat("loop-user-", i);
      v1::SignRequest request;
      request.set_key(key_);
      request.mutable_identity()->set_user_id(call.user_id);
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(30));
      call.status = stub_->Sign(&context, request, &call.response);
      absl::MutexLock lock(&mu_);
      calls_.push_back(std::move(call));
    }
  }

  std::unique_ptr<v1::Signer::Stub> stub_;
  const std::string key_;
  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// Every call succeeded with the secret of the version it names; versions
// went from 1 to 2 once and never back.
void ExpectAllSigned(const std::vector<SigningLoop::Call>& calls,
                     const std::map<uint32_t, std::string>& secrets) {
  std::map<uint32_t, int> by_version;
  uint32_t last = 0;
  for (const SigningLoop::Call& call : calls) {
    SCOPED_TRACE(call.user_id);
    ASSERT_TRUE(call.status.ok())
        << call.status.error_code() << " " << call.status.error_message();
    const uint32_t version = call.response.key_version();
    ASSERT_EQ(secrets.count(version), 1u) << "version " << version;
    EXPECT_EQ(call.response.user_hash(),
              OpenSslHmacSha256Hex(secrets.at(version), call.user_id));
    EXPECT_GE(version, last);
    last = version;
    ++by_version[version];
  }
  EXPECT_GT(by_version[1], 0);
  EXPECT_GT(by_version[2], 0);
}

class ReloadTest : public ::testing::Test {
 protected:
  // Imports `key` at v1, starts idsignd with `flags` and a signing loop.
  void Start(const std::string& key, const std::vector<std::string>& flags) {
    key_ = key;
    RunResult imported = ImportKey(key, secrets_.at(1));
    ASSERT_EQ(imported.exit_code, 0) << imported.Describe();
    std::string error;
    server_ = IdsigndProcess::Start("unix:" + ScratchPath("reload.sock"), flags,
                                    &error);
    ASSERT_NE(server_, nullptr) << error;
    ASSERT_TRUE(server_->WaitUntilServing());
    loop_ = std::make_unique<SigningLoop>(ChannelTo(*server_), key);
    ASSERT_TRUE(loop_->AwaitVersion(1, 20));
  }

  // `idsign key rotate --make-primary` in a process of its own.
  void RotateInAnotherProcess() {
    const std::string secret_file = WriteSecretFile(secrets_.at(2));
    RunResult rotated = RunIdsign(
        WithTokenFlags({"key", "rotate", "--name=" + key_,
                        "--secret-file=" + secret_file, "--make-primary"}));
    ASSERT_EQ(rotated.exit_code, 0) << rotated.Describe();
    EXPECT_THAT(rotated.stdout_text, HasSubstr("version 2 (primary)"));
  }

  void StopAndCheck() {
    loop_->Stop();
    ExpectAllSigned(loop_->calls(), secrets_);
    loop_.reset();
    std::optional<int> status =
        server_->StopWith(SIGTERM, std::chrono::seconds(30));
    ASSERT_TRUE(status.has_value()) << server_->log();
    EXPECT_EQ(ExitCode(*status), 0) << server_->log();
  }

  void TearDown() override {
    loop_.reset();
    server_.reset();
  }

  const std::map<uint32_t, std::string> secrets_ = {
      {1, "reload-v1-secret-Aq2Sw3De4Fr5Gt6Hy7Ju8Ki9"},
      {2, "reload-v2-secret-Lo1Pk2Mj3Nh4Bg5Vf6Cd7Xs8"}};
  std::string key_;
  std::unique_ptr<IdsigndProcess> server_;
  std::unique_ptr<SigningLoop> loop_;
};

// Intervals far beyond the test: only the signal can make idsignd reload.
TEST_F(ReloadTest, SighupPicksUpARotationByAnotherProcess) {
  Start("reload/sighup/prod", {"--reload-interval=1h", "--health-interval=1h"});
  RotateInAnotherProcess();
  ASSERT_TRUE(loop_->AwaitMoreCalls(20));
  // Not reloaded yet: the new version does not sign.
  for (const SigningLoop::Call& call : loop_->calls()) {
    ASSERT_EQ(call.response.key_version(), 1u);
  }
  server_->process().Signal(SIGHUP);
  ASSERT_TRUE(loop_->AwaitVersion(2, 20)) << server_->log();
  EXPECT_THAT(server_->log(), HasSubstr("trigger=SIGHUP"));
  StopAndCheck();
}

// No signal: the periodic reload alone picks the rotation up, whatever the
// health-check interval.
TEST_F(ReloadTest, ReloadIntervalPicksUpARotationByAnotherProcess) {
  // Periodic reloads are logged at debug level.
  Start("reload/interval/prod",
        {"--reload-interval=1s", "--health-interval=1h", "--log-level=debug"});
  RotateInAnotherProcess();
  ASSERT_TRUE(loop_->AwaitVersion(2, 20)) << server_->log();
  EXPECT_THAT(server_->log(), HasSubstr("trigger=interval"));
  StopAndCheck();
}

// --- health per key ---------------------------------------------------------

HealthCheckResponse::ServingStatus Health(const IdsigndProcess& server,
                                          const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(ChannelTo(server));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  EXPECT_TRUE(status.ok()) << service << ": " << status.error_message();
  return response.status();
}

TEST(HealthPerKeyTest, WeakKeyIsNotServingWhileTheServerIs) {
  constexpr char kGood[] = "health/good";
  constexpr char kGoodSecret[] = "health-good-secret-Qa1Ws2Ed3Rf4Tg5Yh6Uj7";
  constexpr char kWeak[] = "health/weak";
  RunResult imported = ImportKey(kGood, kGoodSecret);
  ASSERT_EQ(imported.exit_code, 0) << imported.Describe();
  {
    // Behind idsign's back: a raw object with every protection off.
    std::unique_ptr<hsm::Token> token = TestToken::Get().Open(true, 1);
    auto session = token->Acquire();
    ASSERT_TRUE(session.ok()) << session.status();
    CK_RV rv = CKR_OK;
    ASSERT_NE(idsign::testing::raw::CreateWeakSecretKey(
                  *session, std::string("idsign:") + kWeak + ":v1", "weak",
                  std::string(32, 'w'), &rv),
              CK_INVALID_HANDLE)
        << rv;
  }
  std::string error;
  auto server = IdsigndProcess::Start("unix:" + ScratchPath("health.sock"),
                                      {"--health-interval=1h"}, &error);
  ASSERT_NE(server, nullptr) << error;
  ASSERT_TRUE(server->WaitUntilServing());

  EXPECT_EQ(Health(*server, ""), HealthCheckResponse::SERVING);
  EXPECT_EQ(Health(*server, "idsign.v1.Signer"), HealthCheckResponse::SERVING);
  EXPECT_EQ(Health(*server, std::string("idsign.v1.Signer/") + kGood),
            HealthCheckResponse::SERVING);
  EXPECT_EQ(Health(*server, std::string("idsign.v1.Signer/") + kWeak),
            HealthCheckResponse::NOT_SERVING);
  // The log says which key is refused; a caller gets every reason.
  EXPECT_THAT(server->log(), HasSubstr("key_refused"));
  EXPECT_THAT(server->log(), HasSubstr(kWeak));
  RunResult refused =
      RunIdsign({"sign", "--server=" + server->target(), "--timeout=30s",
                 std::string("--key=") + kWeak, "--user-id=u-1"});
  EXPECT_EQ(refused.exit_code, 3) << refused.Describe();
  EXPECT_THAT(refused.stderr_text, HasSubstr("FAILED_PRECONDITION"));
  EXPECT_THAT(refused.stderr_text, HasSubstr("CKA_EXTRACTABLE is true"));
  EXPECT_TRUE(refused.stdout_text.empty());

  // SIGHUP re-applies the health of every key.
  server->process().Signal(SIGHUP);
  const auto give_up = std::chrono::steady_clock::now() + kChangeBound;
  while (server->log().find("trigger=SIGHUP") == std::string::npos &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_THAT(server->log(), HasSubstr("trigger=SIGHUP"));
  EXPECT_EQ(Health(*server, ""), HealthCheckResponse::SERVING);
  EXPECT_EQ(Health(*server, std::string("idsign.v1.Signer/") + kGood),
            HealthCheckResponse::SERVING);
  EXPECT_EQ(Health(*server, std::string("idsign.v1.Signer/") + kWeak),
            HealthCheckResponse::NOT_SERVING);
  std::optional<int> status =
      server->StopWith(SIGTERM, std::chrono::seconds(30));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(ExitCode(*status), 0) << server->log();
}

}  // namespace
}  // namespace idsign::e2e
