// HMAC-SHA256 computed and verified inside the token (CKM_SHA256_HMAC).
//
// Thread safety: stateless; each call uses the Session it is given, which its
// caller owns. Ownership: none; the key handle must belong to the session's
// token.
#ifndef IDSIGN_HSM_MAC_H_
#define IDSIGN_HSM_MAC_H_

#include <array>
#include <cstdint>
#include <span>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hsm/pkcs11.h"
#include "hsm/session_pool.h"

namespace idsign::hsm {

inline constexpr size_t kHmacSha256Size = 32;
using HmacSha256Mac = std::array<uint8_t, kHmacSha256Size>;

// C_SignInit + C_Sign. Fails with INTERNAL if the token returns anything but
// 32 bytes, so a wrong-length MAC never leaves this layer.
absl::StatusOr<HmacSha256Mac> HmacSha256(Session& session, CK_OBJECT_HANDLE key,
                                         absl::string_view data);

// C_VerifyInit + C_Verify. True for CKR_OK, false for CKR_SIGNATURE_INVALID
// or CKR_SIGNATURE_LEN_RANGE, an error status otherwise.
absl::StatusOr<bool> VerifyHmacSha256(Session& session, CK_OBJECT_HANDLE key,
                                      absl::string_view data,
                                      std::span<const uint8_t> mac);

}  // namespace idsign::hsm

#endif  // IDSIGN_HSM_MAC_H_
