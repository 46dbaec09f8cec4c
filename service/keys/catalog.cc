#include "service/keys/catalog.h"

#include <algorithm>
#include <set>
#include <utility>

#include "hsm/status_macros.h"
#include "service/keys/key_name.h"

namespace idsign::keys {

const KeyVersionEntry* KeyEntry::Find(uint32_t version) const {
  for (const KeyVersionEntry& entry : versions) {
    if (entry.version == version) return &entry;
  }
  return nullptr;
}

absl::StatusOr<Catalog> LoadCatalog(hsm::Session& session) {
  ASSIGN_OR_RETURN(std::vector<hsm::SecretKeyInfo> objects,
                   hsm::ListSecretKeys(session));
  std::map<std::string, int> label_count;
  for (const hsm::SecretKeyInfo& object : objects) ++label_count[object.label];

  Catalog catalog;
  std::set<std::string> ambiguous;
  for (hsm::SecretKeyInfo& object : objects) {
    std::optional<ParsedLabel> parsed = ParseObjectLabel(object.label);
    if (!parsed) continue;
    if (label_count[object.label] > 1) {
      ambiguous.insert(object.label);
      continue;
    }
    KeyEntry& key = catalog.keys[parsed->name];
    key.name = parsed->name;
    key.versions.push_back({parsed->version, std::move(object)});
  }
  for (auto& [name, key] : catalog.keys) {
    std::sort(key.versions.begin(), key.versions.end(),
              [](const KeyVersionEntry& a, const KeyVersionEntry& b) {
                return a.version < b.version;
              });
    key.primary_version = key.versions.back().version;
  }
  catalog.ambiguous_labels.assign(ambiguous.begin(), ambiguous.end());
  return catalog;
}

}  // namespace idsign::keys
