#include "service/grpc_status.h"

#include <atomic>
#include <string>

#include "absl/strings/str_cat.h"
#include "hsm/log.h"

namespace idsign::service {

absl::Status FromKeyStore(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated:
      return absl::UnavailableError(
          absl::StrCat("signing token login lost: ", status.message()));
    case absl::StatusCode::kUnavailable:
      // The bare "C_Sign: CKR_DEVICE_REMOVED" tells a caller neither what
      // failed nor what to do.
      return absl::UnavailableError(
          absl::StrCat("the signing token is unavailable (", status.message(),
                       "); retry later"));
    case absl::StatusCode::kPermissionDenied:
      return absl::FailedPreconditionError(
          absl::StrCat("the token refused the operation: ", status.message()));
    default:
      return status;
  }
}

grpc::Status ToGrpcStatus(const absl::Status& status, absl::string_view rpc) {
  std::string message(status.message());
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return grpc::Status::OK;
    case absl::StatusCode::kInvalidArgument:
      return {grpc::StatusCode::INVALID_ARGUMENT, message};
    case absl::StatusCode::kNotFound:
      return {grpc::StatusCode::NOT_FOUND, message};
    case absl::StatusCode::kPermissionDenied:
      return {grpc::StatusCode::PERMISSION_DENIED, message};
    case absl::StatusCode::kUnauthenticated:
      return {grpc::StatusCode::UNAUTHENTICATED, message};
    case absl::StatusCode::kUnavailable:
      return {grpc::StatusCode::UNAVAILABLE, message};
    case absl::StatusCode::kResourceExhausted:
      return {grpc::StatusCode::RESOURCE_EXHAUSTED, message};
    case absl::StatusCode::kFailedPrecondition:
      return {grpc::StatusCode::FAILED_PRECONDITION, message};
    case absl::StatusCode::kDeadlineExceeded:
      return {grpc::StatusCode::DEADLINE_EXCEEDED, message};
    case absl::StatusCode::kCancelled:
      return {grpc::StatusCode::CANCELLED, message};
    default:
      break;
  }
  static std::atomic<uint64_t> incidents{0};
  const uint64_t incident = ++incidents;
  log::Error("internal_error",
             absl::StrCat("rpc=", rpc, " incident=", incident,
                          " detail=", log::Quote(status.ToString())));
  return {grpc::StatusCode::INTERNAL,
          absl::StrCat("internal error (incident ", incident,
                       " in the server log)")};
}

}  // namespace idsign::service
