// Key administration straight against a token: import a vendor secret as a
// new key, generate one inside the token, list what exists. The CLI uses it;
// the server never does (it needs no write access).
//
// Object creation is serialised within the process (SoftHSM2 2.6.1 can fail
// on concurrent C_CreateObject). An existing name is never overwritten: the
// name is checked first, and if a concurrent writer created the same label
// meanwhile, the new object is destroyed again and the call fails.
//
// Thread safety: the functions are thread-safe. Ownership: borrow the Token.
#ifndef IDSIGN_SERVICE_KEYS_KEY_ADMIN_H_
#define IDSIGN_SERVICE_KEYS_KEY_ADMIN_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hsm/secret.h"
#include "hsm/token.h"
#include "service/keys/catalog.h"

namespace idsign::keys {

struct CreatedKey {
  std::string name;
  uint32_t version = 0;
  std::string label;
  std::string object_id;    // raw CKA_ID bytes
  std::string check_value;  // raw: first 3 bytes of SHA-1(stored key)
  size_t secret_bytes = 0;  // bytes given (import) or requested (generate)
  size_t stored_bytes = 0;  // bytes in the token after padding
};

// Imports `secret` as version 1 of `name`. A secret shorter than the token's
// minimum CKM_SHA256_HMAC key size is zero-padded up to it: HMAC pads keys of
// at most one block with zeros (RFC 2104), so the MACs are identical.
// ALREADY_EXISTS if the name exists; INVALID_ARGUMENT if the secret is empty
// or longer than the token's maximum.
absl::StatusOr<CreatedKey> ImportKey(hsm::Token& token, absl::string_view name,
                                     const hsm::SecretBytes& secret);

// Generates a `bytes`-long key inside the token as version 1 of `name`.
absl::StatusOr<CreatedKey> GenerateKey(hsm::Token& token,
                                       absl::string_view name, size_t bytes);

// The keys on the token, read fresh.
absl::StatusOr<Catalog> ReadCatalog(hsm::Token& token);

}  // namespace idsign::keys

#endif  // IDSIGN_SERVICE_KEYS_KEY_ADMIN_H_
