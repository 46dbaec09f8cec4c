// --help and bad usage of the built idsign and idsignd binaries.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tests/e2e/idsignd_process.h"
#include "tests/e2e/subprocess.h"
#include "tests/testing/softhsm_token.h"

namespace idsign::e2e {
namespace {

using ::idsign::testing::TestToken;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

struct HelpCase {
  std::vector<std::string> command;  // empty: the top-level command
  std::string expected;              // a flag only this command has
};

class IdsignHelpTest : public ::testing::TestWithParam<HelpCase> {};

TEST_P(IdsignHelpTest, PrintsUsageAndExitsZero) {
  std::vector<std::string> args = GetParam().command;
  args.push_back("--help");
  RunResult result = RunIdsign(args);
  EXPECT_EQ(result.exit_code, 0) << result.Describe();
  EXPECT_THAT(result.stdout_text, HasSubstr("Usage:")) << result.Describe();
  EXPECT_THAT(result.stdout_text, HasSubstr(GetParam().expected))
      << result.Describe();
}

INSTANTIATE_TEST_SUITE_P(
    Commands, IdsignHelpTest,
    ::testing::Values(HelpCase{{}, "--log-level"},
                      HelpCase{{"key"}, "generate"},
                      HelpCase{{"key", "import"}, "--secret-file"},
                      HelpCase{{"key", "generate"}, "--bytes"},
                      HelpCase{{"key", "list"}, "--pin-file"},
                      HelpCase{{"sign"}, "--user-id"},
                      HelpCase{{"verify"}, "--user-hash"},
                      HelpCase{{"batch-sign"}, "--chunk"},
                      HelpCase{{"sign-jwt"}, "--claim-number"},
                      HelpCase{{"verify-jwt"}, "--jwt-file"},
                      HelpCase{{"rollout", "status"}, "--server"}),
    [](const ::testing::TestParamInfo<HelpCase>& info) {
      std::string name;
      for (const std::string& word : info.param.command) {
        for (char c : word)
          name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
        name += '_';
      }
      return name.empty() ? std::string("top_level") : name + "help";
    });

// The names listed under "Subcommands:" in a CLI11 help text.
std::vector<std::string> ListedSubcommands(const std::string& help) {
  std::vector<std::string> names;
  bool in_section = false;
  for (absl::string_view line : absl::StrSplit(help, '\n')) {
    if (absl::StartsWith(line, "Subcommands:")) {
      in_section = true;
    } else if (in_section && absl::StartsWith(line, "  ")) {
      std::vector<std::string> words =
          absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (!words.empty()) names.push_back(words[0]);
    } else if (in_section) {
      in_section = false;
    }
  }
  return names;
}

// Every command reachable from `idsign --help`, including those added after
// this test was written, has working help.
TEST(IdsignHelpTreeTest, EveryListedSubcommandHasHelp) {
  std::vector<std::vector<std::string>> pending = {{}};
  std::set<std::string> visited;
  while (!pending.empty()) {
    std::vector<std::string> command = pending.back();
    pending.pop_back();
    std::vector<std::string> args = command;
    args.push_back("--help");
    RunResult result = RunIdsign(args);
    const std::string name = absl::StrJoin(command, " ");
    visited.insert(name);
    EXPECT_EQ(result.exit_code, 0) << name << "\n" << result.Describe();
    EXPECT_THAT(result.stdout_text, HasSubstr("Usage:")) << name;
    for (const std::string& sub : ListedSubcommands(result.stdout_text)) {
      std::vector<std::string> child = command;
      child.push_back(sub);
      pending.push_back(child);
    }
  }
  for (const char* expected :
       {"key import", "key generate", "key list", "sign", "verify",
        "batch-sign", "sign-jwt", "verify-jwt", "rollout status"}) {
    EXPECT_TRUE(visited.count(expected)) << "not listed: " << expected;
  }
}

TEST(IdsigndHelpTest, PrintsUsageAndExitsZero) {
  RunResult result = RunProcess({TestToken::IdsigndPath(), "--help"});
  EXPECT_EQ(result.exit_code, 0) << result.Describe();
  EXPECT_THAT(result.stdout_text, HasSubstr("--listen")) << result.Describe();
  EXPECT_THAT(result.stdout_text, HasSubstr("--pin-file")) << result.Describe();
}

TEST(IdsigndHelpTest, UnknownFlagIsRefused) {
  std::vector<std::string> argv = {TestToken::IdsigndPath(),
                                   "--listen=127.0.0.1:0"};
  for (const std::string& flag : TokenFlags()) argv.push_back(flag);
  argv.push_back("--no-such-flag");
  RunResult result = RunProcess(argv);
  EXPECT_FALSE(result.timed_out) << result.Describe();
  EXPECT_GT(result.exit_code, 0) << result.Describe();
  EXPECT_THAT(result.stderr_text, HasSubstr("--no-such-flag"))
      << result.Describe();
  EXPECT_THAT(result.stderr_text, Not(HasSubstr("listening")))
      << result.Describe();
}

TEST(IdsignUsageTest, UnknownCommandIsRefused) {
  RunResult result = RunIdsign({"frobnicate"});
  EXPECT_GT(result.exit_code, 0) << result.Describe();
  EXPECT_THAT(result.stderr_text, Not(IsEmpty())) << result.Describe();
  EXPECT_THAT(result.stdout_text, IsEmpty()) << result.Describe();
}

TEST(IdsignUsageTest, UnknownKeySubcommandIsRefused) {
  RunResult result = RunIdsign({"key", "frobnicate"});
  EXPECT_GT(result.exit_code, 0) << result.Describe();
  EXPECT_THAT(result.stderr_text, Not(IsEmpty())) << result.Describe();
}

TEST(IdsignUsageTest, UnknownFlagIsRefused) {
  RunResult result = RunIdsign({"sign", "--server=unix:/nonexistent", "--key=k",
                                "--user-id=1", "--no-such-flag"});
  EXPECT_GT(result.exit_code, 0) << result.Describe();
  EXPECT_THAT(result.stderr_text, HasSubstr("--no-such-flag"))
      << result.Describe();
  EXPECT_THAT(result.stdout_text, IsEmpty()) << result.Describe();
}

TEST(IdsignUsageTest, NoCommandIsRefused) {
  RunResult result = RunIdsign({});
  EXPECT_GT(result.exit_code, 0) << result.Describe();
  EXPECT_THAT(result.stderr_text, Not(IsEmpty())) << result.Describe();
}

}  // namespace
}  // namespace idsign::e2e
