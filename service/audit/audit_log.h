// AuditLog: where the server records one audit Record per signing RPC.
//
// Append() must be cheap: implementations queue and write elsewhere. Its
// status tells the caller whether the record was accepted; a caller that
// must not act without an audit trail checks Health() before acting and
// Append()'s status after. FileAuditLog is the real implementation;
// MemoryAuditLog is a fake for tests of the callers.
//
// Thread safety: implementations are thread-safe. Ownership: Append takes
// the record by value.
#ifndef IDSIGN_SERVICE_AUDIT_AUDIT_LOG_H_
#define IDSIGN_SERVICE_AUDIT_AUDIT_LOG_H_

#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "service/audit/record.h"

namespace idsign::audit {

class AuditLog {
 public:
  virtual ~AuditLog() = default;

  // Accepts `record` for writing. UNAVAILABLE("audit log unavailable: ...")
  // when the log cannot take it and is configured to fail closed.
  virtual absl::Status Append(Record record) = 0;

  // OK when Append would accept a record now; otherwise the status Append
  // would return.
  virtual absl::Status Health() const = 0;
};

// Keeps records in memory; its health is whatever the test sets.
class MemoryAuditLog : public AuditLog {
 public:
  absl::Status Append(Record record) override {
    absl::MutexLock lock(&mu_);
    if (!health_.ok()) return health_;
    if (record.time == absl::InfinitePast()) record.time = absl::Now();
    records_.push_back(std::move(record));
    return absl::OkStatus();
  }
  absl::Status Health() const override {
    absl::MutexLock lock(&mu_);
    return health_;
  }
  void SetHealth(absl::Status health) {
    absl::MutexLock lock(&mu_);
    health_ = std::move(health);
  }
  std::vector<Record> records() const {
    absl::MutexLock lock(&mu_);
    return records_;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Status health_ ABSL_GUARDED_BY(mu_);
  std::vector<Record> records_ ABSL_GUARDED_BY(mu_);
};

}  // namespace idsign::audit

#endif  // IDSIGN_SERVICE_AUDIT_AUDIT_LOG_H_
