#include "service/grpc_status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace idsign::service {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(ToGrpcStatusTest, OkIsOk) {
  grpc::Status status = ToGrpcStatus(absl::OkStatus(), "Sign");
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.error_message(), "");
}

TEST(ToGrpcStatusTest, DesignTableCodesPassThroughWithTheirMessage) {
  const std::vector<std::pair<absl::StatusCode, grpc::StatusCode>> table = {
      {absl::StatusCode::kInvalidArgument, grpc::StatusCode::INVALID_ARGUMENT},
      {absl::StatusCode::kNotFound, grpc::StatusCode::NOT_FOUND},
      {absl::StatusCode::kPermissionDenied,
       grpc::StatusCode::PERMISSION_DENIED},
      {absl::StatusCode::kUnauthenticated, grpc::StatusCode::UNAUTHENTICATED},
      {absl::StatusCode::kUnavailable, grpc::StatusCode::UNAVAILABLE},
      {absl::StatusCode::kResourceExhausted,
       grpc::StatusCode::RESOURCE_EXHAUSTED},
      {absl::StatusCode::kFailedPrecondition,
       grpc::StatusCode::FAILED_PRECONDITION},
      {absl::StatusCode::kDeadlineExceeded,
       grpc::StatusCode::DEADLINE_EXCEEDED},
      {absl::StatusCode::kCancelled, grpc::StatusCode::CANCELLED},
  };
  for (const auto& [absl_code, grpc_code] : table) {
    const std::string message =
        "message for " + absl::StatusCodeToString(absl_code);
    grpc::Status status =
        ToGrpcStatus(absl::Status(absl_code, message), "Sign");
    EXPECT_EQ(status.error_code(), grpc_code)
        << absl::StatusCodeToString(absl_code);
    EXPECT_EQ(status.error_message(), message);
  }
}

// Anything outside the table becomes INTERNAL; the detail stays in the log.
TEST(ToGrpcStatusTest, OtherCodesBecomeInternalAndHideTheDetail) {
  for (absl::StatusCode code :
       {absl::StatusCode::kInternal, absl::StatusCode::kUnknown,
        absl::StatusCode::kDataLoss, absl::StatusCode::kAborted,
        absl::StatusCode::kAlreadyExists, absl::StatusCode::kOutOfRange,
        absl::StatusCode::kUnimplemented}) {
    grpc::Status status = ToGrpcStatus(
        absl::Status(code, "C_Sign: CKR_GENERAL_ERROR secret-detail"),
        "BatchSign");
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL)
        << absl::StatusCodeToString(code);
    EXPECT_THAT(status.error_message(),
                AllOf(HasSubstr("internal error"), HasSubstr("incident"),
                      Not(HasSubstr("CKR_")), Not(HasSubstr("secret-detail")),
                      Not(HasSubstr("C_Sign"))));
  }
}

TEST(ToGrpcStatusTest, EachInternalErrorGetsItsOwnIncident) {
  grpc::Status first = ToGrpcStatus(absl::InternalError("a"), "Sign");
  grpc::Status second = ToGrpcStatus(absl::InternalError("a"), "Sign");
  EXPECT_EQ(first.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(second.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_NE(first.error_message(), second.error_message());
}

TEST(FromKeyStoreTest, LostLoginIsUnavailable) {
  absl::Status status =
      FromKeyStore(absl::UnauthenticatedError("C_SignInit: CKR_PIN_EXPIRED"));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(
      std::string(status.message()),
      AllOf(HasSubstr("login lost"), HasSubstr("C_SignInit: CKR_PIN_EXPIRED")));
}

TEST(FromKeyStoreTest, TokenRefusalIsFailedPrecondition) {
  absl::Status status = FromKeyStore(
      absl::PermissionDeniedError("C_SignInit: CKR_ACTION_PROHIBITED"));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()),
              AllOf(HasSubstr("refused"),
                    HasSubstr("C_SignInit: CKR_ACTION_PROHIBITED")));
}

// A caller learns that the token failed, why, and that a retry may work.
TEST(FromKeyStoreTest, TokenFailureIsUnavailableWithCauseAndRetryHint) {
  absl::Status status =
      FromKeyStore(absl::UnavailableError("C_Sign: CKR_DEVICE_REMOVED"));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(
      std::string(status.message()),
      AllOf(HasSubstr("signing token is unavailable"),
            HasSubstr("C_Sign: CKR_DEVICE_REMOVED"), HasSubstr("retry")));
}

TEST(FromKeyStoreTest, OtherStatusesPassThroughUnchanged) {
  for (const absl::Status& status :
       {absl::OkStatus(), absl::NotFoundError("key \"a\" not found"),
        absl::ResourceExhaustedError("all 4 HSM sessions stayed busy"),
        absl::InvalidArgumentError("bad"),
        absl::FailedPreconditionError("C_SignInit: CKR_KEY_TYPE_INCONSISTENT"),
        absl::InternalError("C_Sign returned 20 bytes")}) {
    EXPECT_EQ(FromKeyStore(status), status) << status;
  }
}

// What a caller finally sees for the key store's failure modes.
TEST(FromKeyStoreTest, EndToEndCodesAtTheEdge) {
  EXPECT_EQ(ToGrpcStatus(FromKeyStore(absl::UnauthenticatedError("x")), "Sign")
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ToGrpcStatus(FromKeyStore(absl::PermissionDeniedError("x")), "Sign")
                .error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(
      ToGrpcStatus(FromKeyStore(absl::NotFoundError("x")), "Sign").error_code(),
      grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace idsign::service
