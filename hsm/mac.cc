#include "hsm/mac.h"

#include "absl/strings/str_cat.h"
#include "hsm/input_bytes.h"
#include "hsm/status_macros.h"

namespace idsign::hsm {
namespace {

// After a successful C_*Init, a failed C_Sign or C_Verify may leave the
// operation active in the session (SoftHSM2 does for CKR_ARGUMENTS_BAD), so
// the next C_*Init on it would fail with CKR_OPERATION_ACTIVE. Such a
// session is closed instead of going back to the pool.
absl::Status CheckFinalStep(Session& session, const char* function, CK_RV rv) {
  absl::Status status = session.Check(function, rv);
  if (!status.ok()) session.MarkBroken();
  return status;
}

}  // namespace

absl::StatusOr<HmacSha256Mac> HmacSha256(Session& session, CK_OBJECT_HANDLE key,
                                         absl::string_view data) {
  CK_MECHANISM mechanism{CKM_SHA256_HMAC, nullptr, 0};
  RETURN_IF_ERROR(session.Check(
      "C_SignInit",
      session.fn()->C_SignInit(session.handle(), &mechanism, key)));
  HmacSha256Mac mac{};
  CK_ULONG mac_len = mac.size();
  RETURN_IF_ERROR(
      CheckFinalStep(session, "C_Sign",
                     session.fn()->C_Sign(session.handle(), InputBytes(data),
                                          data.size(), mac.data(), &mac_len)));
  if (mac_len != kHmacSha256Size) {
    return absl::InternalError(absl::StrCat(
        "C_Sign returned ", mac_len, " bytes for CKM_SHA256_HMAC, not 32"));
  }
  return mac;
}

absl::StatusOr<bool> VerifyHmacSha256(Session& session, CK_OBJECT_HANDLE key,
                                      absl::string_view data,
                                      std::span<const uint8_t> mac) {
  CK_MECHANISM mechanism{CKM_SHA256_HMAC, nullptr, 0};
  RETURN_IF_ERROR(session.Check(
      "C_VerifyInit",
      session.fn()->C_VerifyInit(session.handle(), &mechanism, key)));
  CK_RV rv =
      session.fn()->C_Verify(session.handle(), InputBytes(data), data.size(),
                             InputBytes(mac.data(), mac.size()), mac.size());
  if (rv == CKR_SIGNATURE_INVALID || rv == CKR_SIGNATURE_LEN_RANGE) {
    return false;
  }
  RETURN_IF_ERROR(CheckFinalStep(session, "C_Verify", rv));
  return true;
}

}  // namespace idsign::hsm
