// idsign key import | generate | list, run as a process on the test token.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

// CKA_CHECK_VALUE of a generic secret: the first 3 bytes of SHA-1(key).
std::string CheckValueHex(const std::string& stored_key) {
  return absl::BytesToHexString(OpenSslSha1(stored_key).substr(0, 3));
}

std::vector<std::string> KeyCommand(const std::string& command,
                                    std::vector<std::string> args) {
  std::vector<std::string> argv = {"key", command};
  for (const std::string& flag : TokenFlags()) argv.push_back(flag);
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// The `key list` line of `name`, or "" if none.
std::string ListLine(const std::string& list_output, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(list_output, '\n')) {
    if (absl::StartsWith(line, name + " ")) return std::string(line);
  }
  return "";
}

TEST(KeyImportTest, PrintsCheckValueAndOpensslHint) {
  const std::string secret = "vendor-secret-0123456789abcdefghij";  // 34 bytes
  RunResult result = ImportKey("intercom/web/prod", secret);
  ASSERT_EQ(result.exit_code, 0) << result.Describe();
  EXPECT_THAT(result.stdout_text,
              HasSubstr("imported key \"intercom/web/prod\" version 1"));
  EXPECT_THAT(result.stdout_text,
              HasSubstr("check value:  " + CheckValueHex(secret)));
  EXPECT_THAT(result.stdout_text,
              HasSubstr("printf %s \"$SECRET\" | openssl sha1"));
  EXPECT_THAT(result.stdout_text, HasSubstr("stored bytes: 34"));
  // No padding, so no warning.
  EXPECT_THAT(result.stderr_text, Not(HasSubstr("zero-padded")));
  EXPECT_THAT(result.stdout_text + result.stderr_text, Not(HasSubstr(secret)));
}

TEST(KeyImportTest, ShortSecretIsZeroPaddedWithWarning) {
  const std::string secret = "8bytes!!";
  RunResult result = ImportKey("intercom/ios/test", secret);
  ASSERT_EQ(result.exit_code, 0) << result.Describe();
  EXPECT_THAT(result.stderr_text, HasSubstr("warning"));
  EXPECT_THAT(result.stderr_text, HasSubstr("8 bytes"));
  EXPECT_THAT(result.stderr_text, HasSubstr("zero-padded to 32 bytes"));
  // The check value is over the padded key, and the hint reproduces it.
  EXPECT_THAT(result.stdout_text,
              HasSubstr("check value:  " +
                        CheckValueHex(secret + std::string(24, '\0'))));
  EXPECT_THAT(result.stdout_text, HasSubstr("head -c 24 /dev/zero"));
  EXPECT_THAT(result.stdout_text, HasSubstr("openssl sha1"));
  EXPECT_THAT(result.stdout_text + result.stderr_text, Not(HasSubstr(secret)));
}

TEST(KeyImportTest, ExistingNameIsNeverOverwritten) {
  ASSERT_EQ(ImportKey("dup/web/prod", std::string(32, 'a')).exit_code, 0);
  RunResult again = ImportKey("dup/web/prod", std::string(32, 'b'));
  EXPECT_GT(again.exit_code, 0) << again.Describe();
  EXPECT_THAT(again.stderr_text, HasSubstr("dup/web/prod")) << again.Describe();
  EXPECT_THAT(again.stdout_text, IsEmpty()) << again.Describe();
}

TEST(KeyImportTest, MissingSecretFileIsAnError) {
  RunResult result = RunIdsign(KeyCommand(
      "import", {"--name=missing/file", "--secret-file=/nonexistent/secret"}));
  EXPECT_GT(result.exit_code, 0) << result.Describe();
  EXPECT_THAT(result.stderr_text, HasSubstr("/nonexistent/secret"))
      << result.Describe();
}

TEST(KeyGenerateTest, GeneratesInsideTheToken) {
  RunResult result = RunIdsign(KeyCommand("generate", {"--name=own/scheme"}));
  ASSERT_EQ(result.exit_code, 0) << result.Describe();
  EXPECT_THAT(result.stdout_text,
              HasSubstr("generated key \"own/scheme\" version 1"));
  EXPECT_THAT(result.stdout_text, HasSubstr("stored bytes: 32"));
  EXPECT_THAT(result.stdout_text, HasSubstr("check value:  "));
  // No secret left the token, so there is nothing to compare with openssl.
  EXPECT_THAT(result.stdout_text, Not(HasSubstr("openssl")));
}

TEST(KeyListTest, ShowsEveryKeyWithOriginAndProtection) {
  const std::string imported_secret(40, 'k');
  ASSERT_EQ(ImportKey("list/imported", imported_secret).exit_code, 0);
  RunResult generated =
      RunIdsign(KeyCommand("generate", {"--name=list/generated"}));
  ASSERT_EQ(generated.exit_code, 0) << generated.Describe();

  RunResult result = RunIdsign(KeyCommand("list", {}));
  ASSERT_EQ(result.exit_code, 0) << result.Describe();
  EXPECT_THAT(result.stdout_text, StartsWith("NAME "));
  for (const char* column : {"STATE", "ORIGIN", "BYTES", "CHECK", "POLICY"}) {
    EXPECT_THAT(result.stdout_text, HasSubstr(column));
  }

  // Version 1, primary, enabled; the custody policy finds nothing wrong.
  const std::string imported = ListLine(result.stdout_text, "list/imported");
  EXPECT_THAT(imported, ContainsRegex(" 1 +\\* +enabled +imported +40 "))
      << result.stdout_text;
  EXPECT_THAT(imported, HasSubstr(" " + CheckValueHex(imported_secret) + " "))
      << result.stdout_text;
  EXPECT_THAT(imported, EndsWith(" ok")) << result.stdout_text;

  const std::string own = ListLine(result.stdout_text, "list/generated");
  EXPECT_THAT(own, ContainsRegex(" 1 +\\* +enabled +generated +32 "))
      << result.stdout_text;
  EXPECT_THAT(own, EndsWith(" ok")) << result.stdout_text;
  EXPECT_THAT(result.stdout_text, Not(HasSubstr(imported_secret)));
}

}  // namespace
}  // namespace idsign::e2e
