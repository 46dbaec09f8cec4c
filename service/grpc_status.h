// The one place where absl::Status becomes grpc::Status.
//
// Codes in DESIGN.md's table pass through with their message, which never
// holds personal data. Statuses coming from the key store are first
// translated: a token failure or lost login is UNAVAILABLE to callers, with
// a hint to retry; a token refusal FAILED_PRECONDITION. Anything else becomes
// INTERNAL with an incident number; the detail is logged and not sent.
//
// Thread safety: thread-safe. Ownership: none.
#ifndef IDSIGN_SERVICE_GRPC_STATUS_H_
#define IDSIGN_SERVICE_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace idsign::service {

// Maps a status returned by a KeyStore call to the code a caller should see.
absl::Status FromKeyStore(const absl::Status& status);

// Converts at the gRPC edge. `rpc` names the method in the log line.
grpc::Status ToGrpcStatus(const absl::Status& status, absl::string_view rpc);

}  // namespace idsign::service

#endif  // IDSIGN_SERVICE_GRPC_STATUS_H_
