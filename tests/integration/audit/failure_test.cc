// FileAuditLog when the file cannot be written: fail-closed turns unhealthy
// and refuses (UNAVAILABLE) until a write succeeds again, fail-open drops and
// stays available, a full queue counts as a failure, and a failed write
// leaves no partial line behind.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "service/audit/audit_key.h"
#include "service/audit/file_audit_log.h"
#include "service/audit/verify.h"
#include "tests/integration/audit/audit_test_util.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::audit {
namespace {

using ::idsign::audit::test::MakeRecord;
using ::idsign::audit::test::ReadFile;
using ::idsign::audit::test::ReadLines;
using ::idsign::audit::test::TempLogPath;
using ::idsign::testing::IsOk;
using ::idsign::testing::StatusIs;
using ::idsign::testing::TestToken;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kFull[] = "/dev/full";

// Lowers RLIMIT_FSIZE for the whole process (SIGXFSZ ignored, so writes past
// the limit fail with EFBIG) and restores both on destruction.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    previous_handler_ = signal(SIGXFSZ, SIG_IGN);
    rlimit lowered = saved_;
    lowered.rlim_cur = bytes;
    ok_ = setrlimit(RLIMIT_FSIZE, &lowered) == 0;
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    signal(SIGXFSZ, previous_handler_);
  }
  bool ok() const { return ok_; }

 private:
  rlimit saved_{};
  sighandler_t previous_handler_ = SIG_DFL;
  bool ok_ = false;
};

// Holds flock(LOCK_EX) on a file from outside the log, so its writer blocks.
class ForeignLock {
 public:
  explicit ForeignLock(const std::string& path)
      : fd_(open(path.c_str(), O_RDWR | O_CLOEXEC)) {
    locked_ = fd_ >= 0 && flock(fd_, LOCK_EX) == 0;
  }
  ~ForeignLock() { Release(); }
  void Release() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  bool locked() const { return locked_; }

 private:
  int fd_;
  bool locked_ = false;
};

class AuditFailureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_ = TestToken::Get().Open(true, 6);
    ASSERT_THAT(EnsureAuditKey(*token_), IsOk());
  }

  std::unique_ptr<FileAuditLog> OpenLog(const std::string& path,
                                        FileAuditLogOptions options) {
    auto log = FileAuditLog::Open(path, token_.get(), options);
    EXPECT_THAT(log, IsOk());
    return log.ok() ? std::move(*log) : nullptr;
  }

  std::unique_ptr<hsm::Token> token_;
};

TEST_F(AuditFailureTest, FailClosedOnFullDiskRefuses) {
  FileAuditLogOptions options;
  options.retry_interval = absl::Hours(1);
  auto log = OpenLog(kFull, options);
  ASSERT_NE(log, nullptr);
  EXPECT_THAT(log->Health(), IsOk());
  ASSERT_THAT(log->Append(MakeRecord(1)), IsOk());  // queued; not yet written

  const auto unavailable =
      StatusIs(absl::StatusCode::kUnavailable,
               AllOf(HasSubstr("audit log unavailable: "),
                     HasSubstr("No space left on device")));
  EXPECT_THAT(log->Flush(), unavailable);
  EXPECT_THAT(log->Health(), unavailable);
  EXPECT_THAT(log->Append(MakeRecord(2)), unavailable);
  FileAuditLogStats stats = log->Stats();
  EXPECT_FALSE(stats.healthy);
  EXPECT_THAT(stats.last_error, HasSubstr("No space left on device"));
  EXPECT_EQ(stats.rejected, 1u);
  EXPECT_EQ(stats.written, 0u);

  // Still failing on retry; at Close the kept record is given up.
  EXPECT_THAT(log->Flush(), unavailable);
  EXPECT_THAT(log->Close(), unavailable);
  stats = log->Stats();
  EXPECT_EQ(stats.dropped, 1u);
  EXPECT_GE(stats.write_failures, 3u);
}

TEST_F(AuditFailureTest, FailOpenOnFullDiskDropsAndStaysAvailable) {
  FileAuditLogOptions options;
  options.fail_closed = false;
  auto log = OpenLog(kFull, options);
  ASSERT_NE(log, nullptr);
  for (int i = 1; i <= 5; ++i) {
    EXPECT_THAT(log->Append(MakeRecord(i)), IsOk());
    // Flush's own status reports the write it made, if any; the log itself
    // stays available.
    log->Flush().IgnoreError();
    EXPECT_THAT(log->Health(), IsOk());
  }
  const FileAuditLogStats stats = log->Stats();
  EXPECT_EQ(stats.appended, 5u);
  EXPECT_EQ(stats.dropped, 5u);
  EXPECT_EQ(stats.rejected, 0u);
  EXPECT_EQ(stats.written, 0u);
}

// EFBIG half-way through a batch: the partial line is taken back, the log
// refuses until the limit is lifted, then writes the kept records and
// recovers, and the chain verifies.
TEST_F(AuditFailureTest, FailClosedRecoversWhenWritesSucceedAgain) {
  const std::string path = TempLogPath("efbig");
  FileAuditLogOptions options;
  options.retry_interval = absl::Hours(1);  // only Flush retries: no timing
  auto log = OpenLog(path, options);
  ASSERT_NE(log, nullptr);
  for (int i = 0; i < 3; ++i) ASSERT_THAT(log->Append(MakeRecord(i)), IsOk());
  ASSERT_THAT(log->Flush(), IsOk());
  const std::string before = ReadFile(path);

  {
    // Queue five records while the writer waits for the file lock, so none
    // is refused, then let it write them past the limit.
    ForeignLock lock(path);
    ASSERT_TRUE(lock.locked());
    for (int i = 3; i < 8; ++i) {
      ASSERT_THAT(log->Append(MakeRecord(i)), IsOk());
    }
    FileSizeLimit limit(before.size() + 100);  // room for part of one line
    ASSERT_TRUE(limit.ok());
    lock.Release();
    const auto too_large =
        StatusIs(absl::StatusCode::kUnavailable, HasSubstr("File too large"));
    EXPECT_THAT(log->Flush(), too_large);
    EXPECT_THAT(log->Health(), too_large);
    EXPECT_THAT(log->Append(MakeRecord(99)), too_large);
    EXPECT_EQ(ReadFile(path), before);  // no partial line left behind
  }

  EXPECT_THAT(log->Flush(), IsOk());  // the retry succeeds
  EXPECT_THAT(log->Health(), IsOk());
  ASSERT_THAT(log->Append(MakeRecord(8)), IsOk());
  ASSERT_THAT(log->Close(), IsOk());
  const FileAuditLogStats stats = log->Stats();
  EXPECT_TRUE(stats.healthy);
  EXPECT_EQ(stats.written, 9u);
  EXPECT_EQ(stats.rejected, 1u);
  EXPECT_EQ(stats.dropped, 0u);

  auto report = VerifyAuditLog(path, *token_);
  ASSERT_THAT(report, IsOk());
  EXPECT_TRUE(report->intact()) << FormatVerifyReport(*report);
  EXPECT_EQ(report->records, 9u);
  for (const std::string& line : ReadLines(path)) {
    EXPECT_EQ(line.find("req-99"), std::string::npos);
  }
}

TEST_F(AuditFailureTest, FullQueueFailsClosed) {
  const std::string path = TempLogPath("queue-closed");
  FileAuditLogOptions options;
  options.queue_capacity = 2;
  auto log = OpenLog(path, options);
  ASSERT_NE(log, nullptr);
  ForeignLock lock(path);
  ASSERT_TRUE(lock.locked());

  // Let the writer take a first record and block on the lock, so the queue
  // cannot drain while the rest of the test looks at it.
  ASSERT_THAT(log->Append(MakeRecord(100)), IsOk());
  int accepted = 1;
  for (int i = 0; i < 2000 && log->Stats().queued != 0; ++i) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(log->Stats().queued, 0u);

  absl::Status refused;
  for (int i = 0; i < 10 && refused.ok(); ++i) {
    refused = log->Append(MakeRecord(i));
    if (refused.ok()) ++accepted;
  }
  EXPECT_THAT(refused,
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("audit log unavailable: queue full")));
  EXPECT_LE(accepted, 4);  // a batch with the writer, two in the queue
  EXPECT_THAT(log->Health(), StatusIs(absl::StatusCode::kUnavailable,
                                      HasSubstr("queue full")));

  lock.Release();
  ASSERT_THAT(log->Flush(), IsOk());
  EXPECT_THAT(log->Health(), IsOk());
  ASSERT_THAT(log->Close(), IsOk());
  EXPECT_EQ(log->Stats().written, static_cast<uint64_t>(accepted));
  auto report = VerifyAuditLog(path, *token_);
  ASSERT_THAT(report, IsOk());
  EXPECT_TRUE(report->intact());
}

TEST_F(AuditFailureTest, FullQueueFailOpenDrops) {
  const std::string path = TempLogPath("queue-open");
  FileAuditLogOptions options;
  options.queue_capacity = 2;
  options.fail_closed = false;
  auto log = OpenLog(path, options);
  ASSERT_NE(log, nullptr);
  ForeignLock lock(path);
  ASSERT_TRUE(lock.locked());
  for (int i = 0; i < 10; ++i) EXPECT_THAT(log->Append(MakeRecord(i)), IsOk());
  EXPECT_THAT(log->Health(), IsOk());
  const uint64_t dropped = log->Stats().dropped;
  EXPECT_GE(dropped, 6u);
  lock.Release();
  ASSERT_THAT(log->Close(), IsOk());
  EXPECT_EQ(log->Stats().written, 10u - dropped);
}

TEST_F(AuditFailureTest, UnopenablePathFailsAtOpen) {
  EXPECT_THAT(FileAuditLog::Open("/nonexistent-dir/audit.log", token_.get()),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("No such file or directory")));
}

}  // namespace
}  // namespace idsign::audit
