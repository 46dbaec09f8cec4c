// Unix socket callers through the real idsignd: each is named by the uid the
// kernel reports for its connection (uid:N). A `uid:N` policy rule grants
// that uid its keys and nothing else, another uid is denied by name, the
// rate limit counts per uid, the audit record names the uid, and
// --socket-mode decides who may connect at all. The other uid (65534) is
// played by `idsign` started through setpriv, which needs root; without
// root those steps are skipped.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "idsign/v1/signer.grpc.pb.h"
#include "service/audit/record.h"
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

constexpr char kWebKey[] = "unix/web/prod";
constexpr char kOtherKey[] = "unix/other/prod";
constexpr char kSecret[] = "unix-identity-secret-Pl0Ok9Ij8Uh7Yg6Tf5";
constexpr int kNobody = 65534;

std::string Me() { return absl::StrCat("uid:", ::getuid()); }

class UnixIdentityE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (const char* key : {kWebKey, kOtherKey}) {
      RunResult imported = ImportKey(key, kSecret);
      ASSERT_EQ(imported.exit_code, 0) << imported.Describe();
    }
    std::vector<std::string> init = {"audit", "init"};
    for (const std::string& flag : TokenFlags()) init.push_back(flag);
    RunResult initialized = RunIdsign(init);
    ASSERT_EQ(initialized.exit_code, 0) << initialized.Describe();
    // The token's directory is private; another uid must reach the socket.
    std::string pattern = "/tmp/idsign-unix-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    socket_dir_ = new std::string(pattern);
    ASSERT_EQ(::chmod(socket_dir_->c_str(), 0755), 0);
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*socket_dir_);
    delete socket_dir_;
  }

  std::unique_ptr<IdsigndProcess> Start(std::vector<std::string> flags) {
    static int next = 0;
    const std::string path = absl::StrCat(*socket_dir_, "/", next++, ".sock");
    std::string error;
    auto server = IdsigndProcess::Start("unix:" + path, flags, &error);
    EXPECT_NE(server, nullptr) << error;
    if (server == nullptr) return nullptr;
    EXPECT_TRUE(server->WaitUntilServing());
    return server;
  }

  static std::string WritePolicy(const std::string& caller) {
    const std::string path = ScratchPath("policy.json");
    std::ofstream(path) << absl::StrCat(R"({"rules":[{"caller":")", caller,
                                        R"(","operations":["sign"],"keys":[")",
                                        kWebKey, R"("]}]})");
    return path;
  }

  static grpc::Status Sign(const IdsigndProcess& server, const std::string& key,
                           v1::SignResponse* response) {
    auto stub = v1::Signer::NewStub(grpc::CreateChannel(
        server.target(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(20));
    v1::SignRequest request;
    request.set_key(key);
    request.mutable_identity()->set_user_id("user-9");
    return stub->Sign(&context, request, response);
  }

  // `idsign sign` run as uid and gid 65534.
  static RunResult SignAsNobody(const IdsigndProcess& server) {
    return RunProcess({"/usr/bin/setpriv", absl::StrCat("--reuid=", kNobody),
                       absl::StrCat("--regid=", kNobody), "--clear-groups",
                       TestToken::IdsignPath(), "sign",
                       "--server=" + server.target(), "--timeout=20s",
                       "--key=" + std::string(kWebKey), "--user-id=user-9"});
  }

  static bool CanPlayAnotherUid() {
    return ::geteuid() == 0 && ::access("/usr/bin/setpriv", X_OK) == 0;
  }

  static std::string* socket_dir_;
};

std::string* UnixIdentityE2eTest::socket_dir_ = nullptr;

TEST_F(UnixIdentityE2eTest, UidRuleGrantsItsKeysOnly) {
  const std::string audit_log = ScratchPath("unix.audit");
  auto server = Start({"--policy=" + WritePolicy(Me()), "--socket-mode=0666",
                       "--audit-log=" + audit_log});
  ASSERT_NE(server, nullptr);

  v1::SignResponse response;
  grpc::Status allowed = Sign(*server, kWebKey, &response);
  ASSERT_TRUE(allowed.ok()) << allowed.error_message();
  EXPECT_EQ(response.user_hash(), OpenSslHmacSha256Hex(kSecret, "user-9"));

  grpc::Status denied = Sign(*server, kOtherKey, &response);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(denied.error_message(),
              AllOf(HasSubstr(Me()), HasSubstr(kOtherKey)));

  if (CanPlayAnotherUid()) {
    RunResult other = SignAsNobody(*server);
    EXPECT_EQ(other.exit_code, 3) << other.Describe();
    EXPECT_THAT(other.stderr_text,
                AllOf(HasSubstr("PERMISSION_DENIED"),
                      HasSubstr(absl::StrCat("uid:", kNobody))))
        << other.Describe();
  }

  std::optional<int> stopped =
      server->StopWith(SIGTERM, std::chrono::seconds(30));
  ASSERT_TRUE(stopped.has_value());
  EXPECT_EQ(ExitCode(*stopped), 0) << server->log();
  std::vector<std::string> callers;
  for (absl::string_view line :
       absl::StrSplit(ReadFileOrEmpty(audit_log), '\n', absl::SkipEmpty())) {
    absl::StatusOr<audit::ParsedLine> parsed = audit::ParseLine(line);
    ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << line;
    if (parsed->type == audit::LineType::kRecord &&
        parsed->record.operation == "Sign" && parsed->record.key == kWebKey) {
      callers.push_back(parsed->record.caller);
    }
  }
  EXPECT_THAT(callers, ::testing::Contains(Me()));
}

TEST_F(UnixIdentityE2eTest, RuleForAnotherUidDeniesThisOne) {
  auto server = Start({"--policy=" + WritePolicy("uid:4242")});
  ASSERT_NE(server, nullptr);
  v1::SignResponse response;
  grpc::Status denied = Sign(*server, kWebKey, &response);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(denied.error_message(), HasSubstr(Me()));
}

TEST_F(UnixIdentityE2eTest, RateLimitCountsPerUid) {
  auto server = Start({"--rate-limit=1", "--rate-burst=1"});
  ASSERT_NE(server, nullptr);
  int ok = 0, exhausted = 0;
  std::string message;
  for (int i = 0; i < 4; ++i) {
    v1::SignResponse response;
    grpc::Status status = Sign(*server, kWebKey, &response);
    if (status.ok()) ++ok;
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      ++exhausted;
      message = status.error_message();
    }
  }
  EXPECT_GE(ok, 1);
  EXPECT_GE(exhausted, 1);
  EXPECT_EQ(ok + exhausted, 4);
  EXPECT_THAT(message, HasSubstr(Me()));
}

TEST_F(UnixIdentityE2eTest, SocketModeDecidesWhoMayConnect) {
  auto server = Start({"--socket-mode=0600"});
  ASSERT_NE(server, nullptr);
  const std::string path = server->target().substr(5);
  struct stat status;
  ASSERT_EQ(::stat(path.c_str(), &status), 0);
  EXPECT_TRUE(S_ISSOCK(status.st_mode));
  EXPECT_EQ(status.st_mode & 07777, 0600u);
  if (CanPlayAnotherUid()) {
    RunResult other = SignAsNobody(*server);
    EXPECT_EQ(other.exit_code, 3) << other.Describe();
    EXPECT_THAT(other.stderr_text, HasSubstr("UNAVAILABLE"))
        << other.Describe();
  }
  std::optional<int> stopped =
      server->StopWith(SIGTERM, std::chrono::seconds(30));
  ASSERT_TRUE(stopped.has_value());
  EXPECT_EQ(ExitCode(*stopped), 0) << server->log();
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(UnixIdentityE2eTest, BadSocketModeIsAStartupError) {
  std::vector<std::string> argv = {
      TestToken::IdsigndPath(), "--listen=unix:" + *socket_dir_ + "/bad.sock",
      "--socket-mode=0999"};
  for (const std::string& flag : TokenFlags()) argv.push_back(flag);
  RunResult result = RunProcess(argv, "", std::chrono::seconds(20));
  EXPECT_EQ(result.exit_code, 2) << result.Describe();
  EXPECT_THAT(result.stderr_text, HasSubstr("--socket-mode"));
}

}  // namespace
}  // namespace idsign::e2e
