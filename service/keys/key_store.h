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
#include "service/keys/key_types.h"

namespace idsign::keys {

struct MacResult {
  std::vector<uint8_t> mac;  // 32 bytes, or 20 for kLegacySha1
  uint32_t version = 0;
  Scheme scheme = Scheme::kHmacSha256;
};

struct VerifyResult {
  bool valid = false;
  uint32_t version = 0;  // the version that matched, 0 when !valid
  Scheme scheme = Scheme::kHmacSha256;       // of the matching version
  RolloutMode mode = RolloutMode::kEnforce;  // the key's, valid or not
};

class KeyStore {
 public:
  virtual ~KeyStore() = default;

  // The MAC of `data` under the key's primary version, by that version's
  // scheme. NOT_FOUND for an unknown key; UNAVAILABLE when the token fails;
  // FAILED_PRECONDITION for a legacy-sha1 primary when `use` is kJwt, or
  // when the token refuses to digest a key (CKR_KEY_INDIGESTIBLE, ...).
  virtual absl::StatusOr<MacResult> Sign(absl::string_view key,
                                         absl::string_view data,
                                         MacUse use = MacUse::kUserHash) = 0;

  // Signs every element of `data` with one primary version, in order. Fails
  // as a whole if the token fails part way.
  virtual absl::StatusOr<std::vector<MacResult>> SignMany(
      absl::string_view key, std::span<const absl::string_view> data) = 0;

  // Checks `mac` against each enabled version at or above the key's minimum
  // verify version, newest first: HMAC versions inside the token
  // (C_Verify) when `mac` has 32 bytes, legacy-sha1 versions (digest in the
  // token, constant-time compare here) when it has 20. An empty `mac` is
  // "missing": valid=false without touching the token. kJwt considers HMAC
  // versions only. Always reports the key's rollout mode.
  virtual absl::StatusOr<VerifyResult> Verify(
      absl::string_view key, absl::string_view data,
      std::span<const uint8_t> mac, MacUse use = MacUse::kUserHash) = 0;

  // A snapshot of the keys this store knows, usable or not.
  virtual std::vector<KeyEntry> List() = 0;

  // The token the keys live in.
  virtual hsm::TokenDescription token_description() = 0;
};

}  // namespace idsign::keys

#endif  // IDSIGN_SERVICE_KEYS_KEY_STORE_H_
