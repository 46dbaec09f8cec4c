// User ids and e-mails are personal data, the PIN is a credential: neither
// may appear in idsignd's log or its audit log, on success or error paths,
// even at debug level.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/e2e/idsignd_process.h"
#include "tests/e2e/subprocess.h"
#include "tests/testing/oracle.h"
#include "tests/testing/softhsm_token.h"

namespace idsign::e2e {
namespace {

using ::idsign::testing::OpenSslHmacSha256Hex;
using ::idsign::testing::TestToken;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(LogHygieneTest, IdentitiesAndPinNeverReachTheLog) {
  const std::string key = "hygiene/web/prod";
  const std::string secret = "hygiene-secret-value-0123456789abcdef";
  ASSERT_EQ(ImportKey(key, secret).exit_code, 0);
  std::vector<std::string> audit_init = {"audit", "init"};
  for (const std::string& flag : TokenFlags()) audit_init.push_back(flag);
  RunResult audit_key = RunIdsign(audit_init);
  ASSERT_EQ(audit_key.exit_code, 0) << audit_key.Describe();
  const std::string audit_log = ScratchPath("audit.log");

  std::string error;
  std::unique_ptr<IdsigndProcess> server =
      IdsigndProcess::Start("unix:" + ScratchPath("hygiene.sock"),
                            {"--log-level=debug", "--max-identifier-bytes=64",
                             "--audit-log=" + audit_log},
                            &error);
  ASSERT_NE(server, nullptr) << error;
  ASSERT_TRUE(server->WaitUntilServing());

  const std::vector<std::string> user_ids = {"hygiene-user-4711",
                                             "uid-0x5eed-7c1e"};
  const std::vector<std::string> emails = {"carol.hygiene@example.org",
                                           "dave+tag@example.net"};
  const std::string too_long = "toolong-" + std::string(80, 'q');
  auto client = [&](std::vector<std::string> args,
                    const std::string& stdin_text = "") {
    args.insert(args.begin() + 1,
                {"--server=" + server->target(), "--timeout=30s"});
    return RunIdsign(args, stdin_text);
  };

  for (const std::string& user_id : user_ids) {
    RunResult result = client({"sign", "--key=" + key, "--user-id=" + user_id});
    ASSERT_EQ(result.exit_code, 0) << result.Describe();
    // The error paths: invalid hash, unknown key.
    client({"verify", "--key=" + key, "--user-id=" + user_id,
            "--user-hash=" + OpenSslHmacSha256Hex("other", user_id)});
    client({"sign", "--key=hygiene/no-such-key", "--user-id=" + user_id});
  }
  for (const std::string& email : emails) {
    RunResult result = client({"sign", "--key=" + key, "--email=" + email});
    ASSERT_EQ(result.exit_code, 0) << result.Describe();
  }
  RunResult batch = client(
      {"batch-sign", "--key=" + key},
      absl::StrCat("{\"user_id\":\"", user_ids[0], "\"}\n{\"email\":\"",
                   emails[0], "\"}\n{}\n{\"user_id\":\"", too_long, "\"}\n"));
  ASSERT_EQ(batch.exit_code, 0) << batch.Describe();
  RunResult rejected =
      client({"sign", "--key=" + key, "--user-id=" + too_long});
  EXPECT_GT(rejected.exit_code, 0) << rejected.Describe();

  std::optional<int> status =
      server->StopWith(SIGTERM, std::chrono::seconds(5));
  ASSERT_TRUE(status.has_value()) << "idsignd still running 5 s after SIGTERM";
  // Both logs were written: the life-cycle events, one audit record per
  // call.
  const std::string log = server->log();
  ASSERT_THAT(log, HasSubstr("ready"));
  ASSERT_THAT(log, HasSubstr("stopped"));
  const std::string audit = ReadFileOrEmpty(audit_log);
  ASSERT_THAT(audit, HasSubstr(key)) << audit;
  for (const auto& [name, text] :
       {std::pair<std::string, std::string>{"idsignd log", log},
        {"audit log", audit}}) {
    for (const std::string& user_id : user_ids) {
      EXPECT_THAT(text, Not(HasSubstr(user_id))) << name << ":\n" << text;
    }
    for (const std::string& email : emails) {
      EXPECT_THAT(text, Not(HasSubstr(email))) << name << ":\n" << text;
    }
    EXPECT_THAT(text, Not(HasSubstr("toolong-"))) << name << ":\n" << text;
    EXPECT_THAT(text, Not(HasSubstr(TestToken::Get().pin()))) << name << ":\n"
                                                              << text;
    EXPECT_THAT(text, Not(HasSubstr(secret))) << name << ":\n" << text;
  }
}

}  // namespace
}  // namespace idsign::e2e
