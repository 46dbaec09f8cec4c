// Catalog: the logical keys found on a token, each with its versions and the
// attributes of the token object behind each version.
//
// Thread safety: a Catalog is a plain value; LoadCatalog uses only the
// session it is given. Ownership: values own their data.
#ifndef IDSIGN_SERVICE_KEYS_CATALOG_H_
#define IDSIGN_SERVICE_KEYS_CATALOG_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "hsm/objects.h"
#include "hsm/session_pool.h"

namespace idsign::keys {

struct KeyVersionEntry {
  uint32_t version = 0;
  hsm::SecretKeyInfo object;
};

struct KeyEntry {
  std::string name;
  std::vector<KeyVersionEntry> versions;  // ascending by version
  uint32_t primary_version = 0;           // the highest version

  const KeyVersionEntry* Find(uint32_t version) const;
  const KeyVersionEntry* Primary() const { return Find(primary_version); }
};

struct Catalog {
  std::map<std::string, KeyEntry> keys;  // by name
  // Labels that appear on more than one object: such versions are left out,
  // because idsign could not tell which object is meant.
  std::vector<std::string> ambiguous_labels;
};

// Reads every idsign key object visible to `session`.
absl::StatusOr<Catalog> LoadCatalog(hsm::Session& session);

}  // namespace idsign::keys

#endif  // IDSIGN_SERVICE_KEYS_CATALOG_H_
