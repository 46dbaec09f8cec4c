// Catalog: the logical keys found on a token. Each key joins its sealed ring
// (state, provenance) with the key objects behind its versions, and says
// what, if anything, stops idsign from using it.
//
// Thread safety: a Catalog is a plain value; LoadCatalog uses only the
// session it is given. Ownership: values own their data.
#ifndef IDSIGN_SERVICE_KEYS_CATALOG_H_
#define IDSIGN_SERVICE_KEYS_CATALOG_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "hsm/objects.h"
#include "hsm/session_pool.h"
#include "service/keys/key_types.h"
#include "service/keys/ring.pb.h"

namespace idsign::keys {

struct KeyVersionEntry {
  uint32_t version = 0;
  // From the ring: state, created_at, created_by, origin, scheme.
  ring::Version meta;
  // meta.scheme parsed; a version whose scheme idsign does not know is
  // refused (see refusals).
  Scheme scheme = Scheme::kHmacSha256;
  // The token object; absent when destroyed or missing.
  std::optional<hsm::SecretKeyInfo> object;
  // Why this version may not be used: custody-policy violations, a missing
  // object, or an object the ring does not list. Empty when none.
  std::vector<std::string> refusals;

  bool enabled() const { return meta.state() == ring::VERSION_STATE_ENABLED; }
  // Enabled, present and allowed by the policy.
  bool usable() const { return enabled() && object && refusals.empty(); }
};

struct KeyEntry {
  std::string name;
  std::vector<KeyVersionEntry> versions;  // ascending by version
  uint32_t primary_version = 0;
  uint32_t min_verify_version = 1;
  uint64_t generation = 0;
  // From the ring; unset means enforce.
  RolloutMode rollout_mode = RolloutMode::kEnforce;
  // Non-empty when the whole key is refused: no ring, a tampered ring, a key
  // object swapped behind idsign's back.
  std::string problem;

  const KeyVersionEntry* Find(uint32_t version) const;
  const KeyVersionEntry* Primary() const { return Find(primary_version); }
  uint32_t max_version() const {
    return versions.empty() ? 0 : versions.back().version;
  }
};

struct Catalog {
  std::map<std::string, KeyEntry> keys;  // by name
  // Key-object labels that appear on more than one object: such versions
  // are left out, because idsign could not tell which object is meant.
  std::vector<std::string> ambiguous_labels;
};

// Reads every idsign key object and ring visible to `session`, checks the
// rings' seals in the token, and applies the custody policy.
absl::StatusOr<Catalog> LoadCatalog(hsm::Session& session);

}  // namespace idsign::keys

#endif  // IDSIGN_SERVICE_KEYS_CATALOG_H_
