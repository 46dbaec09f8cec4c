// FileAuditLog: the server's audit trail, one JSON line per record in a
// hash-chained file sealed by HMAC checkpoints (format: record.h).
//
// Append() only queues; a writer thread drains the queue in batches and
// appends them under flock, so the CLI (AppendNow) and other processes may
// write to the same file. A checkpoint is written, and the file
// fdatasync'ed, after every `checkpoint_every` records, when a record has
// waited `checkpoint_interval` without one, on Flush() and on Close().
//
// Failure: when a write, fdatasync or token operation fails, the log turns
// unhealthy. Fail-closed (the default): Append() and Health() return
// UNAVAILABLE("audit log unavailable: <reason>"), as they do when the queue
// is full; the records it had already accepted are kept in memory and
// written by the next attempt. Fail-open: Append() and Health() stay OK;
// records that cannot be written are dropped, with an error log line. Recovery:
// while unhealthy, the writer tries again every `retry_interval` (and on
// Flush()); the first write that succeeds makes the log healthy again. A failed
// write never leaves part of a batch in the file: it is truncated back.
//
// Thread safety: thread-safe. Ownership: borrows the Token, which must
// outlive the log; the writer keeps one of the token's pooled sessions until
// Close(), so size the pool one larger. Destruction calls Close().
#ifndef IDSIGN_SERVICE_AUDIT_FILE_AUDIT_LOG_H_
#define IDSIGN_SERVICE_AUDIT_FILE_AUDIT_LOG_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "hsm/token.h"
#include "service/audit/audit_log.h"
#include "service/audit/chain_file.h"
#include "service/audit/record.h"

namespace idsign::audit {

struct FileAuditLogOptions {
  absl::Duration checkpoint_interval = absl::Seconds(10);
  size_t checkpoint_every = 1000;
  // Records waiting for the writer; beyond this Append fails (closed) or
  // drops (open).
  size_t queue_capacity = 10000;
  bool fail_closed = true;
  absl::Duration retry_interval = absl::Seconds(1);
};

struct FileAuditLogStats {
  bool healthy = true;
  std::string last_error;  // why the last attempt failed; empty if none
  uint64_t appended = 0;   // records Append accepted
  uint64_t written = 0;    // records in the file
  uint64_t rejected = 0;   // records Append refused (fail-closed)
  uint64_t dropped = 0;    // records given up on (fail-open, or at Close)
  uint64_t checkpoints = 0;
  uint64_t write_failures = 0;
  size_t queued = 0;
};

class FileAuditLog : public AuditLog {
 public:
  // Checks that the audit key exists (NOT_FOUND otherwise, see FindAuditKey)
  // and that `path` can be opened and locked, then starts the writer.
  static absl::StatusOr<std::unique_ptr<FileAuditLog>> Open(
      std::string path, hsm::Token* token, FileAuditLogOptions options = {});

  ~FileAuditLog() override;
  FileAuditLog(const FileAuditLog&) = delete;
  FileAuditLog& operator=(const FileAuditLog&) = delete;

  // Queues `record`; a record without a time is stamped now.
  absl::Status Append(Record record) override;
  absl::Status Health() const override;

  // Waits until every record appended before the call is written, sealed by
  // a checkpoint and fdatasync'ed. Returns that write's status (also in
  // fail-open mode), so it doubles as an immediate retry when unhealthy.
  absl::Status Flush();

  // Stops accepting records (Append then fails closed or drops), writes what
  // is queued and a final checkpoint, and stops the writer. Returns the
  // final write's status; records it could not write are counted as dropped.
  // Idempotent.
  absl::Status Close();

  FileAuditLogStats Stats() const;

 private:
  FileAuditLog(std::unique_ptr<ChainFile> file, FileAuditLogOptions options);
  void Run();
  absl::Status Unavailable(absl::string_view reason) const;
  void NoteDropped(uint64_t count, absl::string_view reason)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const FileAuditLogOptions options_;
  std::unique_ptr<ChainFile> file_;  // used by the writer thread only

  mutable absl::Mutex mu_;
  absl::CondVar work_cv_;  // the writer waits on it
  absl::CondVar done_cv_;  // Flush() and Close() wait on it
  std::deque<Record> queue_ ABSL_GUARDED_BY(mu_);
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool writer_done_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t flush_requested_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t flush_done_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status flush_status_ ABSL_GUARDED_BY(mu_);
  absl::Status close_status_ ABSL_GUARDED_BY(mu_);
  FileAuditLogStats stats_ ABSL_GUARDED_BY(mu_);  // also the health state
  absl::Time next_drop_log_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t unlogged_drops_ ABSL_GUARDED_BY(mu_) = 0;

  absl::Mutex join_mu_;
  std::thread writer_ ABSL_GUARDED_BY(join_mu_);
};

// For the CLI's key lifecycle events: synchronously appends `record` and a
// checkpoint to the file at `path` under flock, then fdatasyncs. A record
// without a time is stamped now. NOT_FOUND when the audit key is missing
// (nothing is written then).
absl::Status AppendNow(const std::string& path, hsm::Token& token,
                       const Record& record);

}  // namespace idsign::audit

#endif  // IDSIGN_SERVICE_AUDIT_FILE_AUDIT_LOG_H_
