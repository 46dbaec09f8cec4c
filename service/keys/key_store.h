// KeyStore: what the gRPC service needs from keys. It signs and verifies with
// logical key names and lists them; it never exposes key bytes or handles.
//
// Thread safety: implementations must be thread-safe. Ownership: callers
// own their arguments; results are values.
#ifndef IDSIGN_SERVICE_KEYS_KEY_STORE_H_
#define IDSIGN_SERVICE_KEYS_KEY_STORE_H_

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hsm/mac.h"
#include "hsm/module.h"
#include "service/keys/catalog.h"

namespace idsign::keys {

struct MacResult {
  hsm::HmacSha256Mac mac;
  uint32_t version = 0;
};

struct VerifyResult {
  bool valid = false;
  uint32_t version = 0;  // the version that matched, 0 when !valid
};

class KeyStore {
 public:
  virtual ~KeyStore() = default;

  // HMAC-SHA256 of `data` under the key's primary version. NOT_FOUND for an
  // unknown key; UNAVAILABLE when the token fails.
  virtual absl::StatusOr<MacResult> Sign(absl::string_view key,
                                         absl::string_view data) = 0;

  // Signs every element of `data` with one primary version, in order. Fails
  // as a whole if the token fails part way.
  virtual absl::StatusOr<std::vector<MacResult>> SignMany(
      absl::string_view key, std::span<const absl::string_view> data) = 0;

  // Checks `mac` against each version of the key, newest first, inside the
  // token.
  virtual absl::StatusOr<VerifyResult> Verify(absl::string_view key,
                                              absl::string_view data,
                                              std::span<const uint8_t> mac) = 0;

  // A snapshot of the keys this store knows, usable or not.
  virtual std::vector<KeyEntry> List() = 0;

  // The token the keys live in.
  virtual hsm::TokenDescription token_description() = 0;
};

}  // namespace idsign::keys

#endif  // IDSIGN_SERVICE_KEYS_KEY_STORE_H_
