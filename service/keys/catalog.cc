#include "service/keys/catalog.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "hsm/status_macros.h"
#include "service/keys/key_name.h"
#include "service/keys/policy.h"
#include "service/keys/ring.h"
#include "service/keys/scheme.h"

namespace idsign::keys {
namespace {

using ObjectMap =
    std::map<std::pair<std::string, uint32_t>, hsm::SecretKeyInfo>;

// Fills `key` from its unsealed ring state and the objects found on the
// token, consuming the objects it uses.
void JoinRing(const ring::State& state, ObjectMap& objects, KeyEntry& key) {
  key.primary_version = state.primary_version();
  key.min_verify_version = std::max<uint32_t>(1, state.min_verify_version());
  key.generation = state.generation();
  key.rollout_mode = state.rollout_mode() == ring::ROLLOUT_MODE_MONITOR
                         ? RolloutMode::kMonitor
                         : RolloutMode::kEnforce;
  for (const ring::Version& meta : state.versions()) {
    KeyVersionEntry entry;
    entry.version = meta.version();
    entry.meta = meta;
    auto it = objects.find({key.name, meta.version()});
    if (it != objects.end()) {
      entry.object = std::move(it->second);
      objects.erase(it);
    }
    if (meta.state() == ring::VERSION_STATE_DESTROYED) {
      if (entry.object)
        entry.refusals.push_back("destroyed, yet its object exists");
    } else if (!entry.object) {
      entry.refusals.push_back("its key object is missing from the token");
    } else {
      const hsm::SecretKeyInfo& object = *entry.object;
      if (object.id != meta.object_id() ||
          (!object.check_value.empty() &&
           object.check_value != meta.check_value())) {
        key.problem = absl::StrCat(
            "the key object of version ", meta.version(),
            " is not the one the ring recorded (CKA_ID or check value "
            "differ): it was replaced behind idsign's back");
      }
      entry.refusals = PolicyViolations(object);
    }
    std::optional<Scheme> scheme = ParseScheme(meta.scheme());
    if (scheme.has_value()) {
      entry.scheme = *scheme;
    } else {
      entry.refusals.push_back(
          absl::StrCat("its scheme \"", meta.scheme(),
                       "\" is unknown to this version of idsign"));
    }
    key.versions.push_back(std::move(entry));
  }
}

}  // namespace

const KeyVersionEntry* KeyEntry::Find(uint32_t version) const {
  for (const KeyVersionEntry& entry : versions) {
    if (entry.version == version) return &entry;
  }
  return nullptr;
}

absl::StatusOr<Catalog> LoadCatalog(hsm::Session& session) {
  ASSIGN_OR_RETURN(std::vector<hsm::SecretKeyInfo> secret_keys,
                   hsm::ListSecretKeys(session));
  std::map<std::string, int> label_count;
  for (const hsm::SecretKeyInfo& object : secret_keys) {
    ++label_count[object.label];
  }
  Catalog catalog;
  std::set<std::string> ambiguous;
  ObjectMap objects;
  for (hsm::SecretKeyInfo& object : secret_keys) {
    std::optional<ParsedLabel> parsed = ParseObjectLabel(object.label);
    if (!parsed) continue;
    if (label_count[object.label] > 1) {
      ambiguous.insert(object.label);
      continue;
    }
    objects[{parsed->name, parsed->version}] = std::move(object);
  }
  catalog.ambiguous_labels.assign(ambiguous.begin(), ambiguous.end());

  ASSIGN_OR_RETURN(std::vector<StoredRing> rings, ListRings(session));
  absl::StatusOr<CK_OBJECT_HANDLE> ring_key = FindRingKey(session);
  if (!ring_key.ok() && !absl::IsNotFound(ring_key.status()) &&
      !absl::IsFailedPrecondition(ring_key.status())) {
    return ring_key.status();
  }
  std::map<std::string, std::vector<const StoredRing*>> by_name;
  for (const StoredRing& stored : rings) {
    if (ValidateKeyName(stored.name).ok())
      by_name[stored.name].push_back(&stored);
  }
  for (const auto& [name, candidates] : by_name) {
    KeyEntry& key = catalog.keys[name];
    key.name = name;
    if (!ring_key.ok()) {
      key.problem = absl::StrCat("its ring cannot be checked: ",
                                 ring_key.status().message());
      continue;
    }
    absl::StatusOr<CurrentRing> current =
        SelectRing(session, *ring_key, candidates);
    if (!current.ok()) {
      if (!absl::IsFailedPrecondition(current.status())) {
        return current.status();
      }
      key.problem = std::string(current.status().message());
      continue;
    }
    JoinRing(current->state, objects, key);
  }

  // Key objects no ring lists: shown, never used.
  for (auto& [id, object] : objects) {
    KeyEntry& key = catalog.keys[id.first];
    key.name = id.first;
    if (key.problem.empty() && key.primary_version == 0) {
      key.problem =
          "it has no key ring in the token: it was not created by idsign";
    }
    KeyVersionEntry entry;
    entry.version = id.second;
    entry.refusals = PolicyViolations(object);
    entry.refusals.insert(entry.refusals.begin(),
                          "its key ring does not list it");
    entry.object = std::move(object);
    key.versions.push_back(std::move(entry));
  }
  for (auto& [name, key] : catalog.keys) {
    std::sort(key.versions.begin(), key.versions.end(),
              [](const KeyVersionEntry& a, const KeyVersionEntry& b) {
                return a.version < b.version;
              });
  }
  return catalog;
}

}  // namespace idsign::keys
