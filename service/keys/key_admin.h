// Key administration straight against a token, for the CLI: create keys,
// add versions, change which version signs and verifies, destroy versions.
// The server never uses it (it needs no write access).
//
// Every change is a read-modify-write of the key's sealed ring (ring.h):
// the ring must verify before it is changed, and is sealed again after.
// New key objects get the locked-down attributes of hsm::ImportHmacKey.
// Object creation is serialised within the process (SoftHSM2 2.6.1 can fail
// on concurrent C_CreateObject). An existing name or version is never
// overwritten; if a ring update fails after a key object was created, the
// object is destroyed again. Run one administrator command at a time per
// key: two processes changing the same ring at once can lose one change.
//
// Thread safety: the functions are thread-safe. Ownership: borrow the Token,
// which must be open read/write.
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
  bool primary = false;
  std::string label;
  std::string object_id;    // raw CKA_ID bytes
  std::string check_value;  // raw: first 3 bytes of SHA-1(stored key)
  size_t secret_bytes = 0;  // bytes given (import) or requested (generate)
  size_t stored_bytes = 0;  // bytes in the token after padding
  Scheme scheme = Scheme::kHmacSha256;
};

// Where a new version's key comes from: a vendor secret, or the token's
// generator; and the scheme the version computes user_hash with.
struct KeySource {
  const hsm::SecretBytes* secret = nullptr;  // import when set
  size_t generate_bytes = 32;                // otherwise generate
  Scheme scheme = Scheme::kHmacSha256;
};

// Creates key `name` with version 1 as primary. For hmac-sha256, a secret
// shorter than the token's minimum CKM_SHA256_HMAC key size is zero-padded
// up to it: HMAC pads keys of at most one block with zeros (RFC 2104), so
// the MACs are identical. A legacy-sha1 secret is stored exactly as given,
// whatever its length (padding would change SHA-1(secret || data)), and
// must be supplied: INVALID_ARGUMENT for a generated legacy-sha1 key.
// ALREADY_EXISTS if the name exists; INVALID_ARGUMENT if the secret is
// empty or longer than the token's maximum HMAC key size. `actor` is
// recorded as created_by.
absl::StatusOr<CreatedKey> CreateKey(hsm::Token& token, absl::string_view name,
                                     const KeySource& source,
                                     absl::string_view actor = "");

// Shorthands for CreateKey.
absl::StatusOr<CreatedKey> ImportKey(hsm::Token& token, absl::string_view name,
                                     const hsm::SecretBytes& secret,
                                     absl::string_view actor = "");
absl::StatusOr<CreatedKey> GenerateKey(hsm::Token& token,
                                       absl::string_view name, size_t bytes,
                                       absl::string_view actor = "");

// Adds the next version to an existing key; it becomes primary only with
// `make_primary`.
absl::StatusOr<CreatedKey> RotateKey(hsm::Token& token, absl::string_view name,
                                     const KeySource& source, bool make_primary,
                                     absl::string_view actor = "");

// Makes `version` the one Sign uses. It must be enabled and allowed by the
// custody policy, and not below the minimum verify version.
absl::Status PromoteVersion(hsm::Token& token, absl::string_view name,
                            uint32_t version, absl::string_view actor = "");

// Verify will accept only versions >= `version` (at most the primary).
absl::Status SetMinVerifyVersion(hsm::Token& token, absl::string_view name,
                                 uint32_t version,
                                 absl::string_view actor = "");

// Sets the key's verification rollout mode (monitor: verifiers count
// failures and deny nothing; enforce: they deny). Kept in the ring, so every
// idsignd sharing the token picks it up at its next reload.
absl::Status SetRolloutMode(hsm::Token& token, absl::string_view name,
                            RolloutMode mode, absl::string_view actor = "");

// A disabled version neither signs nor verifies. The primary cannot be
// disabled. EnableVersion reverses it.
absl::Status DisableVersion(hsm::Token& token, absl::string_view name,
                            uint32_t version, absl::string_view actor = "");
absl::Status EnableVersion(hsm::Token& token, absl::string_view name,
                           uint32_t version, absl::string_view actor = "");

// Destroys the version's key object (C_DestroyObject) and records it as
// destroyed. Refused for the primary version.
absl::Status DestroyVersion(hsm::Token& token, absl::string_view name,
                            uint32_t version, absl::string_view actor = "");

// The keys on the token, read fresh.
absl::StatusOr<Catalog> ReadCatalog(hsm::Token& token);

}  // namespace idsign::keys

#endif  // IDSIGN_SERVICE_KEYS_KEY_ADMIN_H_
