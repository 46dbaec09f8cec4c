// `idsign key import|rotate --scheme`, `idsign key rollout`, and how `key
// list` and `custody report` show schemes, weak versions and rollout modes,
// run as processes on the test token.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "tests/e2e/idsignd_process.h"
#include "tests/e2e/subprocess.h"
#include "tests/testing/oracle.h"

namespace idsign::e2e {
namespace {

using ::idsign::testing::OpenSslSha1;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kOldVendorSecret[] = "ahfikm8z";

std::vector<std::string> KeyCommand(const std::string& command,
                                    std::vector<std::string> args) {
  std::vector<std::string> argv = {"key", command};
  for (const std::string& flag : TokenFlags()) argv.push_back(flag);
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::string SecretFile(const std::string& secret) {
  const std::string path = ScratchPath("secret");
  std::ofstream(path, std::ios::binary) << secret;
  return path;
}

// The lines of `text` that start with `prefix`.
std::vector<std::string> LinesStartingWith(const std::string& text,
                                           const std::string& prefix) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, prefix)) lines.emplace_back(line);
  }
  return lines;
}

RunResult List() { return RunIdsign(KeyCommand("list", {})); }

TEST(LegacySchemeCliTest, ImportStoresTheShortSecretExactlyAndWarns) {
  RunResult result = RunIdsign(
      KeyCommand("import", {"--name=legacy-cli/web/prod",
                            "--secret-file=" + SecretFile(kOldVendorSecret),
                            "--scheme=legacy-sha1"}));
  ASSERT_EQ(result.exit_code, 0) << result.Describe();
  EXPECT_THAT(result.stdout_text, HasSubstr("scheme:       legacy-sha1"));
  EXPECT_THAT(result.stdout_text, HasSubstr("stored bytes: 8"));
  // Check value over the exact secret, and the plain hint reproduces it.
  EXPECT_THAT(result.stdout_text,
              HasSubstr("check value:  " +
                        absl::BytesToHexString(
                            OpenSslSha1(kOldVendorSecret).substr(0, 3))));
  EXPECT_THAT(result.stdout_text,
              HasSubstr("printf %s \"$SECRET\" | openssl sha1"));
  EXPECT_THAT(result.stdout_text, Not(HasSubstr("/dev/zero")));
  EXPECT_THAT(result.stderr_text, HasSubstr("WARNING"));
  EXPECT_THAT(result.stderr_text, HasSubstr("WEAK legacy-sha1"));
  EXPECT_THAT(result.stderr_text, HasSubstr("length extension"));
  EXPECT_THAT(result.stderr_text, HasSubstr("only 8 bytes"));
  EXPECT_THAT(result.stderr_text, Not(HasSubstr("zero-padded")));
  EXPECT_THAT(result.stdout_text + result.stderr_text,
              Not(HasSubstr(kOldVendorSecret)));

  RunResult list = List();
  ASSERT_EQ(list.exit_code, 0) << list.Describe();
  std::vector<std::string> lines =
      LinesStartingWith(list.stdout_text, "legacy-cli/web/prod ");
  ASSERT_EQ(lines.size(), 1u) << list.stdout_text;
  EXPECT_THAT(lines[0], ContainsRegex(" 1 +\\* +enabled +imported +8 "));
  EXPECT_THAT(lines[0], ContainsRegex(" legacy-sha1 +ok$"));
  EXPECT_THAT(list.stdout_text, HasSubstr("WEAK v1: legacy-sha1"));
  EXPECT_THAT(list.stdout_text, HasSubstr("short secret: 8 bytes"));
}

TEST(LegacySchemeCliTest, DefaultSchemeIsHmac) {
  RunResult result = RunIdsign(KeyCommand(
      "import", {"--name=legacy-cli/default",
                 "--secret-file=" + SecretFile(std::string(32, 'd'))}));
  ASSERT_EQ(result.exit_code, 0) << result.Describe();
  EXPECT_THAT(result.stdout_text, HasSubstr("scheme:       hmac-sha256"));
  EXPECT_THAT(result.stderr_text, Not(HasSubstr("WARNING")));
}

TEST(LegacySchemeCliTest, GeneratingALegacyKeyIsAUsageError) {
  RunResult generate = RunIdsign(KeyCommand(
      "generate", {"--name=legacy-cli/generated", "--scheme=legacy-sha1"}));
  EXPECT_EQ(generate.exit_code, 2) << generate.Describe();
  EXPECT_THAT(generate.stderr_text, HasSubstr("legacy-sha1"));
  EXPECT_THAT(generate.stderr_text, HasSubstr("--secret-file"));
  EXPECT_THAT(generate.stdout_text, IsEmpty());

  ASSERT_EQ(ImportKey("legacy-cli/rotate-gen", std::string(32, 'r')).exit_code,
            0);
  RunResult rotate =
      RunIdsign(KeyCommand("rotate", {"--name=legacy-cli/rotate-gen",
                                      "--generate", "--scheme=legacy-sha1"}));
  EXPECT_EQ(rotate.exit_code, 2) << rotate.Describe();
  EXPECT_THAT(rotate.stderr_text, HasSubstr("legacy-sha1"));

  RunResult list = List();
  EXPECT_THAT(list.stdout_text, Not(HasSubstr("legacy-cli/generated ")));
  EXPECT_EQ(
      LinesStartingWith(list.stdout_text, "legacy-cli/rotate-gen ").size(), 1u)
      << list.stdout_text;
}

TEST(LegacySchemeCliTest, UnknownSchemeIsAUsageError) {
  RunResult result = RunIdsign(KeyCommand(
      "import",
      {"--name=legacy-cli/bogus",
       "--secret-file=" + SecretFile(std::string(32, 'b')), "--scheme=md5"}));
  EXPECT_EQ(result.exit_code, 2) << result.Describe();
  EXPECT_THAT(result.stderr_text, HasSubstr("--scheme"));
}

TEST(LegacySchemeCliTest, RotateAddsALegacyVersionBesideHmac) {
  ASSERT_EQ(ImportKey("legacy-cli/mixed", std::string(40, 'm')).exit_code, 0);
  RunResult rotate = RunIdsign(
      KeyCommand("rotate", {"--name=legacy-cli/mixed",
                            "--secret-file=" + SecretFile(kOldVendorSecret),
                            "--scheme=legacy-sha1"}));
  ASSERT_EQ(rotate.exit_code, 0) << rotate.Describe();
  EXPECT_THAT(rotate.stdout_text, HasSubstr("version 2"));
  EXPECT_THAT(rotate.stderr_text, HasSubstr("WEAK legacy-sha1"));

  RunResult list = List();
  std::vector<std::string> lines =
      LinesStartingWith(list.stdout_text, "legacy-cli/mixed ");
  ASSERT_EQ(lines.size(), 2u) << list.stdout_text;
  EXPECT_THAT(lines[0], ContainsRegex(" hmac-sha256 +ok$"));
  EXPECT_THAT(lines[1],
              ContainsRegex(" 2 +enabled +imported +8 .* legacy-sha1"));
}

TEST(RolloutCliTest, SetsTheModeAndRecordsIt) {
  ASSERT_EQ(ImportKey("rollout-cli/web", std::string(32, 'w')).exit_code, 0);
  RunResult init = RunIdsign([] {
    std::vector<std::string> args = {"audit", "init"};
    for (const std::string& flag : TokenFlags()) args.push_back(flag);
    return args;
  }());
  ASSERT_EQ(init.exit_code, 0) << init.Describe();
  const std::string log = ScratchPath("audit.log");

  RunResult list = List();
  EXPECT_THAT(list.stdout_text, HasSubstr("rollout enforce"));

  RunResult monitor = RunIdsign(KeyCommand(
      "rollout",
      {"--name=rollout-cli/web", "--mode=monitor", "--audit-log=" + log}));
  ASSERT_EQ(monitor.exit_code, 0) << monitor.Describe();
  EXPECT_THAT(monitor.stdout_text,
              HasSubstr("key \"rollout-cli/web\" rollout mode is now monitor"));

  RunResult json = RunIdsign([] {
    std::vector<std::string> args = {"custody", "report", "--json"};
    for (const std::string& flag : TokenFlags()) args.push_back(flag);
    return args;
  }());
  ASSERT_EQ(json.exit_code, 0) << json.Describe();
  EXPECT_THAT(json.stdout_text, HasSubstr("\"ROLLOUT_MODE_MONITOR\""));
  EXPECT_THAT(json.stdout_text, HasSubstr("\"weak\": false"));

  RunResult enforce = RunIdsign(KeyCommand(
      "rollout",
      {"--name=rollout-cli/web", "--mode=enforce", "--audit-log=" + log}));
  ASSERT_EQ(enforce.exit_code, 0) << enforce.Describe();

  const std::string records = ReadFileOrEmpty(log);
  EXPECT_THAT(records, HasSubstr("\"operation\":\"key.rollout\""));
  EXPECT_THAT(records, HasSubstr("\"mode\":\"monitor\""));
  EXPECT_THAT(records, HasSubstr("\"mode\":\"enforce\""));
  RunResult verify = RunIdsign([&] {
    std::vector<std::string> args = {"audit", "verify"};
    for (const std::string& flag : TokenFlags()) args.push_back(flag);
    args.push_back(log);
    return args;
  }());
  EXPECT_EQ(verify.exit_code, 0) << verify.Describe();
  EXPECT_THAT(verify.stdout_text, HasSubstr("INTACT"));
}

TEST(RolloutCliTest, BadUsageAndUnknownKeys) {
  RunResult bad_mode = RunIdsign(
      KeyCommand("rollout", {"--name=rollout-cli/any", "--mode=warn"}));
  EXPECT_EQ(bad_mode.exit_code, 2) << bad_mode.Describe();
  EXPECT_THAT(bad_mode.stderr_text, HasSubstr("--mode"));
  RunResult no_mode =
      RunIdsign(KeyCommand("rollout", {"--name=rollout-cli/any"}));
  EXPECT_EQ(no_mode.exit_code, 2) << no_mode.Describe();
  RunResult unknown = RunIdsign(
      KeyCommand("rollout", {"--name=rollout-cli/missing", "--mode=monitor"}));
  EXPECT_EQ(unknown.exit_code, 3) << unknown.Describe();
  EXPECT_THAT(unknown.stderr_text, HasSubstr("rollout-cli/missing"));
  RunResult help = RunIdsign({"key", "rollout", "--help"});
  EXPECT_EQ(help.exit_code, 0) << help.Describe();
  EXPECT_THAT(help.stdout_text, HasSubstr("--mode"));
  EXPECT_THAT(help.stdout_text, HasSubstr("monitor"));
  EXPECT_THAT(help.stdout_text, HasSubstr("--audit-log"));
}

TEST(LegacyCustodyCliTest, ReportFlagsTheWeakVersion) {
  RunResult imported = RunIdsign(
      KeyCommand("import", {"--name=legacy-cli/report",
                            "--secret-file=" + SecretFile(kOldVendorSecret),
                            "--scheme=legacy-sha1"}));
  ASSERT_EQ(imported.exit_code, 0) << imported.Describe();
  std::vector<std::string> args = {"custody", "report"};
  for (const std::string& flag : TokenFlags()) args.push_back(flag);
  RunResult text = RunIdsign(args);
  ASSERT_EQ(text.exit_code, 0) << text.Describe();
  EXPECT_THAT(text.stdout_text, HasSubstr("scheme legacy-sha1"));
  EXPECT_THAT(text.stdout_text, HasSubstr("WEAK: legacy-sha1"));
  EXPECT_THAT(text.stdout_text, HasSubstr("rollout enforce"));
  args.push_back("--json");
  RunResult json = RunIdsign(args);
  ASSERT_EQ(json.exit_code, 0) << json.Describe();
  EXPECT_THAT(json.stdout_text, HasSubstr("\"scheme\": \"legacy-sha1\""));
  EXPECT_THAT(json.stdout_text, HasSubstr("\"weak\": true"));
  EXPECT_THAT(json.stdout_text, HasSubstr("short secret: 8 bytes"));
  EXPECT_THAT(json.stdout_text + text.stdout_text,
              Not(HasSubstr(kOldVendorSecret)));
}

}  // namespace
}  // namespace idsign::e2e
