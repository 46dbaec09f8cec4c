// SHA-1 over a secret key's value followed by data, computed inside the
// token: C_DigestInit(CKM_SHA_1), C_DigestKey, C_DigestUpdate, C_DigestFinal.
// This is the "legacy-sha1" user_hash scheme, hex(SHA1(secret || data)).
//
// The key value is fed to the digest exactly as stored, so a legacy secret
// must be stored unpadded. Tokens that will not digest a secret key (many
// real HSMs answer CKR_KEY_INDIGESTIBLE) yield FAILED_PRECONDITION saying
// the token does not support legacy-sha1 keys.
//
// Thread safety: stateless; each call uses the Session it is given, which
// its caller owns. Ownership: none; the key handle must belong to the
// session's token.
#ifndef IDSIGN_HSM_DIGEST_H_
#define IDSIGN_HSM_DIGEST_H_

#include <array>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hsm/pkcs11.h"
#include "hsm/session_pool.h"

namespace idsign::hsm {

inline constexpr size_t kSha1Size = 20;
using Sha1Digest = std::array<uint8_t, kSha1Size>;

// SHA-1(value of `key` || data). FAILED_PRECONDITION naming the CKR_ code
// when the token refuses to digest the key or lacks CKM_SHA_1
// (CKR_KEY_INDIGESTIBLE, CKR_FUNCTION_NOT_SUPPORTED, CKR_MECHANISM_INVALID);
// INTERNAL if the token returns anything but 20 bytes, so a wrong-length
// digest never leaves this layer. Other failures come from Session::Check.
absl::StatusOr<Sha1Digest> Sha1KeyThenData(Session& session,
                                           CK_OBJECT_HANDLE key,
                                           absl::string_view data);

}  // namespace idsign::hsm

#endif  // IDSIGN_HSM_DIGEST_H_
