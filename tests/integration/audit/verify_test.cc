// VerifyAuditLog on a good log and on tampered copies of it: each kind of
// damage is named, with the first bad line. Tampering is done the way an
// attacker with write access but without the audit key would, including
// recomputing the SHA-256 chain with OpenSSL.
#include "service/audit/verify.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "service/audit/audit_key.h"
#include "service/audit/file_audit_log.h"
#include "tests/integration/audit/audit_test_util.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::audit {
namespace {

using ::idsign::audit::test::MakeRecord;
using ::idsign::audit::test::ReadFile;
using ::idsign::audit::test::ReadLines;
using ::idsign::audit::test::Rechain;
using ::idsign::audit::test::Sha256Hex;
using ::idsign::audit::test::TempLogPath;
using ::idsign::audit::test::WriteLines;
using ::idsign::testing::IsOk;
using ::idsign::testing::StatusIs;
using ::idsign::testing::TestToken;
using ::testing::HasSubstr;

void Replace(std::string& line, const std::string& from,
             const std::string& to) {
  const size_t at = line.find(from);
  ASSERT_NE(at, std::string::npos) << from << " not in " << line;
  line.replace(at, from.size(), to);
}

void SetSeq(std::string& line, size_t seq) {
  line = std::regex_replace(line, std::regex("\"seq\":[0-9]+"),
                            absl::StrCat("\"seq\":", seq));
}

class VerifyTest : public ::testing::Test {
 protected:
  // Lines 1-4 records, 5 checkpoint, 6-9 records, 10 checkpoint, 11-12
  // records, 13 checkpoint (Close).
  void SetUp() override {
    token_ = TestToken::Get().Open(true, 6);
    ASSERT_THAT(EnsureAuditKey(*token_), IsOk());
    path_ = TempLogPath("verify");
    FileAuditLogOptions options;
    options.checkpoint_every = 4;
    auto log = FileAuditLog::Open(path_, token_.get(), options);
    ASSERT_THAT(log, IsOk());
    for (int i = 1; i <= 10; ++i) {
      ASSERT_THAT((*log)->Append(MakeRecord(i)), IsOk());
    }
    ASSERT_THAT((*log)->Close(), IsOk());
    lines_ = ReadLines(path_);
    ASSERT_EQ(lines_.size(), 13u);
  }

  // Writes `lines` to a new file and verifies it.
  VerifyReport VerifyLines(const std::vector<std::string>& lines) {
    const std::string path = TempLogPath("tampered");
    WriteLines(path, lines);
    return VerifyPath(path);
  }

  VerifyReport VerifyPath(const std::string& path) {
    auto report = VerifyAuditLog(path, *token_);
    EXPECT_THAT(report, IsOk());
    return report.ok() ? *report : VerifyReport{};
  }

  std::unique_ptr<hsm::Token> token_;
  std::string path_;
  std::vector<std::string> lines_;
};

MATCHER_P2(BrokenAt, problem, line,
           absl::StrCat("is broken (", ProblemName(problem), ") at line ",
                        line)) {
  *result_listener << FormatVerifyReport(arg);
  return arg.problem == problem && arg.first_bad_line == line;
}

TEST_F(VerifyTest, IntactLog) {
  const VerifyReport report = VerifyPath(path_);
  EXPECT_TRUE(report.intact()) << FormatVerifyReport(report);
  EXPECT_EQ(report.first_bad_line, 0u);
  EXPECT_EQ(report.lines, 13u);
  EXPECT_EQ(report.records, 10u);
  EXPECT_EQ(report.checkpoints, 3u);
  EXPECT_EQ(report.covered_records, 10u);
  EXPECT_EQ(report.uncovered_records, 0u);
  EXPECT_THAT(FormatVerifyReport(report), HasSubstr("INTACT"));
}

TEST_F(VerifyTest, EditedByteInRecord) {
  Replace(lines_[1], "req-2", "req-X");
  const VerifyReport report = VerifyLines(lines_);
  EXPECT_THAT(report, BrokenAt(Problem::kChainBroken, 2u));
  EXPECT_THAT(report.detail, HasSubstr("line 2 was changed"));
  EXPECT_THAT(FormatVerifyReport(report),
              HasSubstr("BROKEN at line 2 (chain_broken)"));
}

TEST_F(VerifyTest, EditedByteInCheckpoint) {
  Replace(lines_[4], "\"records\":4", "\"records\":5");
  EXPECT_THAT(VerifyLines(lines_), BrokenAt(Problem::kBadRecordCount, 5u));
  lines_ = ReadLines(path_);
  // Change the last digit of the checkpoint's time.
  const size_t end_of_time = lines_[4].find("Z\",\"mac\"");
  ASSERT_NE(end_of_time, std::string::npos);
  char& digit = lines_[4][end_of_time - 1];
  digit = digit == '0' ? '1' : '0';
  EXPECT_THAT(VerifyLines(lines_), BrokenAt(Problem::kBadMac, 5u));
}

TEST_F(VerifyTest, DeletedLine) {
  lines_.erase(lines_.begin() + 2);
  EXPECT_THAT(VerifyLines(lines_), BrokenAt(Problem::kBadSeq, 3u));
}

TEST_F(VerifyTest, DeletedFirstLine) {
  lines_.erase(lines_.begin());
  EXPECT_THAT(VerifyLines(lines_), BrokenAt(Problem::kBadSeq, 1u));
}

TEST_F(VerifyTest, SwappedLines) {
  std::swap(lines_[5], lines_[6]);
  EXPECT_THAT(VerifyLines(lines_), BrokenAt(Problem::kBadSeq, 6u));
}

// Valid JSON, right seq, prev and count, a plausible mac: only the audit key
// can tell.
TEST_F(VerifyTest, ForgedCheckpoint) {
  std::string body, mac;
  ASSERT_TRUE(SplitCheckpointMac(lines_[9], &body, &mac));
  lines_[9] = AddCheckpointMac(body, Sha256Hex(body));
  Rechain(lines_, 10);
  ASSERT_THAT(ParseLine(lines_[9]), IsOk());
  EXPECT_THAT(VerifyLines(lines_), BrokenAt(Problem::kBadMac, 10u));
}

// Editing a record and recomputing every later prev fixes the chain, but the
// next checkpoint's MAC no longer verifies.
TEST_F(VerifyTest, RechainedEditIsCaughtByTheNextCheckpoint) {
  Replace(lines_[6], "req-6", "req-X");
  Rechain(lines_, 7);
  EXPECT_THAT(VerifyLines(lines_), BrokenAt(Problem::kBadMac, 10u));
}

// The full forgery of a deletion: later lines renumbered, the checkpoint's
// count fixed, the chain recomputed. The MAC still gives it away.
TEST_F(VerifyTest, RenumberedDeletionIsCaughtByTheNextCheckpoint) {
  lines_.erase(lines_.begin() + 6);
  for (size_t i = 6; i < lines_.size(); ++i) SetSeq(lines_[i], i + 1);
  Replace(lines_[8], "\"records\":8", "\"records\":7");
  Rechain(lines_, 6);
  EXPECT_THAT(VerifyLines(lines_), BrokenAt(Problem::kBadMac, 9u));
}

TEST_F(VerifyTest, BadJson) {
  lines_[7] = "{not json";
  EXPECT_THAT(VerifyLines(lines_), BrokenAt(Problem::kBadJson, 8u));
}

// A field for a user id cannot be smuggled in, even with the chain redone.
TEST_F(VerifyTest, InjectedIdentifierFieldIsRejected) {
  Replace(lines_[5], "\"details\":{}", "\"details\":{},\"user_id\":\"alice\"");
  Rechain(lines_, 6);
  const VerifyReport report = VerifyLines(lines_);
  EXPECT_THAT(report, BrokenAt(Problem::kBadJson, 6u));
  EXPECT_THAT(report.detail, HasSubstr("user_id"));
}

TEST_F(VerifyTest, RecordsAfterTheLastCheckpointAreReported) {
  lines_.pop_back();  // the Close() checkpoint
  const VerifyReport report = VerifyLines(lines_);
  EXPECT_TRUE(report.intact()) << FormatVerifyReport(report);
  EXPECT_EQ(report.covered_records, 8u);
  EXPECT_EQ(report.uncovered_records, 2u);
  EXPECT_THAT(FormatVerifyReport(report), HasSubstr("not yet sealed"));
}

TEST_F(VerifyTest, TornLastLine) {
  std::string text = ReadFile(path_);
  const std::string torn = TempLogPath("torn");
  {
    std::ofstream out(torn, std::ios::binary);
    out << text << "{\"type\":\"rec";
  }
  EXPECT_THAT(VerifyPath(torn), BrokenAt(Problem::kBadJson, 14u));
  {
    std::ofstream out(torn, std::ios::binary | std::ios::trunc);
    out << text.substr(0, text.size() - 1);  // complete line, no newline
  }
  EXPECT_THAT(VerifyPath(torn), BrokenAt(Problem::kTornLine, 13u));
}

TEST_F(VerifyTest, KeepsCountingAfterTheFirstProblem) {
  std::swap(lines_[1], lines_[2]);
  const VerifyReport report = VerifyLines(lines_);
  EXPECT_THAT(report, BrokenAt(Problem::kBadSeq, 2u));
  EXPECT_EQ(report.lines, 13u);
  EXPECT_EQ(report.records, 10u);
  EXPECT_EQ(report.checkpoints, 3u);
}

TEST_F(VerifyTest, EmptyAndMissingFiles) {
  const std::string empty = TempLogPath("empty");
  WriteLines(empty, {});
  const VerifyReport report = VerifyPath(empty);
  EXPECT_TRUE(report.intact());
  EXPECT_EQ(report.lines, 0u);
  EXPECT_THAT(VerifyAuditLog(TempLogPath("missing"), *token_),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace idsign::audit
