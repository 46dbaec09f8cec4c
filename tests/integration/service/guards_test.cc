// The call guards wired through service::Server over real channels and the
// real token: --max-inflight's cap (made deterministic by holding the only
// slot from the test), and a `uid:N` policy rule on the plaintext unix
// socket, where the caller is the test process itself.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "service/call_limiter.h"
#include "service/caller_policy.h"
#include "service/server.h"
#include "tests/integration/service/service_fixture.h"
#include "tests/testing/oracle.h"
#include "tests/testing/softhsm_token.h"

namespace idsign::service::testing {
namespace {

using ::idsign::testing::OpenSslHmacSha256Hex;
using ::testing::AllOf;
using ::testing::HasSubstr;

ServiceEnvironment& env() { return ServiceEnvironment::Get(); }

std::unique_ptr<Server> Start(const std::string& listen, CallGuards guards) {
  ServerConfig config;
  config.listen = listen;
  config.guards = guards;
  auto server = Server::Start(config, &env().store());
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

TEST(GuardsTest, MaxInflightRefusesACallBeyondTheCap) {
  CallLimiter limiter({.rate = 0, .burst = 0, .max_inflight = 1});
  auto server = Start("127.0.0.1:0", {.policy = nullptr, .limiter = &limiter});
  ASSERT_NE(server, nullptr);
  SignerClient client(*server);
  v1::SignResponse response;

  // The test holds the only slot, as a call still running would.
  ASSERT_TRUE(limiter.Enter().ok());
  grpc::Status refused = client.Sign(kWebKey, "user-1", "", &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("--max-inflight"));

  limiter.Exit();
  grpc::Status served = client.Sign(kWebKey, "user-1", "", &response);
  ASSERT_TRUE(served.ok()) << served.error_message();
  EXPECT_EQ(response.user_hash(),
            OpenSslHmacSha256Hex(env().secret(kWebKey), "user-1"));
  // A finished call gave its slot back.
  ASSERT_TRUE(limiter.Enter().ok());
  limiter.Exit();
}

TEST(GuardsTest, UnixSocketCallerIsItsUid) {
  const std::string me = absl::StrCat("uid:", ::getuid());
  const std::string dir = idsign::testing::TestToken::Get().dir();
  const std::string policy_path = dir + "/uid-policy.json";
  std::ofstream(policy_path) << absl::StrCat(
      R"({"rules":[{"caller":")", me, R"(","operations":["sign"],"keys":[")",
      kWebKey, R"("]}]})");
  auto policy = CallerPolicy::Open(policy_path);
  ASSERT_TRUE(policy.ok()) << policy.status();
  auto server = Start("unix:" + dir + "/guards.sock",
                      {.policy = policy->get(), .limiter = nullptr});
  ASSERT_NE(server, nullptr);
  SignerClient client(grpc::CreateChannel(server->address(),
                                          grpc::InsecureChannelCredentials()));
  v1::SignResponse response;
  grpc::Status granted = client.Sign(kWebKey, "user-2", "", &response);
  ASSERT_TRUE(granted.ok()) << granted.error_message();
  EXPECT_EQ(response.user_hash(),
            OpenSslHmacSha256Hex(env().secret(kWebKey), "user-2"));

  grpc::Status denied = client.Sign(kShortKey, "user-2", "", &response);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(denied.error_message(),
              AllOf(HasSubstr(me), HasSubstr("sign"), HasSubstr(kShortKey)));

  // Loopback TCP carries no identity: the same policy cannot name it.
  auto tcp =
      Start("127.0.0.1:0", {.policy = policy->get(), .limiter = nullptr});
  ASSERT_NE(tcp, nullptr);
  SignerClient tcp_client(*tcp);
  grpc::Status anonymous = tcp_client.Sign(kWebKey, "user-2", "", &response);
  EXPECT_EQ(anonymous.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace idsign::service::testing
