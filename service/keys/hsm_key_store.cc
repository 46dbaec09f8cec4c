#include "service/keys/hsm_key_store.h"

#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "hsm/digest.h"
#include "hsm/log.h"
#include "hsm/status_macros.h"
#include "service/keys/scheme.h"

namespace idsign::keys {
namespace {

absl::Status UnknownKey(absl::string_view key) {
  return absl::NotFoundError(absl::StrCat(
      "key \"", key, "\" not found; ListKeys shows the keys this server has"));
}

absl::Status RefusedVersion(const KeyEntry& key, const KeyVersionEntry& entry,
                            absl::string_view role) {
  if (!entry.enabled()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the ", role, " version ", entry.version, " of key \"",
                     key.name, "\" is not enabled"));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("version ", entry.version, " of key \"", key.name,
                   "\" is refused by the custody policy: ",
                   absl::StrJoin(entry.refusals, "; ")));
}

// A key's last good state may stand in for a broken ring only while the key
// objects it uses are still on the token, unchanged. An object that was
// replaced or removed must be refused, not served through a stale handle.
bool ObjectsUnchanged(const KeyEntry& last_good, const KeyEntry& fresh) {
  for (const KeyVersionEntry& old : last_good.versions) {
    if (!old.object) continue;
    const KeyVersionEntry* now = fresh.Find(old.version);
    if (now == nullptr || !now->object ||
        now->object->handle != old.object->handle ||
        now->object->id != old.object->id ||
        now->object->check_value != old.object->check_value) {
      return false;
    }
  }
  return true;
}

absl::Status RefusedKey(const KeyEntry& key) {
  // The custody policy's verdict on its objects matters too: whoever must
  // fix the key needs every reason, not only the first.
  std::string versions;
  for (const KeyVersionEntry& entry : key.versions) {
    if (entry.refusals.empty()) continue;
    absl::StrAppend(&versions, "; version ", entry.version, ": ",
                    absl::StrJoin(entry.refusals, "; "));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "key \"", key.name, "\" cannot be used: ", key.problem, versions));
}

// The user_hash of `data` under one key object, by its scheme.
absl::StatusOr<std::vector<uint8_t>> Mac(hsm::Session& session, Scheme scheme,
                                         CK_OBJECT_HANDLE handle,
                                         absl::string_view data) {
  if (scheme == Scheme::kLegacySha1) {
    ASSIGN_OR_RETURN(hsm::Sha1Digest digest,
                     hsm::Sha1KeyThenData(session, handle, data));
    return std::vector<uint8_t>(digest.begin(), digest.end());
  }
  ASSIGN_OR_RETURN(hsm::HmacSha256Mac mac,
                   hsm::HmacSha256(session, handle, data));
  return std::vector<uint8_t>(mac.begin(), mac.end());
}

// Equal without a data-dependent early exit, so the time a wrong MAC takes
// does not tell an attacker how many leading bytes were right.
bool ConstantTimeEqual(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  volatile uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = diff | (a[i] ^ b[i]);
  return diff == 0;
}

// Whether `mac` is `version`'s user_hash of `data`. HMAC is verified by the
// token (C_Verify). A legacy-sha1 value has no PKCS#11 verify operation
// (CKM_SHA_1 is a digest, not a signature mechanism), so the token computes
// the digest and it is compared here.
absl::StatusOr<bool> Matches(hsm::Session& session,
                             const KeyVersionEntry& version,
                             absl::string_view data,
                             std::span<const uint8_t> mac) {
  if (version.scheme == Scheme::kLegacySha1) {
    ASSIGN_OR_RETURN(
        hsm::Sha1Digest digest,
        hsm::Sha1KeyThenData(session, version.object->handle, data));
    return ConstantTimeEqual(digest, mac);
  }
  return hsm::VerifyHmacSha256(session, version.object->handle, data, mac);
}

}  // namespace

absl::StatusOr<std::unique_ptr<HsmKeyStore>> HsmKeyStore::Create(
    hsm::Token* token, Options options) {
  std::unique_ptr<HsmKeyStore> store(new HsmKeyStore(token, options));
  RETURN_IF_ERROR(store->Reload());
  return store;
}

absl::Status HsmKeyStore::Reload() {
  absl::MutexLock reload(&reload_mu_);
  ASSIGN_OR_RETURN(hsm::Session session, token_->Acquire());
  ASSIGN_OR_RETURN(Catalog catalog, LoadCatalog(session));
  for (const std::string& label : catalog.ambiguous_labels) {
    log::Warning("key_object_ambiguous",
                 absl::StrCat("label=", log::Quote(label)));
  }
  std::shared_ptr<const Catalog> previous = Current();
  for (auto& [name, key] : catalog.keys) {
    if (key.problem.empty()) continue;
    auto last = previous ? previous->keys.find(name)
                         : std::map<std::string, KeyEntry>::const_iterator();
    if (previous && last != previous->keys.end() &&
        last->second.problem.empty() && ObjectsUnchanged(last->second, key)) {
      log::Error("key_ring_broken",
                 absl::StrCat("key=", log::Quote(name),
                              " action=keep_last_good reason=",
                              log::Quote(key.problem)));
      key = last->second;
    } else {
      log::Error("key_refused",
                 absl::StrCat("key=", log::Quote(name),
                              " reason=", log::Quote(key.problem)));
    }
  }
  auto fresh = std::make_shared<const Catalog>(std::move(catalog));
  const bool changed =
      previous == nullptr || previous->keys.size() != fresh->keys.size();
  log::Write(changed ? log::Level::kInfo : log::Level::kDebug, "keys_loaded",
             absl::StrCat("count=", fresh->keys.size()));
  absl::MutexLock lock(&mu_);
  catalog_ = std::move(fresh);
  return absl::OkStatus();
}

std::shared_ptr<const Catalog> HsmKeyStore::Current() {
  absl::ReaderMutexLock lock(&mu_);
  return catalog_;
}

size_t HsmKeyStore::key_count() {
  std::shared_ptr<const Catalog> catalog = Current();
  return catalog ? catalog->keys.size() : 0;
}

std::vector<std::string> HsmKeyStore::Problems() {
  std::vector<std::string> problems;
  for (const auto& [name, key] : Current()->keys) {
    if (!key.problem.empty()) {
      problems.push_back(absl::StrCat(name, ": ", key.problem));
      continue;
    }
    for (const KeyVersionEntry& entry : key.versions) {
      if (!entry.refusals.empty() &&
          entry.meta.state() != ring::VERSION_STATE_DESTROYED) {
        problems.push_back(absl::StrCat(name, " v", entry.version, ": ",
                                        absl::StrJoin(entry.refusals, "; ")));
      }
    }
  }
  return problems;
}

std::vector<KeyEntry> HsmKeyStore::List() {
  std::vector<KeyEntry> keys;
  for (const auto& [name, key] : Current()->keys) keys.push_back(key);
  return keys;
}

absl::StatusOr<std::shared_ptr<const Catalog>> HsmKeyStore::Snapshot(
    absl::string_view key) {
  std::shared_ptr<const Catalog> catalog = Current();
  if (catalog->keys.count(std::string(key)) > 0) return catalog;
  bool reload = false;
  {
    absl::MutexLock lock(&reload_mu_);
    const absl::Time now = absl::Now();
    if (now - last_unknown_reload_ >= options_.unknown_key_reload_interval) {
      last_unknown_reload_ = now;
      reload = true;
    }
  }
  if (reload) {
    log::Info("key_unknown", "action=reload");
    RETURN_IF_ERROR(Reload());
    catalog = Current();
    if (catalog->keys.count(std::string(key)) > 0) return catalog;
  }
  return UnknownKey(key);
}

absl::StatusOr<HsmKeyStore::PrimaryVersion> HsmKeyStore::Primary(
    absl::string_view key, MacUse use) {
  ASSIGN_OR_RETURN(std::shared_ptr<const Catalog> catalog, Snapshot(key));
  const KeyEntry& entry = catalog->keys.at(std::string(key));
  if (!entry.problem.empty()) return RefusedKey(entry);
  const KeyVersionEntry* primary = entry.Primary();
  if (primary == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("key \"", key, "\" has no primary version; promote one"));
  }
  if (!primary->usable()) return RefusedVersion(entry, *primary, "primary");
  if (use == MacUse::kJwt && primary->scheme != Scheme::kHmacSha256) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the primary version ", primary->version, " of key \"", key, "\" is ",
        SchemeName(primary->scheme),
        "; a JWT is signed with HS256 only: promote an hmac-sha256 version "
        "or use another key"));
  }
  return PrimaryVersion{primary->version, primary->object->handle,
                        primary->scheme};
}

template <typename Op>
auto HsmKeyStore::WithReloadOnStaleHandle(Op op) -> decltype(op()) {
  auto result = op();
  // A stale handle (the object was replaced behind our back) maps to
  // NOT_FOUND from the hsm layer; an unknown key never reaches the token.
  if (!result.ok() && absl::IsNotFound(result.status()) &&
      absl::StrContains(result.status().message(), "HANDLE_INVALID")) {
    log::Warning("key_handle_stale", "action=reload");
    RETURN_IF_ERROR(Reload());
    result = op();
  }
  return result;
}

absl::StatusOr<MacResult> HsmKeyStore::Sign(absl::string_view key,
                                            absl::string_view data,
                                            MacUse use) {
  return WithReloadOnStaleHandle([&]() -> absl::StatusOr<MacResult> {
    ASSIGN_OR_RETURN(PrimaryVersion primary, Primary(key, use));
    ASSIGN_OR_RETURN(hsm::Session session, token_->Acquire());
    ASSIGN_OR_RETURN(std::vector<uint8_t> mac,
                     Mac(session, primary.scheme, primary.handle, data));
    return MacResult{std::move(mac), primary.version, primary.scheme};
  });
}

absl::StatusOr<std::vector<MacResult>> HsmKeyStore::SignMany(
    absl::string_view key, std::span<const absl::string_view> data) {
  return WithReloadOnStaleHandle(
      [&]() -> absl::StatusOr<std::vector<MacResult>> {
        ASSIGN_OR_RETURN(PrimaryVersion primary,
                         Primary(key, MacUse::kUserHash));
        ASSIGN_OR_RETURN(hsm::Session session, token_->Acquire());
        std::vector<MacResult> results;
        results.reserve(data.size());
        for (absl::string_view item : data) {
          ASSIGN_OR_RETURN(std::vector<uint8_t> mac,
                           Mac(session, primary.scheme, primary.handle, item));
          results.push_back({std::move(mac), primary.version, primary.scheme});
        }
        return results;
      });
}

absl::StatusOr<VerifyResult> HsmKeyStore::Verify(absl::string_view key,
                                                 absl::string_view data,
                                                 std::span<const uint8_t> mac,
                                                 MacUse use) {
  return WithReloadOnStaleHandle([&]() -> absl::StatusOr<VerifyResult> {
    ASSIGN_OR_RETURN(std::shared_ptr<const Catalog> catalog, Snapshot(key));
    const KeyEntry& entry = catalog->keys.at(std::string(key));
    if (!entry.problem.empty()) return RefusedKey(entry);
    VerifyResult invalid;
    invalid.mode = entry.rollout_mode;
    // Missing: nothing to check, and nothing for the token to do.
    if (mac.empty()) return invalid;
    std::vector<const KeyVersionEntry*> usable;
    for (auto it = entry.versions.rbegin(); it != entry.versions.rend(); ++it) {
      if (it->version >= entry.min_verify_version && it->usable()) {
        usable.push_back(&*it);
      }
    }
    if (usable.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "key \"", key,
          "\" has no enabled version at or above its minimum "
          "verify version ",
          entry.min_verify_version, " that the custody policy allows"));
    }
    // The MAC's length says which scheme made it; a JWT is HS256 only.
    std::optional<Scheme> scheme;
    if (mac.size() == hsm::kHmacSha256Size) {
      scheme = Scheme::kHmacSha256;
    } else if (mac.size() == hsm::kSha1Size && use == MacUse::kUserHash) {
      scheme = Scheme::kLegacySha1;
    }
    std::vector<const KeyVersionEntry*> candidates;
    for (const KeyVersionEntry* version : usable) {
      if (scheme.has_value() && version->scheme == *scheme) {
        candidates.push_back(version);
      }
    }
    if (candidates.empty()) return invalid;
    ASSIGN_OR_RETURN(hsm::Session session, token_->Acquire());
    for (const KeyVersionEntry* candidate : candidates) {
      ASSIGN_OR_RETURN(bool valid, Matches(session, *candidate, data, mac));
      if (valid) {
        return VerifyResult{true, candidate->version, candidate->scheme,
                            entry.rollout_mode};
      }
    }
    return invalid;
  });
}

}  // namespace idsign::keys
