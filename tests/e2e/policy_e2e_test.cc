// Caller policy and limits through the real idsignd over mutual TLS:
// --policy grants per caller, operation and key (exact and prefix), refuses
// everything else with PERMISSION_DENIED, refuses a broken policy file at
// start, and --rate-limit/--rate-burst turn a quick burst into
// RESOURCE_EXHAUSTED. SIGHUP reloads the policy, and a broken file keeps
// the last good one; a caller without an identity is UNAUTHENTICATED. Calls
// go through a gRPC stub so that a burst is quick.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "idsign/v1/signer.grpc.pb.h"
#include "tests/e2e/idsignd_process.h"
#include "tests/e2e/subprocess.h"
#include "tests/e2e/test_ca.h"
#include "tests/testing/softhsm_token.h"

namespace idsign::e2e {
namespace {

using ::idsign::testing::TestToken;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kServerName[] = "idsignd.test";
constexpr char kBackendA[] = "spiffe://example.org/backend-a";
constexpr char kWebKey[] = "policy/web/prod";
constexpr char kIosKey[] = "policy/ios/prod";
constexpr char kOtherKey[] = "policy/other/prod";

std::string PolicyJson() {
  return absl::StrCat(R"({"rules":[{"caller":")", kBackendA,
                      R"(","operations":["sign","list_keys"],"keys":[")",
                      kWebKey, R"(","policy/ios/*"]}]})");
}

std::string WriteScratch(const std::string& stem, const std::string& text) {
  const std::string path = ScratchPath(stem);
  std::ofstream(path) << text;
  return path;
}

class PolicyE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (const char* key : {kWebKey, kIosKey, kOtherKey}) {
      RunResult imported = ImportKey(key, std::string(32, 'p'));
      ASSERT_EQ(imported.exit_code, 0) << imported.Describe();
    }
    ca_ = new TestCa("policy");
    ASSERT_TRUE(ca_->ok());
    ASSERT_TRUE(ca_->Issue({.common_name = "idsignd",
                            .san = absl::StrCat("DNS:", kServerName),
                            .server = true},
                           &server_cert_));
    ASSERT_TRUE(ca_->Issue(
        {.common_name = "backend-a", .san = absl::StrCat("URI:", kBackendA)},
        &client_a_));
    ASSERT_TRUE(ca_->Issue({.common_name = "backend-z",
                            .san = "URI:spiffe://example.org/backend-z"},
                           &client_z_));
  }
  static void TearDownTestSuite() { delete ca_; }

  static std::shared_ptr<grpc::ChannelCredentials> Credentials(
      const CertFiles& client) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ReadFileOrEmpty(ca_->cert());
    options.pem_cert_chain = ReadFileOrEmpty(client.cert);
    options.pem_private_key = ReadFileOrEmpty(client.key);
    return grpc::SslCredentials(options);
  }

  // idsignd with mutual TLS, the test policy and `flags`, serving.
  std::unique_ptr<IdsigndProcess> Start(std::vector<std::string> flags) {
    flags.push_back("--tls-cert=" + server_cert_.cert);
    flags.push_back("--tls-key=" + server_cert_.key);
    flags.push_back("--client-ca=" + ca_->cert());
    policy_path_ = WriteScratch("policy.json", PolicyJson());
    flags.push_back("--policy=" + policy_path_);
    std::string error;
    auto server = IdsigndProcess::Start(
        absl::StrCat("127.0.0.1:", FreeLoopbackPort()), flags, &error);
    EXPECT_NE(server, nullptr) << error;
    if (server == nullptr) return nullptr;
    server->set_channel_credentials(Credentials(client_a_), kServerName);
    EXPECT_TRUE(server->WaitUntilServing());
    return server;
  }

  static std::unique_ptr<v1::Signer::Stub> Stub(const IdsigndProcess& server,
                                                const CertFiles& client) {
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride(kServerName);
    return v1::Signer::NewStub(
        grpc::CreateCustomChannel(server.target(), Credentials(client), args));
  }

  static grpc::Status Sign(v1::Signer::Stub* stub, const std::string& key) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(20));
    v1::SignRequest request;
    request.set_key(key);
    request.mutable_identity()->set_user_id("user-42");
    v1::SignResponse response;
    return stub->Sign(&context, request, &response);
  }

  // Replaces the policy file in one rename, sends SIGHUP and waits for
  // `event` ("policy_reloaded" or "policy_reload_failed") to be logged.
  ::testing::AssertionResult ReplacePolicy(IdsigndProcess* server,
                                           const std::string& text,
                                           const std::string& event) {
    const std::string temporary = policy_path_ + ".new";
    std::ofstream(temporary) << text;
    if (std::rename(temporary.c_str(), policy_path_.c_str()) != 0) {
      return ::testing::AssertionFailure() << "cannot replace the policy";
    }
    const size_t before = Count(server->log(), event);
    server->process().Signal(SIGHUP);
    const auto give_up =
        std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (Count(server->log(), event) == before) {
      if (std::chrono::steady_clock::now() > give_up) {
        return ::testing::AssertionFailure()
               << "no new " << event << " in the log:\n"
               << server->log();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return ::testing::AssertionSuccess();
  }

  static size_t Count(const std::string& text, const std::string& part) {
    size_t count = 0;
    for (size_t at = text.find(part); at != std::string::npos;
         at = text.find(part, at + 1)) {
      ++count;
    }
    return count;
  }

  static TestCa* ca_;
  static CertFiles server_cert_, client_a_, client_z_;
  std::string policy_path_;
};

TestCa* PolicyE2eTest::ca_ = nullptr;
CertFiles PolicyE2eTest::server_cert_, PolicyE2eTest::client_a_,
    PolicyE2eTest::client_z_;

TEST_F(PolicyE2eTest, GrantsByCallerOperationAndKey) {
  auto server = Start({});
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(server->log(), Not(HasSubstr("policy_disabled")));
  auto stub = Stub(*server, client_a_);

  grpc::Status exact = Sign(stub.get(), kWebKey);
  EXPECT_TRUE(exact.ok()) << exact.error_message();
  grpc::Status prefix = Sign(stub.get(), kIosKey);
  EXPECT_TRUE(prefix.ok()) << prefix.error_message();

  grpc::Status other = Sign(stub.get(), kOtherKey);
  EXPECT_EQ(other.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(other.error_message(),
              AllOf(HasSubstr(kBackendA), HasSubstr("sign"),
                    HasSubstr(kOtherKey), Not(HasSubstr("policy/ios"))));

  // An operation the rule does not list.
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(20));
  v1::VerifyRequest verify;
  verify.set_key(kWebKey);
  verify.mutable_identity()->set_user_id("user-42");
  verify.set_user_hash(std::string(64, '0'));
  v1::VerifyResponse verified;
  grpc::Status denied = stub->Verify(&context, verify, &verified);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(
      denied.error_message(),
      AllOf(HasSubstr(kBackendA), HasSubstr("verify"), HasSubstr(kWebKey)));

  // A caller with no rule at all: default deny.
  auto stranger = Stub(*server, client_z_);
  grpc::Status refused = Sign(stranger.get(), kWebKey);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(refused.error_message(),
              HasSubstr("spiffe://example.org/backend-z"));
}

TEST_F(PolicyE2eTest, RateLimitExhaustsAQuickBurst) {
  auto server = Start({"--rate-limit=2", "--rate-burst=2"});
  ASSERT_NE(server, nullptr);
  auto stub = Stub(*server, client_a_);
  int ok = 0, exhausted = 0;
  std::string message;
  for (int i = 0; i < 5; ++i) {
    grpc::Status status = Sign(stub.get(), kWebKey);
    if (status.ok()) ++ok;
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      ++exhausted;
      message = status.error_message();
    }
  }
  EXPECT_GE(ok, 1);
  EXPECT_GE(exhausted, 1);
  EXPECT_EQ(ok + exhausted, 5);
  EXPECT_THAT(message, AllOf(HasSubstr(kBackendA), HasSubstr("rate limit")));
}

TEST_F(PolicyE2eTest, SighupReloadsThePolicyAndABrokenFileKeepsTheLastGood) {
  auto server = Start({"--reload-interval=1h"});
  ASSERT_NE(server, nullptr);
  auto stub = Stub(*server, client_a_);
  EXPECT_EQ(Sign(stub.get(), kOtherKey).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  const std::string widened =
      absl::StrCat(R"({"rules":[{"caller":")", kBackendA,
                   R"(","operations":["sign"],"keys":[")", kWebKey, R"(",")",
                   kOtherKey, R"("]}]})");
  ASSERT_TRUE(ReplacePolicy(server.get(), widened, "policy_reloaded"));
  grpc::Status granted = Sign(stub.get(), kOtherKey);
  EXPECT_TRUE(granted.ok()) << granted.error_message();

  ASSERT_TRUE(ReplacePolicy(server.get(), R"({"rules":[{"caller":)",
                            "policy_reload_failed"));
  grpc::Status kept = Sign(stub.get(), kOtherKey);
  EXPECT_TRUE(kept.ok()) << kept.error_message();
  EXPECT_EQ(Sign(Stub(*server, client_z_).get(), kWebKey).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(PolicyE2eTest, CallerWithoutAnIdentityIsUnauthenticated) {
  // TLS without --client-ca: nobody presents a certificate.
  std::vector<std::string> flags = {
      "--tls-cert=" + server_cert_.cert, "--tls-key=" + server_cert_.key,
      "--policy=" + WriteScratch("policy.json", PolicyJson())};
  std::string error;
  auto server = IdsigndProcess::Start(
      absl::StrCat("127.0.0.1:", FreeLoopbackPort()), flags, &error);
  ASSERT_NE(server, nullptr) << error;
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadFileOrEmpty(ca_->cert());
  server->set_channel_credentials(grpc::SslCredentials(options), kServerName);
  ASSERT_TRUE(server->WaitUntilServing());
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(kServerName);
  auto stub = v1::Signer::NewStub(grpc::CreateCustomChannel(
      server->target(), grpc::SslCredentials(options), args));
  grpc::Status status = Sign(stub.get(), kWebKey);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << status.error_message();
}

TEST_F(PolicyE2eTest, InvalidPolicyIsAStartupError) {
  const std::string policy = WriteScratch(
      "bad-policy.json",
      absl::StrCat(R"({"rules":[{"caller":")", kBackendA,
                   R"(","operations":["sign","delete"],"keys":["a/b"]}]})"));
  std::vector<std::string> argv = {
      TestToken::IdsigndPath(),
      absl::StrCat("--listen=127.0.0.1:", FreeLoopbackPort()),
      "--tls-cert=" + server_cert_.cert,
      "--tls-key=" + server_cert_.key,
      "--client-ca=" + ca_->cert(),
      "--policy=" + policy};
  for (const std::string& flag : TokenFlags()) argv.push_back(flag);
  RunResult result = RunProcess(argv, "", std::chrono::seconds(20));
  EXPECT_FALSE(result.timed_out) << result.Describe();
  EXPECT_EQ(result.exit_code, 2) << result.Describe();
  EXPECT_THAT(result.stderr_text,
              AllOf(HasSubstr("rule 0"), HasSubstr(kBackendA),
                    HasSubstr("unknown operation \"delete\""),
                    Not(HasSubstr("INFO listening"))))
      << result.Describe();
}

}  // namespace
}  // namespace idsign::e2e
