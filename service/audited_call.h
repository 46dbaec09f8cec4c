// AuditedCall: one RPC's audit record, from arrival to the status it
// finishes with.
//
// With an audit log, it takes the request id from the caller's
// "x-request-id" metadata (letters, digits and ".:_-", at most 64) or makes
// one, echoes it in the response's initial metadata, and records the caller
// (see caller_identity.h: the client certificate's identity under mutual
// TLS, the peer address otherwise). Without one, it does nothing. With an audit
// log configured, Precheck() refuses (UNAVAILABLE) before any signing when the
// log cannot record, and Finish() turns a record the log refused into
// UNAVAILABLE, so no MAC leaves the server without its audit record.
// Records never hold identifiers: only the key, versions, counts, outcome
// and latency.
//
// Thread safety: one AuditedCall per RPC, used by one thread. Ownership:
// borrows the context and the log (which may be null: no auditing).
#ifndef IDSIGN_SERVICE_AUDITED_CALL_H_
#define IDSIGN_SERVICE_AUDITED_CALL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/server_context.h"
#include "service/audit/audit_log.h"

namespace idsign::service {

class AuditedCall {
 public:
  AuditedCall(grpc::CallbackServerContext* context, audit::AuditLog* log,
              absl::string_view operation, absl::string_view key);

  // OK, or the audit log's status when it cannot record.
  absl::Status Precheck() const;

  void set_versions(std::vector<uint32_t> versions) {
    record_.versions = std::move(versions);
  }
  void set_items(uint64_t items, uint64_t failed) {
    record_.items = items;
    record_.failed_items = failed;
  }

  // Records the outcome; returns the status the RPC finishes with.
  absl::Status Finish(absl::Status status);

  const std::string& request_id() const { return record_.request_id; }

 private:
  audit::AuditLog* const log_;
  const absl::Time start_;
  audit::Record record_;
};

}  // namespace idsign::service

#endif  // IDSIGN_SERVICE_AUDITED_CALL_H_
