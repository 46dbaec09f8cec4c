// idsign sign | verify | batch-sign against a running idsignd, both built
// binaries run as processes. Expected hashes come from OpenSSL.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "idsign/v1/signer.pb.h"
#include "tests/e2e/idsignd_process.h"
#include "tests/e2e/subprocess.h"
#include "tests/testing/oracle.h"

namespace idsign::e2e {
namespace {

using ::idsign::testing::OpenSslHmacSha256Hex;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kWebKey[] = "intercom/web/prod";
constexpr char kWebSecret[] = "web-prod-secret-issued-by-the-vendor-0001";
// Shorter than SoftHSM2's minimum: stored zero-padded, MACs unchanged.
constexpr char kShortKey[] = "intercom/android/test";
constexpr char kShortSecret[] = "s3cr3t!!";
constexpr char kGeneratedKey[] = "own/scheme";

class ClientCommandsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (const auto& [name, secret] :
         {std::pair<std::string, std::string>{kWebKey, kWebSecret},
          {kShortKey, kShortSecret}}) {
      RunResult imported = ImportKey(name, secret);
      ASSERT_EQ(imported.exit_code, 0) << imported.Describe();
    }
    std::vector<std::string> generate = {
        "key", "generate", std::string("--name=") + kGeneratedKey};
    for (const std::string& flag : TokenFlags()) generate.push_back(flag);
    RunResult generated = RunIdsign(generate);
    ASSERT_EQ(generated.exit_code, 0) << generated.Describe();

    std::string error;
    server_ =
        IdsigndProcess::Start("unix:" + ScratchPath("idsignd.sock"), {}, &error)
            .release();
    ASSERT_NE(server_, nullptr) << error;
    ASSERT_TRUE(server_->WaitUntilServing());
  }

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override { ASSERT_NE(server_, nullptr); }

  static RunResult Client(const std::string& command,
                          std::vector<std::string> args,
                          const std::string& stdin_text = "") {
    args.insert(args.begin(),
                {command, "--server=" + server_->target(), "--timeout=30s"});
    return RunIdsign(args, stdin_text);
  }

  static RunResult Sign(const std::string& key, const std::string& user_id) {
    return Client("sign", {"--key=" + key, "--user-id=" + user_id});
  }

  static IdsigndProcess* server_;
};

IdsigndProcess* ClientCommandsTest::server_ = nullptr;

TEST_F(ClientCommandsTest, SignPrintsOpenSslHmacOfUserId) {
  for (const std::string user_id :
       {"42", "user-00017", "Zoë Ünicode", " padded ", "a@b.example"}) {
    RunResult result = Sign(kWebKey, user_id);
    ASSERT_EQ(result.exit_code, 0) << result.Describe();
    EXPECT_EQ(result.stdout_text,
              OpenSslHmacSha256Hex(kWebSecret, user_id) + "\n")
        << "user_id \"" << user_id << "\"";
    EXPECT_THAT(result.stderr_text, IsEmpty());
  }
}

TEST_F(ClientCommandsTest, SignWithEmailOnlySignsTheEmail) {
  RunResult result = Client(
      "sign", {std::string("--key=") + kWebKey, "--email=Jo@Example.com"});
  ASSERT_EQ(result.exit_code, 0) << result.Describe();
  EXPECT_EQ(result.stdout_text,
            OpenSslHmacSha256Hex(kWebSecret, "Jo@Example.com") + "\n");
}

TEST_F(ClientCommandsTest, ZeroPaddedShortSecretGivesTheVendorHash) {
  RunResult result = Sign(kShortKey, "42");
  ASSERT_EQ(result.exit_code, 0) << result.Describe();
  EXPECT_EQ(result.stdout_text,
            OpenSslHmacSha256Hex(kShortSecret, "42") + "\n");
}

TEST_F(ClientCommandsTest, VerifyAcceptsLowerAndUpperCaseHash) {
  const std::string hash = OpenSslHmacSha256Hex(kWebSecret, "42");
  for (const std::string& given : {hash, absl::AsciiStrToUpper(hash)}) {
    RunResult result =
        Client("verify", {std::string("--key=") + kWebKey, "--user-id=42",
                          "--user-hash=" + given});
    EXPECT_EQ(result.exit_code, 0) << result.Describe();
    EXPECT_EQ(result.stdout_text,
              "valid (key version 1; decision: allow, enforce mode)\n");
  }
}

TEST_F(ClientCommandsTest, VerifyRejectsHashOfAnotherUserWithExitOne) {
  RunResult result = Client(
      "verify", {std::string("--key=") + kWebKey, "--user-id=43",
                 "--user-hash=" + OpenSslHmacSha256Hex(kWebSecret, "42")});
  EXPECT_EQ(result.exit_code, 1) << result.Describe();
  EXPECT_EQ(result.stdout_text, "invalid (decision: deny, enforce mode)\n");
}

TEST_F(ClientCommandsTest, VerifyReportsMalformedHash) {
  for (const std::string& bad :
       {std::string("zz"), std::string(64, 'g'), std::string(63, 'a')}) {
    RunResult result = Client("verify", {std::string("--key=") + kWebKey,
                                         "--user-id=42", "--user-hash=" + bad});
    EXPECT_GT(result.exit_code, 0) << result.Describe();
    EXPECT_NE(result.exit_code, 1) << "a malformed hash is not just invalid\n"
                                   << result.Describe();
    EXPECT_THAT(result.stderr_text, HasSubstr("INVALID_ARGUMENT"))
        << result.Describe();
    EXPECT_THAT(result.stderr_text, HasSubstr("user_hash"))
        << result.Describe();
  }
}

TEST_F(ClientCommandsTest, GeneratedKeySignsAndVerifies) {
  RunResult signed_result = Sign(kGeneratedKey, "42");
  ASSERT_EQ(signed_result.exit_code, 0) << signed_result.Describe();
  std::string hash = signed_result.stdout_text;
  ASSERT_EQ(hash.size(), 65u) << signed_result.Describe();
  hash.pop_back();
  EXPECT_EQ(hash.find_first_not_of("0123456789abcdef"), std::string::npos);
  RunResult verified =
      Client("verify", {std::string("--key=") + kGeneratedKey, "--user-id=42",
                        "--user-hash=" + hash});
  EXPECT_EQ(verified.exit_code, 0) << verified.Describe();
}

TEST_F(ClientCommandsTest, BatchSignPrintsOneResultPerLineInOrder) {
  const std::string input =
      "{\"user_id\":\"1\"}\n"
      "{}\n"
      "\n"
      "{\"email\":\"a@example.com\"}\n"
      "{\"user_id\":\"2\",\"email\":\"b@example.com\"}\n";
  RunResult result =
      Client("batch-sign", {std::string("--key=") + kWebKey}, input);
  ASSERT_EQ(result.exit_code, 0) << result.Describe();
  std::vector<std::string> lines =
      absl::StrSplit(result.stdout_text, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u) << result.Describe();
  std::vector<v1::BatchSignResult> results(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(lines[i], &results[i]).ok())
        << lines[i];
  }
  EXPECT_EQ(results[0].response().user_hash(),
            OpenSslHmacSha256Hex(kWebSecret, "1"));
  EXPECT_EQ(results[0].response().signed_field(), v1::IDENTITY_FIELD_USER_ID);
  ASSERT_TRUE(results[1].has_error()) << lines[1];
  EXPECT_EQ(results[1].error().code(), 3) << lines[1];  // INVALID_ARGUMENT
  EXPECT_THAT(results[1].error().message(), Not(IsEmpty()));
  EXPECT_EQ(results[2].response().user_hash(),
            OpenSslHmacSha256Hex(kWebSecret, "a@example.com"));
  EXPECT_EQ(results[2].response().signed_field(), v1::IDENTITY_FIELD_EMAIL);
  // With both fields, the user id is signed.
  EXPECT_EQ(results[3].response().user_hash(),
            OpenSslHmacSha256Hex(kWebSecret, "2"));
  EXPECT_EQ(results[3].response().signed_field(), v1::IDENTITY_FIELD_USER_ID);
  for (const v1::BatchSignResult& item : {results[0], results[2], results[3]}) {
    EXPECT_EQ(item.response().key(), kWebKey);
    EXPECT_EQ(item.response().key_version(), 1u);
  }
}

TEST_F(ClientCommandsTest, BatchSignRefusesMalformedInputAndSendsNothing) {
  RunResult result = Client("batch-sign", {std::string("--key=") + kWebKey},
                            "{\"user_id\":\"1\"}\nnot json\n");
  EXPECT_GT(result.exit_code, 0) << result.Describe();
  EXPECT_THAT(result.stderr_text, HasSubstr("line 2")) << result.Describe();
  EXPECT_THAT(result.stdout_text, IsEmpty()) << result.Describe();
}

TEST_F(ClientCommandsTest, UnknownKeyIsNotFound) {
  RunResult result = Sign("no/such/key", "42");
  EXPECT_GT(result.exit_code, 0) << result.Describe();
  EXPECT_THAT(result.stderr_text, HasSubstr("NOT_FOUND")) << result.Describe();
  EXPECT_THAT(result.stdout_text, IsEmpty()) << result.Describe();

  RunResult batch =
      Client("batch-sign", {"--key=no/such/key"}, "{\"user_id\":\"1\"}\n");
  EXPECT_GT(batch.exit_code, 0) << batch.Describe();
  EXPECT_THAT(batch.stderr_text, HasSubstr("NOT_FOUND")) << batch.Describe();
  EXPECT_THAT(batch.stdout_text, IsEmpty()) << batch.Describe();
}

TEST_F(ClientCommandsTest, UnreachableServerFailsWithMessage) {
  RunResult result = RunIdsign(
      {"sign", "--server=unix:" + ScratchPath("nobody-listens.sock"),
       "--timeout=2s", std::string("--key=") + kWebKey, "--user-id=42"});
  EXPECT_GT(result.exit_code, 0) << result.Describe();
  EXPECT_THAT(result.stderr_text, Not(IsEmpty())) << result.Describe();
}

// The same signing path over TCP on 127.0.0.1, with a separate server.
TEST(ClientCommandsTcpTest, SignOverLoopbackTcp) {
  const std::string secret = "tcp-secret-0123456789-0123456789-xyz";
  RunResult imported = ImportKey("tcp/web/prod", secret);
  ASSERT_EQ(imported.exit_code, 0) << imported.Describe();
  const int port = FreeLoopbackPort();
  ASSERT_NE(port, 0);
  std::string error;
  std::unique_ptr<IdsigndProcess> server =
      IdsigndProcess::Start(absl::StrCat("127.0.0.1:", port), {}, &error);
  ASSERT_NE(server, nullptr) << error;
  ASSERT_TRUE(server->WaitUntilServing());
  RunResult result =
      RunIdsign({"sign", "--server=" + server->target(), "--timeout=30s",
                 "--key=tcp/web/prod", "--user-id=42"});
  ASSERT_EQ(result.exit_code, 0) << result.Describe();
  EXPECT_EQ(result.stdout_text, OpenSslHmacSha256Hex(secret, "42") + "\n");
  EXPECT_THAT(server->log(),
              HasSubstr(absl::StrCat("address=127.0.0.1:", port)));
  std::optional<int> status =
      server->StopWith(SIGTERM, std::chrono::seconds(5));
  ASSERT_TRUE(status.has_value()) << "idsignd still running 5 s after SIGTERM";
  EXPECT_EQ(DescribeWaitStatus(*status), "exit 0") << server->log();
}

}  // namespace
}  // namespace idsign::e2e
