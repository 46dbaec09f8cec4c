#include "hsm/ckr.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/testing/status_matchers.h"

namespace idsign::hsm {
namespace {

using ::idsign::testing::IsOk;
using ::idsign::testing::StatusIs;
using ::testing::StartsWith;

TEST(CkrNameTest, NamesStandardValues) {
  EXPECT_EQ(CkrName(CKR_OK), "CKR_OK");
  EXPECT_EQ(CkrName(CKR_PIN_INCORRECT), "CKR_PIN_INCORRECT");
  EXPECT_EQ(CkrName(CKR_DEVICE_REMOVED), "CKR_DEVICE_REMOVED");
  EXPECT_EQ(CkrName(CKR_ATTRIBUTE_SENSITIVE), "CKR_ATTRIBUTE_SENSITIVE");
  EXPECT_EQ(CkrName(CKR_KEY_UNEXTRACTABLE), "CKR_KEY_UNEXTRACTABLE");
  EXPECT_EQ(CkrName(CKR_ACTION_PROHIBITED), "CKR_ACTION_PROHIBITED");
  EXPECT_EQ(CkrName(CKR_KEY_SIZE_RANGE), "CKR_KEY_SIZE_RANGE");
  EXPECT_EQ(CkrName(CKR_OBJECT_HANDLE_INVALID), "CKR_OBJECT_HANDLE_INVALID");
  EXPECT_EQ(CkrName(CKR_KEY_HANDLE_INVALID), "CKR_KEY_HANDLE_INVALID");
  EXPECT_EQ(CkrName(CKR_USER_ALREADY_LOGGED_IN), "CKR_USER_ALREADY_LOGGED_IN");
  EXPECT_EQ(CkrName(CKR_FUNCTION_REJECTED), "CKR_FUNCTION_REJECTED");
}

TEST(CkrNameTest, UnknownValuesAreHex) {
  EXPECT_EQ(CkrName(0x00012345), "CKR_0x00012345");
  EXPECT_EQ(CkrName(CKR_VENDOR_DEFINED + 0x2a), "CKR_VENDOR_DEFINED+0x2a");
}

TEST(CkrNameTest, EveryMappedValueHasASymbolicName) {
  // Values that appear in the status table must never print as hex.
  const CK_RV values[] = {
      CKR_DEVICE_ERROR,
      CKR_DEVICE_MEMORY,
      CKR_TOKEN_NOT_PRESENT,
      CKR_SESSION_CLOSED,
      CKR_SESSION_HANDLE_INVALID,
      CKR_USER_NOT_LOGGED_IN,
      CKR_PIN_LOCKED,
      CKR_KEY_NOT_WRAPPABLE,
      CKR_TEMPLATE_INCONSISTENT,
      CKR_MECHANISM_INVALID,
      CKR_KEY_INDIGESTIBLE,
      CKR_OPERATION_ACTIVE,
      CKR_SIGNATURE_INVALID,
      CKR_SIGNATURE_LEN_RANGE,
      CKR_GENERAL_ERROR,
      CKR_FUNCTION_FAILED,
  };
  for (CK_RV rv : values) {
    EXPECT_THAT(CkrName(rv), StartsWith("CKR_")) << rv;
    EXPECT_THAT(CkrName(rv), ::testing::Not(StartsWith("CKR_0x"))) << rv;
  }
}

TEST(CkStatusTest, OkIsOk) { EXPECT_THAT(CkStatus("C_Sign", CKR_OK), IsOk()); }

TEST(CkStatusTest, MessageNamesFunctionAndCkr) {
  absl::Status status = CkStatus("C_Sign", CKR_DEVICE_REMOVED);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "C_Sign: CKR_DEVICE_REMOVED");
}

struct Mapping {
  CK_RV rv;
  absl::StatusCode code;
};

class CkrCodeTest : public ::testing::TestWithParam<Mapping> {};

TEST_P(CkrCodeTest, MapsToDesignTable) {
  EXPECT_EQ(CkrCode(GetParam().rv), GetParam().code) << CkrName(GetParam().rv);
  EXPECT_THAT(CkStatus("C_X", GetParam().rv),
              StatusIs(GetParam().code, "C_X: " + CkrName(GetParam().rv)));
}

INSTANTIATE_TEST_SUITE_P(
    Table, CkrCodeTest,
    ::testing::Values(
        Mapping{CKR_DEVICE_REMOVED, absl::StatusCode::kUnavailable},
        Mapping{CKR_DEVICE_ERROR, absl::StatusCode::kUnavailable},
        Mapping{CKR_TOKEN_NOT_PRESENT, absl::StatusCode::kUnavailable},
        Mapping{CKR_SESSION_HANDLE_INVALID, absl::StatusCode::kUnavailable},
        Mapping{CKR_SESSION_CLOSED, absl::StatusCode::kUnavailable},
        Mapping{CKR_USER_NOT_LOGGED_IN, absl::StatusCode::kUnavailable},
        Mapping{CKR_HOST_MEMORY, absl::StatusCode::kResourceExhausted},
        Mapping{CKR_OBJECT_HANDLE_INVALID, absl::StatusCode::kNotFound},
        Mapping{CKR_KEY_HANDLE_INVALID, absl::StatusCode::kNotFound},
        Mapping{CKR_PIN_INCORRECT, absl::StatusCode::kUnauthenticated},
        Mapping{CKR_PIN_LOCKED, absl::StatusCode::kUnauthenticated},
        Mapping{CKR_ATTRIBUTE_SENSITIVE, absl::StatusCode::kPermissionDenied},
        Mapping{CKR_KEY_UNEXTRACTABLE, absl::StatusCode::kPermissionDenied},
        Mapping{CKR_ACTION_PROHIBITED, absl::StatusCode::kPermissionDenied},
        Mapping{CKR_SESSION_READ_ONLY, absl::StatusCode::kPermissionDenied},
        Mapping{CKR_KEY_SIZE_RANGE, absl::StatusCode::kInvalidArgument},
        Mapping{CKR_TEMPLATE_INCONSISTENT, absl::StatusCode::kInvalidArgument},
        Mapping{CKR_ARGUMENTS_BAD, absl::StatusCode::kInvalidArgument},
        Mapping{CKR_MECHANISM_INVALID, absl::StatusCode::kFailedPrecondition},
        Mapping{CKR_KEY_FUNCTION_NOT_PERMITTED,
                absl::StatusCode::kFailedPrecondition},
        Mapping{CKR_KEY_INDIGESTIBLE, absl::StatusCode::kFailedPrecondition},
        Mapping{CKR_GENERAL_ERROR, absl::StatusCode::kInternal},
        Mapping{CKR_FUNCTION_FAILED, absl::StatusCode::kInternal},
        Mapping{CKR_VENDOR_DEFINED + 1, absl::StatusCode::kInternal}));

TEST(IsSessionFatalTest, SessionAndDeviceFailuresAreFatal) {
  for (CK_RV rv :
       {CKR_DEVICE_REMOVED, CKR_DEVICE_ERROR, CKR_SESSION_CLOSED,
        CKR_SESSION_HANDLE_INVALID, CKR_USER_NOT_LOGGED_IN, CKR_GENERAL_ERROR,
        CKR_FUNCTION_FAILED, CKR_OPERATION_ACTIVE}) {
    EXPECT_TRUE(IsSessionFatal(rv)) << CkrName(rv);
  }
}

TEST(IsSessionFatalTest, PerCallFailuresAreNotFatal) {
  for (CK_RV rv :
       {CKR_OK, CKR_KEY_HANDLE_INVALID, CKR_OBJECT_HANDLE_INVALID,
        CKR_SIGNATURE_INVALID, CKR_ATTRIBUTE_SENSITIVE, CKR_KEY_SIZE_RANGE,
        CKR_ACTION_PROHIBITED, CKR_PIN_INCORRECT, CKR_ARGUMENTS_BAD}) {
    EXPECT_FALSE(IsSessionFatal(rv)) << CkrName(rv);
  }
}

}  // namespace
}  // namespace idsign::hsm
