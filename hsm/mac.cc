#include "hsm/mac.h"

#include "absl/strings/str_cat.h"
#include "hsm/status_macros.h"

namespace idsign::hsm {
namespace {

CK_BYTE* Bytes(absl::string_view data) {
  return reinterpret_cast<CK_BYTE*>(const_cast<char*>(data.data()));
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
  RETURN_IF_ERROR(session.Check(
      "C_Sign", session.fn()->C_Sign(session.handle(), Bytes(data), data.size(),
                                     mac.data(), &mac_len)));
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
      session.fn()->C_Verify(session.handle(), Bytes(data), data.size(),
                             const_cast<CK_BYTE*>(mac.data()), mac.size());
  if (rv == CKR_SIGNATURE_INVALID || rv == CKR_SIGNATURE_LEN_RANGE) {
    return false;
  }
  RETURN_IF_ERROR(session.Check("C_Verify", rv));
  return true;
}

}  // namespace idsign::hsm
