// Small value types shared by the key catalog and the KeyStore interface.
//
// Thread safety: plain values. Ownership: none.
#ifndef IDSIGN_SERVICE_KEYS_KEY_TYPES_H_
#define IDSIGN_SERVICE_KEYS_KEY_TYPES_H_

namespace idsign::keys {

// How a key version turns data into a user_hash; kept per version in the
// ring ("hmac-sha256", "legacy-sha1").
enum class Scheme {
  kHmacSha256,  // HMAC-SHA256(secret, data): 32 bytes
  kLegacySha1,  // SHA-1(secret || data) via C_DigestKey: 20 bytes
};

// What the MAC is for. kJwt refuses legacy-sha1 versions with
// FAILED_PRECONDITION: a JWT is HS256 only.
enum class MacUse { kUserHash, kJwt };

// A key's verification rollout stage, kept in its ring. Unset means enforce.
enum class RolloutMode { kEnforce, kMonitor };

}  // namespace idsign::keys

#endif  // IDSIGN_SERVICE_KEYS_KEY_TYPES_H_
