// Secret-key objects on a token: find, inspect, import, generate, destroy.
//
// Import and generate set every attribute explicitly, because SoftHSM2's
// defaults are unsafe: the key is a private token object, sensitive, usable
// only for CKA_SIGN/CKA_VERIFY, not extractable, not modifiable and not
// copyable (see docs/decisions.md). CKA_VALUE_LEN is never sent with
// C_CreateObject.
//
// Thread safety: the functions are stateless; each uses the Session it is
// given, which its caller owns. Ownership: none.
#ifndef IDSIGN_HSM_OBJECTS_H_
#define IDSIGN_HSM_OBJECTS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hsm/pkcs11.h"
#include "hsm/secret.h"
#include "hsm/session_pool.h"

namespace idsign::hsm {

// What a secret key object says about itself. A boolean is nullopt when the
// token would not report it.
struct SecretKeyInfo {
  CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
  std::string label;
  std::string id;  // raw CKA_ID bytes
  CK_KEY_TYPE key_type = CKK_GENERIC_SECRET;
  std::optional<CK_ULONG> value_len;
  std::string check_value;  // raw CKA_CHECK_VALUE bytes, empty if absent
  std::optional<bool> token, is_private, sensitive, always_sensitive,
      extractable, never_extractable, modifiable, copyable, local;
  std::optional<bool> sign, verify, encrypt, decrypt, wrap, unwrap, derive;
};

// "CKK_GENERIC_SECRET", "CKK_SHA256_HMAC", ...; unknown types in hex.
std::string KeyTypeName(CK_KEY_TYPE type);

// The bytes of attribute `type` of object `handle`; nullopt when the token
// does not report it (CKR_ATTRIBUTE_TYPE_INVALID, CKR_ATTRIBUTE_SENSITIVE,
// or CK_UNAVAILABLE_INFORMATION).
absl::StatusOr<std::optional<std::string>> ReadBytesAttribute(
    Session& session, CK_OBJECT_HANDLE handle, CK_ATTRIBUTE_TYPE type);

// Reads the attributes of one secret key object.
absl::StatusOr<SecretKeyInfo> ReadSecretKeyInfo(Session& session,
                                                CK_OBJECT_HANDLE handle);

// Handles of the objects matching `tmpl` (C_FindObjects*).
absl::StatusOr<std::vector<CK_OBJECT_HANDLE>> FindObjects(
    Session& session, std::vector<CK_ATTRIBUTE> tmpl);

// Every secret key object visible to the session: token objects, and
// session objects of this process (which the custody policy refuses).
absl::StatusOr<std::vector<SecretKeyInfo>> ListSecretKeys(Session& session);

// Handles of the secret key objects whose CKA_LABEL equals `label`.
absl::StatusOr<std::vector<CK_OBJECT_HANDLE>> FindSecretKeysByLabel(
    Session& session, absl::string_view label);

struct NewKey {
  std::string label;
  std::string id;  // raw CKA_ID bytes
};

// Creates an HMAC key object holding exactly `value`.
absl::StatusOr<CK_OBJECT_HANDLE> ImportHmacKey(Session& session,
                                               const NewKey& key,
                                               const SecretBytes& value);

// Generates a `bytes`-long key inside the token (CKM_GENERIC_SECRET_KEY_GEN).
absl::StatusOr<CK_OBJECT_HANDLE> GenerateHmacKey(Session& session,
                                                 const NewKey& key,
                                                 size_t bytes);

absl::Status DestroyObject(Session& session, CK_OBJECT_HANDLE handle);

// `size` bytes from the token's RNG.
absl::StatusOr<std::string> GenerateRandom(Session& session, size_t size);

// A digest computed by the token, e.g. CKM_SHA_1.
absl::StatusOr<std::string> Digest(Session& session,
                                   CK_MECHANISM_TYPE mechanism,
                                   absl::string_view data);

}  // namespace idsign::hsm

#endif  // IDSIGN_HSM_OBJECTS_H_
