#include "service/audit/file_audit_log.h"

#include <algorithm>
#include <iterator>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "hsm/log.h"
#include "hsm/status_macros.h"
#include "service/audit/audit_key.h"

namespace idsign::audit {

FileAuditLog::FileAuditLog(std::unique_ptr<ChainFile> file,
                           FileAuditLogOptions options)
    : options_(options), file_(std::move(file)) {}

absl::StatusOr<std::unique_ptr<FileAuditLog>> FileAuditLog::Open(
    std::string path, hsm::Token* token, FileAuditLogOptions options) {
  if (options.queue_capacity == 0) {
    return absl::InvalidArgumentError("audit queue capacity must be positive");
  }
  RETURN_IF_ERROR(FindAuditKey(*token).status());
  auto file = std::make_unique<ChainFile>(std::move(path), token);
  RETURN_IF_ERROR(file->Probe());
  std::unique_ptr<FileAuditLog> log(new FileAuditLog(std::move(file), options));
  absl::MutexLock lock(&log->join_mu_);
  log->writer_ = std::thread([raw = log.get()] { raw->Run(); });
  return log;
}

FileAuditLog::~FileAuditLog() { Close().IgnoreError(); }

absl::Status FileAuditLog::Unavailable(absl::string_view reason) const {
  return absl::UnavailableError(
      absl::StrCat("audit log unavailable: ", reason));
}

void FileAuditLog::NoteDropped(uint64_t count, absl::string_view reason) {
  if (count == 0) return;
  stats_.dropped += count;
  unlogged_drops_ += count;
  const absl::Time now = absl::Now();
  if (now < next_drop_log_) return;
  // At most one line per retry interval, however fast records are dropped.
  next_drop_log_ = now + options_.retry_interval;
  log::Error(
      "audit_records_dropped",
      absl::StrCat("count=", unlogged_drops_, " reason=", log::Quote(reason),
                   " path=", log::Quote(file_->path())));
  unlogged_drops_ = 0;
}

absl::Status FileAuditLog::Append(Record record) {
  if (record.time == absl::InfinitePast()) record.time = absl::Now();
  absl::MutexLock lock(&mu_);
  std::string reason;
  if (closing_) {
    reason = "closed";
  } else if (options_.fail_closed && !stats_.healthy) {
    reason = stats_.last_error;
  } else if (queue_.size() >= options_.queue_capacity) {
    reason = absl::StrCat("queue full (", queue_.size(), " records waiting)");
  }
  if (reason.empty()) {
    queue_.push_back(std::move(record));
    ++stats_.appended;
    work_cv_.Signal();
    return absl::OkStatus();
  }
  if (options_.fail_closed) {
    ++stats_.rejected;
    return Unavailable(reason);
  }
  NoteDropped(1, reason);
  return absl::OkStatus();
}

absl::Status FileAuditLog::Health() const {
  absl::MutexLock lock(&mu_);
  if (!options_.fail_closed) return absl::OkStatus();
  if (closing_) return Unavailable("closed");
  if (!stats_.healthy) return Unavailable(stats_.last_error);
  if (queue_.size() >= options_.queue_capacity) {
    return Unavailable(
        absl::StrCat("queue full (", queue_.size(), " records waiting)"));
  }
  return absl::OkStatus();
}

absl::Status FileAuditLog::Flush() {
  absl::MutexLock lock(&mu_);
  if (closing_) {
    while (!writer_done_) done_cv_.Wait(&mu_);
    return close_status_;
  }
  const uint64_t generation = ++flush_requested_;
  work_cv_.Signal();
  while (flush_done_ < generation && !writer_done_) done_cv_.Wait(&mu_);
  return flush_done_ >= generation ? flush_status_ : close_status_;
}

absl::Status FileAuditLog::Close() {
  {
    absl::MutexLock lock(&mu_);
    closing_ = true;
    work_cv_.Signal();
  }
  {
    absl::MutexLock lock(&join_mu_);
    if (writer_.joinable()) writer_.join();
  }
  absl::MutexLock lock(&mu_);
  return close_status_;
}

FileAuditLogStats FileAuditLog::Stats() const {
  absl::MutexLock lock(&mu_);
  FileAuditLogStats stats = stats_;
  stats.queued = queue_.size();
  return stats;
}

void FileAuditLog::Run() {
  // Writer-thread state.
  std::vector<Record> retry;  // accepted but not yet written (fail-closed)
  bool uncovered = false;     // the file has records after its last checkpoint
  absl::Time checkpoint_due = absl::InfiniteFuture();
  absl::Time retry_due = absl::InfiniteFuture();
  const ChainFile::Options batch_options{options_.checkpoint_every, false};

  while (true) {
    std::vector<Record> batch;
    bool closing, flush, healthy;
    uint64_t flush_generation;
    {
      absl::MutexLock lock(&mu_);
      while (queue_.empty() && !closing_ && flush_requested_ == flush_done_) {
        // Unhealthy: the next attempt is the retry, which also seals.
        absl::Time deadline = absl::InfiniteFuture();
        if (!stats_.healthy) {
          deadline = retry_due;
        } else if (uncovered) {
          deadline = checkpoint_due;
        }
        if (absl::Now() >= deadline) break;
        work_cv_.WaitWithDeadline(&mu_, deadline);
      }
      batch.reserve(queue_.size());
      for (Record& record : queue_) batch.push_back(std::move(record));
      queue_.clear();
      closing = closing_;
      flush_generation = flush_requested_;
      flush = flush_generation != flush_done_;
      healthy = stats_.healthy;
    }
    const absl::Time now = absl::Now();
    const bool retry_now = !healthy && now >= retry_due;
    if (!healthy && !retry_now && !flush && !closing) {
      // Unhealthy: wait for the retry time rather than hammer the disk.
      if (options_.fail_closed) {
        std::move(batch.begin(), batch.end(), std::back_inserter(retry));
      } else {
        absl::MutexLock lock(&mu_);
        NoteDropped(batch.size(), stats_.last_error);
      }
      continue;
    }
    const bool seal =
        closing || flush || retry_now || (uncovered && now >= checkpoint_due);
    std::vector<Record> records = std::move(retry);
    retry.clear();
    std::move(batch.begin(), batch.end(), std::back_inserter(records));
    if (records.empty() && !seal) continue;

    ChainFile::Options append_options = batch_options;
    append_options.seal = seal;
    ChainFile::Result result;
    const absl::Status status = file_->Append(records, append_options, &result);
    const absl::Time after = absl::Now();
    if (status.ok() || result.lines_written) {
      const bool now_uncovered = result.uncovered > 0;
      if (now_uncovered && !uncovered) {
        checkpoint_due = after + options_.checkpoint_interval;
      }
      uncovered = now_uncovered;
    }

    absl::MutexLock lock(&mu_);
    if (result.lines_written) {
      stats_.written += records.size();
      stats_.checkpoints += result.checkpoints_written;
    }
    if (status.ok()) {
      if (!stats_.healthy) {
        log::Info("audit_log_recovered",
                  absl::StrCat("path=", log::Quote(file_->path())));
      }
      stats_.healthy = true;
      stats_.last_error.clear();
      retry_due = absl::InfiniteFuture();
    } else {
      ++stats_.write_failures;
      if (stats_.healthy) {
        log::Error("audit_log_unhealthy",
                   absl::StrCat("path=", log::Quote(file_->path()),
                                " error=", log::Quote(status.message()),
                                " fail_closed=", options_.fail_closed));
      }
      stats_.healthy = false;
      stats_.last_error = std::string(status.message());
      retry_due = after + options_.retry_interval;
      if (!result.lines_written) {
        if (options_.fail_closed && !closing) {
          retry = std::move(records);
        } else {
          NoteDropped(records.size(), status.message());
        }
      }
    }
    if (flush || closing) {
      flush_done_ = flush_generation;
      flush_status_ =
          status.ok() ? absl::OkStatus() : Unavailable(status.message());
      done_cv_.SignalAll();
    }
    if (closing) {
      close_status_ = flush_status_;
      writer_done_ = true;
      done_cv_.SignalAll();
      return;
    }
  }
}

absl::Status AppendNow(const std::string& path, hsm::Token& token,
                       const Record& record) {
  std::vector<Record> records{record};
  if (records[0].time == absl::InfinitePast()) records[0].time = absl::Now();
  ChainFile file(path, &token);
  ChainFile::Result result;
  return file.Append(records, ChainFile::Options{0, true}, &result);
}

}  // namespace idsign::audit
