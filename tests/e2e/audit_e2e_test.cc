// The audit trail through the real binaries: `idsign audit init`, idsignd
// --audit-log, client calls, and key changes recorded by the CLI in the same
// file while idsignd writes it (two writers); after SIGTERM, `idsign audit
// verify` exits 0, and exits 1 naming the line once a byte is edited or a
// line deleted. The file holds no identifiers. With a log that cannot be
// written, signing fails closed (UNAVAILABLE) unless --audit-fail-open.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "service/audit/record.h"
#include "tests/e2e/idsignd_process.h"
#include "tests/e2e/subprocess.h"
#include "tests/testing/oracle.h"

namespace idsign::e2e {
namespace {

using ::idsign::testing::OpenSslHmacSha256Hex;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kKey[] = "audit/e2e/web";
constexpr char kSecretV1[] = "audit-e2e-v1-secret-Hg5Fd4Sa3Qw2Er1Ty0Ui9";
constexpr char kSecretV2[] = "audit-e2e-v2-secret-Mn8Bv7Cx6Zl5Kj4Hg3Fd2";
// Identifiers that must never reach the audit file.
const std::vector<std::string> kUserIds = {
    "e2e-private-user-101", "e2e-private-user-202", "e2e-private-user-303"};
constexpr char kEmail[] = "e2e.private@person.example";

std::vector<std::string> WithTokenFlags(std::vector<std::string> args) {
  for (const std::string& flag : TokenFlags()) args.push_back(flag);
  return args;
}

std::string WriteScratch(const std::string& stem, const std::string& text) {
  const std::string path = ScratchPath(stem);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::vector<std::string> Lines(const std::string& path) {
  return absl::StrSplit(ReadFileOrEmpty(path), '\n', absl::SkipEmpty());
}

RunResult VerifyLog(const std::string& path) {
  return RunIdsign(WithTokenFlags({"audit", "verify", path}));
}

class AuditE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (int i = 0; i < 2; ++i) {  // the second run finds the key: no change
      RunResult init = RunIdsign(WithTokenFlags({"audit", "init"}));
      ASSERT_EQ(init.exit_code, 0) << init.Describe();
      EXPECT_THAT(init.stdout_text, HasSubstr("idsign-system:audit-mac:v1"));
    }
  }

  std::unique_ptr<IdsigndProcess> StartServer(
      const std::vector<std::string>& flags) {
    std::string error;
    auto server = IdsigndProcess::Start("unix:" + ScratchPath("audit.sock"),
                                        flags, &error);
    EXPECT_NE(server, nullptr) << error;
    if (server != nullptr) {
      EXPECT_TRUE(server->WaitUntilServing());
    }
    return server;
  }

  RunResult Client(const IdsigndProcess& server, std::vector<std::string> args,
                   const std::string& stdin_text = "") {
    args.insert(args.begin() + 1,
                {"--server=" + server.target(), "--timeout=30s"});
    return RunIdsign(args, stdin_text);
  }
};

TEST_F(AuditE2eTest, TwoWritersThenVerifyAndDetectTampering) {
  const std::string log = ScratchPath("trail.audit");
  const std::string secret_v1 = WriteScratch("secret", kSecretV1);
  RunResult imported = RunIdsign(
      WithTokenFlags({"key", "import", std::string("--name=") + kKey,
                      "--secret-file=" + secret_v1, "--audit-log=" + log}));
  ASSERT_EQ(imported.exit_code, 0) << imported.Describe();

  auto server =
      StartServer({"--audit-log=" + log, "--audit-checkpoint-interval=1s"});
  ASSERT_NE(server, nullptr);
  std::map<std::string, int> expected_ops = {{"key.import", 1}};
  auto sign = [&](const std::string& user_id) {
    RunResult result = Client(*server, {"sign", std::string("--key=") + kKey,
                                        "--user-id=" + user_id});
    ASSERT_EQ(result.exit_code, 0) << result.Describe();
    EXPECT_EQ(result.stdout_text,
              OpenSslHmacSha256Hex(kSecretV1, user_id) + "\n");
    ++expected_ops["Sign"];
  };
  sign(kUserIds[0]);
  sign(kUserIds[1]);
  RunResult verified = Client(
      *server,
      {"verify", std::string("--key=") + kKey, std::string("--email=") + kEmail,
       "--user-hash=" + OpenSslHmacSha256Hex(kSecretV1, kEmail)});
  ASSERT_EQ(verified.exit_code, 0) << verified.Describe();
  ++expected_ops["Verify"];

  // The CLI appends to the file idsignd has open.
  const std::string secret_v2 = WriteScratch("secret", kSecretV2);
  RunResult rotated = RunIdsign(
      WithTokenFlags({"key", "rotate", std::string("--name=") + kKey,
                      "--secret-file=" + secret_v2, "--audit-log=" + log}));
  ASSERT_EQ(rotated.exit_code, 0) << rotated.Describe();
  ++expected_ops["key.rotate"];

  RunResult batch =
      Client(*server, {"batch-sign", std::string("--key=") + kKey},
             absl::StrCat("{\"user_id\":\"", kUserIds[2],
                          "\"}\n{}\n{\"email\":\"", kEmail, "\"}\n"));
  ASSERT_EQ(batch.exit_code, 0) << batch.Describe();
  ++expected_ops["BatchSign"];
  sign(kUserIds[0]);

  std::optional<int> stopped =
      server->StopWith(SIGTERM, std::chrono::seconds(30));
  ASSERT_TRUE(stopped.has_value());
  EXPECT_EQ(ExitCode(*stopped), 0) << server->log();

  RunResult intact = VerifyLog(log);
  EXPECT_EQ(intact.exit_code, 0) << intact.Describe();
  EXPECT_THAT(intact.stdout_text, HasSubstr("audit log INTACT"));
  EXPECT_THAT(intact.stdout_text, Not(HasSubstr("after the last checkpoint")));

  // One record per call and per change, with its counts; nothing else.
  std::map<std::string, int> ops;
  const std::vector<std::string> lines = Lines(log);
  size_t middle_record = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    absl::StatusOr<audit::ParsedLine> parsed = audit::ParseLine(lines[i]);
    ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << lines[i];
    if (parsed->type != audit::LineType::kRecord) continue;
    const audit::Record& record = parsed->record;
    ++ops[record.operation];
    EXPECT_EQ(record.key, kKey);
    EXPECT_EQ(record.outcome, absl::StatusCode::kOk) << lines[i];
    if (record.operation == "Sign" && middle_record == 0) middle_record = i;
    if (record.operation.rfind("key.", 0) == 0) {
      EXPECT_THAT(record.caller, HasSubstr("@"));  // user@host of the CLI
    }
    if (record.operation == "key.rotate") {
      EXPECT_THAT(record.versions, ElementsAre(2u));
      EXPECT_EQ(record.details.at("primary"), "false");
    } else if (record.operation == "BatchSign") {
      EXPECT_EQ(record.items, 3u);
      EXPECT_EQ(record.failed_items, 1u);
      EXPECT_THAT(record.versions, ElementsAre(1u));
    } else if (record.operation == "Sign" || record.operation == "Verify") {
      EXPECT_THAT(record.versions, ElementsAre(1u));
      // The unix socket names its callers by uid.
      EXPECT_EQ(record.caller, absl::StrCat("uid:", ::getuid()));
    }
  }
  EXPECT_EQ(ops, expected_ops);

  const std::string bytes = ReadFileOrEmpty(log);
  for (const std::string& needle :
       {kUserIds[0], kUserIds[1], kUserIds[2], std::string(kEmail),
        std::string("private"), std::string(kSecretV1),
        std::string(kSecretV2)}) {
    EXPECT_THAT(bytes, Not(HasSubstr(needle)));
  }

  // One byte edited in a record that stays valid JSON: its hash no longer
  // matches the next line's link, and the edited line is named.
  ASSERT_GT(middle_record, 0u);
  ASSERT_LT(middle_record + 1, lines.size());
  std::vector<std::string> edited = lines;
  const size_t digit = edited[middle_record].find("\"items\":1");
  ASSERT_NE(digit, std::string::npos) << edited[middle_record];
  edited[middle_record][digit + 8] = '7';
  const std::string edited_path =
      WriteScratch("edited.audit", absl::StrJoin(edited, "\n") + "\n");
  RunResult broken = VerifyLog(edited_path);
  EXPECT_EQ(broken.exit_code, 1) << broken.Describe();
  EXPECT_THAT(broken.stdout_text,
              HasSubstr(absl::StrCat("BROKEN at line ", middle_record + 1,
                                     " (chain_broken)")));

  // One byte that breaks the JSON: that very line is named.
  edited = lines;
  edited[middle_record][0] = '[';
  RunResult bad_json = VerifyLog(
      WriteScratch("edited.audit", absl::StrJoin(edited, "\n") + "\n"));
  EXPECT_EQ(bad_json.exit_code, 1) << bad_json.Describe();
  EXPECT_THAT(bad_json.stdout_text,
              HasSubstr(absl::StrCat("BROKEN at line ", middle_record + 1,
                                     " (bad_json)")));

  // A deleted line.
  edited = lines;
  edited.erase(edited.begin() + middle_record);
  RunResult deleted = VerifyLog(
      WriteScratch("deleted.audit", absl::StrJoin(edited, "\n") + "\n"));
  EXPECT_EQ(deleted.exit_code, 1) << deleted.Describe();
  EXPECT_THAT(deleted.stdout_text,
              HasSubstr(absl::StrCat("BROKEN at line ", middle_record + 1,
                                     " (bad_seq)")));
}

// /dev/full opens, and every write to it fails (ENOSPC).
TEST_F(AuditE2eTest, UnwritableLogFailsClosedUnlessFailOpen) {
  constexpr char kFullKey[] = "audit/e2e/full";
  RunResult imported = ImportKey(kFullKey, kSecretV1);
  ASSERT_EQ(imported.exit_code, 0) << imported.Describe();
  const std::vector<std::string> sign = {
      "sign", std::string("--key=") + kFullKey, "--user-id=" + kUserIds[0]};

  auto closed = StartServer({"--audit-log=/dev/full"});
  ASSERT_NE(closed, nullptr);
  // Records are written off the request path, so the first call can be let
  // through before the writer finds the file unwritable; from then on
  // every call is refused.
  RunResult refused;
  int let_through = 0;
  for (int attempt = 0; attempt < 100; ++attempt) {
    refused = Client(*closed, sign);
    if (refused.exit_code != 0) break;
    ++let_through;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::cout << "[ observed ] calls signed before the first refusal: "
            << let_through << "\n";
  for (int i = 0; i < 3; ++i) {
    if (i > 0) refused = Client(*closed, sign);
    EXPECT_EQ(refused.exit_code, 3) << refused.Describe();
    EXPECT_THAT(refused.stderr_text, HasSubstr("UNAVAILABLE"));
    EXPECT_THAT(refused.stderr_text, HasSubstr("audit log"));
    EXPECT_THAT(refused.stdout_text, IsEmpty());
  }
  EXPECT_THAT(closed->log(), HasSubstr("audit_log_unhealthy"));
  ASSERT_TRUE(closed->StopWith(SIGTERM, std::chrono::seconds(30)).has_value());
  closed.reset();

  auto open = StartServer({"--audit-log=/dev/full", "--audit-fail-open"});
  ASSERT_NE(open, nullptr);
  for (int i = 0; i < 5; ++i) {
    RunResult result = Client(*open, sign);
    ASSERT_EQ(result.exit_code, 0) << result.Describe();
    EXPECT_EQ(result.stdout_text,
              OpenSslHmacSha256Hex(kSecretV1, kUserIds[0]) + "\n");
  }
  EXPECT_THAT(open->log(), HasSubstr("audit_log_unhealthy"));
  EXPECT_THAT(open->log(), HasSubstr("audit_records_dropped"));
  ASSERT_TRUE(open->StopWith(SIGTERM, std::chrono::seconds(30)).has_value());
}

}  // namespace
}  // namespace idsign::e2e
