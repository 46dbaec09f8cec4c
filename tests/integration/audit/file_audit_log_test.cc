// FileAuditLog and AppendNow on the test token: what lands in the file, how
// the chain and the checkpoints are formed (OpenSSL as the SHA-256 oracle),
// and concurrent writers sharing one file.
#include "service/audit/file_audit_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "hsm/mac.h"
#include "service/audit/audit_key.h"
#include "service/audit/verify.h"
#include "tests/integration/audit/audit_test_util.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::audit {
namespace {

using ::idsign::audit::test::MakeRecord;
using ::idsign::audit::test::ReadLines;
using ::idsign::audit::test::Sha256Hex;
using ::idsign::audit::test::TempLogPath;
using ::idsign::testing::IsOk;
using ::idsign::testing::StatusIs;
using ::idsign::testing::TestToken;
using ::testing::HasSubstr;

class FileAuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_ = TestToken::Get().Open(true, 8);
    ASSERT_THAT(EnsureAuditKey(*token_), IsOk());
  }

  std::unique_ptr<FileAuditLog> OpenLog(const std::string& path,
                                        FileAuditLogOptions options = {}) {
    auto log = FileAuditLog::Open(path, token_.get(), options);
    EXPECT_THAT(log, IsOk());
    return log.ok() ? std::move(*log) : nullptr;
  }

  VerifyReport Verify(const std::string& path) {
    auto report = VerifyAuditLog(path, *token_);
    EXPECT_THAT(report, IsOk());
    return report.ok() ? *report : VerifyReport{};
  }

  std::vector<ParsedLine> Parse(const std::vector<std::string>& lines) {
    std::vector<ParsedLine> parsed;
    for (const std::string& line : lines) {
      auto one = ParseLine(line);
      EXPECT_THAT(one, IsOk()) << line;
      if (one.ok()) parsed.push_back(*one);
    }
    return parsed;
  }

  std::unique_ptr<hsm::Token> token_;
};

TEST_F(FileAuditLogTest, RoundTrip) {
  const std::string path = TempLogPath("roundtrip");
  std::vector<Record> records = {MakeRecord(1), MakeRecord(2, "BatchSign"),
                                 MakeRecord(3, "key.import")};
  records[1].versions = {2, 3};
  records[1].items = 50;
  records[1].failed_items = 2;
  records[1].outcome = absl::StatusCode::kInvalidArgument;
  records[2].details = {{"check_value", "a1b2c3"}, {"bytes", "32"}};
  auto log = OpenLog(path);
  ASSERT_NE(log, nullptr);
  for (const Record& record : records) ASSERT_THAT(log->Append(record), IsOk());
  ASSERT_THAT(log->Close(), IsOk());

  const std::vector<ParsedLine> lines = Parse(ReadLines(path));
  ASSERT_EQ(lines.size(), 4u);
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(lines[i].type, LineType::kRecord);
    EXPECT_EQ(lines[i].record, records[i]) << "line " << i + 1;
  }
  EXPECT_EQ(lines[3].type, LineType::kCheckpoint);
  EXPECT_EQ(lines[3].records, 3u);

  const FileAuditLogStats stats = log->Stats();
  EXPECT_TRUE(stats.healthy);
  EXPECT_EQ(stats.appended, 3u);
  EXPECT_EQ(stats.written, 3u);
  EXPECT_EQ(stats.checkpoints, 1u);

  const VerifyReport report = Verify(path);
  EXPECT_TRUE(report.intact()) << FormatVerifyReport(report);
  EXPECT_EQ(report.lines, 4u);
  EXPECT_EQ(report.records, 3u);
  EXPECT_EQ(report.checkpoints, 1u);
  EXPECT_EQ(report.covered_records, 3u);
  EXPECT_EQ(report.uncovered_records, 0u);
}

TEST_F(FileAuditLogTest, RecordsWithoutTimeAreStamped) {
  const std::string path = TempLogPath("stamp");
  auto log = OpenLog(path);
  ASSERT_NE(log, nullptr);
  Record record = MakeRecord(1);
  record.time = absl::InfinitePast();
  const absl::Time before = absl::Now() - absl::Milliseconds(1);
  ASSERT_THAT(log->Append(record), IsOk());
  ASSERT_THAT(log->Close(), IsOk());
  const std::vector<ParsedLine> lines = Parse(ReadLines(path));
  ASSERT_FALSE(lines.empty());
  EXPECT_GE(lines[0].record.time, before);
}

// Each line's prev is the SHA-256 (by OpenSSL) of the previous line's exact
// bytes, the first is 64 zeros, and seq counts lines.
TEST_F(FileAuditLogTest, ChainMatchesOpenSslSha256) {
  const std::string path = TempLogPath("chain");
  FileAuditLogOptions options;
  options.checkpoint_every = 4;
  auto log = OpenLog(path, options);
  ASSERT_NE(log, nullptr);
  for (int i = 0; i < 10; ++i) ASSERT_THAT(log->Append(MakeRecord(i)), IsOk());
  ASSERT_THAT(log->Close(), IsOk());

  const std::vector<std::string> lines = ReadLines(path);
  const std::vector<ParsedLine> parsed = Parse(lines);
  ASSERT_EQ(parsed.size(), 13u);  // 10 records, checkpoints after 4, 8, 10
  for (size_t i = 0; i < parsed.size(); ++i) {
    EXPECT_EQ(parsed[i].seq, i + 1);
    EXPECT_EQ(parsed[i].prev,
              i == 0 ? std::string(kZeroHash) : Sha256Hex(lines[i - 1]))
        << "line " << i + 1;
  }
  std::vector<size_t> checkpoints;
  for (size_t i = 0; i < parsed.size(); ++i) {
    if (parsed[i].type == LineType::kCheckpoint) checkpoints.push_back(i + 1);
  }
  EXPECT_THAT(checkpoints, ::testing::ElementsAre(5u, 10u, 13u));
  EXPECT_EQ(parsed[4].records, 4u);
  EXPECT_EQ(parsed[9].records, 8u);
  EXPECT_EQ(parsed[12].records, 10u);
}

// The audit key cannot be read, so the MAC is checked in the token: it
// verifies over the line without its mac field, and not over anything else.
TEST_F(FileAuditLogTest, CheckpointMacVerifiesInToken) {
  const std::string path = TempLogPath("mac");
  auto log = OpenLog(path);
  ASSERT_NE(log, nullptr);
  ASSERT_THAT(log->Append(MakeRecord(1)), IsOk());
  ASSERT_THAT(log->Flush(), IsOk());
  const std::vector<std::string> lines = ReadLines(path);
  ASSERT_EQ(lines.size(), 2u);

  std::string body, mac_hex;
  ASSERT_TRUE(SplitCheckpointMac(lines[1], &body, &mac_hex));
  const std::string mac = absl::HexStringToBytes(mac_hex);
  const std::span<const uint8_t> mac_bytes(
      reinterpret_cast<const uint8_t*>(mac.data()), mac.size());
  auto key = FindAuditKey(*token_);
  ASSERT_THAT(key, IsOk());
  auto session = token_->Acquire();
  ASSERT_THAT(session, IsOk());
  EXPECT_THAT(hsm::VerifyHmacSha256(*session, *key, body, mac_bytes),
              ::idsign::testing::IsOkAndHolds(true));
  std::string changed = body;
  changed[changed.find("\"records\":1") + 10] = '2';
  EXPECT_THAT(hsm::VerifyHmacSha256(*session, *key, changed, mac_bytes),
              ::idsign::testing::IsOkAndHolds(false));
  EXPECT_THAT(hsm::VerifyHmacSha256(*session, *key, lines[1], mac_bytes),
              ::idsign::testing::IsOkAndHolds(false));
  auto computed = hsm::HmacSha256(*session, *key, body);
  ASSERT_THAT(computed, IsOk());
  EXPECT_EQ(std::string(computed->begin(), computed->end()), mac);
  log.reset();
}

TEST_F(FileAuditLogTest, CloseWritesFinalCheckpointAndRefusesMore) {
  const std::string path = TempLogPath("close");
  auto log = OpenLog(path);
  ASSERT_NE(log, nullptr);
  ASSERT_THAT(log->Append(MakeRecord(1)), IsOk());
  ASSERT_THAT(log->Append(MakeRecord(2)), IsOk());
  ASSERT_THAT(log->Close(), IsOk());
  EXPECT_THAT(log->Close(), IsOk());  // idempotent
  std::vector<ParsedLine> lines = Parse(ReadLines(path));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2].type, LineType::kCheckpoint);
  EXPECT_EQ(lines[2].records, 2u);
  EXPECT_THAT(log->Append(MakeRecord(3)),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("closed")));
  EXPECT_THAT(log->Health(), StatusIs(absl::StatusCode::kUnavailable));

  // Destruction closes too.
  auto second = OpenLog(path);
  ASSERT_NE(second, nullptr);
  ASSERT_THAT(second->Append(MakeRecord(3)), IsOk());
  second.reset();
  lines = Parse(ReadLines(path));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[4].type, LineType::kCheckpoint);
  EXPECT_EQ(lines[4].records, 3u);
  EXPECT_TRUE(Verify(path).intact());
}

TEST_F(FileAuditLogTest, NothingAppendedWritesNothing) {
  const std::string path = TempLogPath("empty");
  auto log = OpenLog(path);
  ASSERT_NE(log, nullptr);
  ASSERT_THAT(log->Flush(), IsOk());
  ASSERT_THAT(log->Close(), IsOk());
  EXPECT_TRUE(ReadLines(path).empty());
  const VerifyReport report = Verify(path);
  EXPECT_TRUE(report.intact());
  EXPECT_EQ(report.lines, 0u);
}

TEST_F(FileAuditLogTest, PeriodicCheckpointIsWritten) {
  const std::string path = TempLogPath("periodic");
  FileAuditLogOptions options;
  options.checkpoint_interval = absl::Milliseconds(20);
  auto log = OpenLog(path, options);
  ASSERT_NE(log, nullptr);
  ASSERT_THAT(log->Append(MakeRecord(1)), IsOk());
  // No assertion on when: wait (generously) until the writer has sealed it.
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (log->Stats().checkpoints == 0 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(log->Stats().checkpoints, 1u);
  const std::vector<ParsedLine> lines = Parse(ReadLines(path));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1].type, LineType::kCheckpoint);
  ASSERT_THAT(log->Close(), IsOk());
  EXPECT_EQ(ReadLines(path).size(), 2u);  // already sealed: no new checkpoint
}

TEST_F(FileAuditLogTest, ReopenContinuesTheChain) {
  const std::string path = TempLogPath("reopen");
  for (int round = 0; round < 3; ++round) {
    auto log = OpenLog(path);
    ASSERT_NE(log, nullptr);
    for (int i = 0; i < 3; ++i) {
      ASSERT_THAT(log->Append(MakeRecord(round * 10 + i)), IsOk());
    }
    ASSERT_THAT(log->Close(), IsOk());
  }
  const std::vector<ParsedLine> lines = Parse(ReadLines(path));
  ASSERT_EQ(lines.size(), 12u);
  EXPECT_EQ(lines[11].records, 9u);
  const VerifyReport report = Verify(path);
  EXPECT_TRUE(report.intact()) << FormatVerifyReport(report);
  EXPECT_EQ(report.records, 9u);
  EXPECT_EQ(report.checkpoints, 3u);
}

TEST_F(FileAuditLogTest, AppendNowWritesRecordAndCheckpoint) {
  const std::string path = TempLogPath("now");
  Record event = MakeRecord(1, "key.generate");
  event.details = {{"bytes", "32"}};
  ASSERT_THAT(AppendNow(path, *token_, event), IsOk());
  ASSERT_THAT(AppendNow(path, *token_, MakeRecord(2, "key.destroy")), IsOk());
  const std::vector<ParsedLine> lines = Parse(ReadLines(path));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].record, event);
  EXPECT_EQ(lines[1].type, LineType::kCheckpoint);
  EXPECT_EQ(lines[2].record.operation, "key.destroy");
  EXPECT_EQ(lines[3].type, LineType::kCheckpoint);
  EXPECT_EQ(lines[3].records, 2u);
  EXPECT_TRUE(Verify(path).intact());
}

// Two FileAuditLogs and AppendNow callers on several threads, all on one
// file: flock keeps a single chain, and nothing is lost.
TEST_F(FileAuditLogTest, ConcurrentWritersShareOneChain) {
  const std::string path = TempLogPath("concurrent");
  FileAuditLogOptions options;
  options.checkpoint_every = 16;
  auto first = OpenLog(path, options);
  auto second = OpenLog(path, options);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  constexpr int kPerThread = 100;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      FileAuditLog& log = t % 2 == 0 ? *first : *second;
      for (int i = 0; i < kPerThread; ++i) {
        EXPECT_THAT(log.Append(MakeRecord(i, absl::StrCat("writer", t))),
                    IsOk());
        if (i % 25 == 0) {
          EXPECT_THAT(log.Flush(), IsOk());
        }
      }
    });
  }
  for (int t = 4; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        EXPECT_THAT(
            AppendNow(path, *token_, MakeRecord(i, absl::StrCat("writer", t))),
            IsOk());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_THAT(first->Close(), IsOk());
  ASSERT_THAT(second->Close(), IsOk());

  const VerifyReport report = Verify(path);
  EXPECT_TRUE(report.intact()) << FormatVerifyReport(report);
  EXPECT_EQ(report.records, 4u * kPerThread + 20u);
  EXPECT_EQ(report.uncovered_records, 0u);
  std::map<std::string, int> per_writer;
  for (const ParsedLine& line : Parse(ReadLines(path))) {
    if (line.type == LineType::kRecord) ++per_writer[line.record.operation];
  }
  for (int t = 0; t < 6; ++t) {
    EXPECT_EQ(per_writer[absl::StrCat("writer", t)], t < 4 ? kPerThread : 10);
  }
}

// A line cut short by a crash is ended with a newline and chained over; the
// verifier then points at it.
TEST_F(FileAuditLogTest, WriterEndsATornLine) {
  const std::string path = TempLogPath("torn");
  ASSERT_THAT(AppendNow(path, *token_, MakeRecord(1)), IsOk());
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << "{\"type\":\"record\",\"seq\":3,\"pr";
  }
  ASSERT_THAT(AppendNow(path, *token_, MakeRecord(2)), IsOk());
  const std::vector<std::string> lines = ReadLines(path);
  ASSERT_EQ(lines.size(), 5u);
  auto after = ParseLine(lines[3]);
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->seq, 4u);
  EXPECT_EQ(after->prev, Sha256Hex(lines[2]));
  const VerifyReport report = Verify(path);
  EXPECT_EQ(report.problem, Problem::kBadJson);
  EXPECT_EQ(report.first_bad_line, 3u);
}

}  // namespace
}  // namespace idsign::audit
