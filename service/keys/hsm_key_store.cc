#include "service/keys/hsm_key_store.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "hsm/log.h"
#include "hsm/status_macros.h"

namespace idsign::keys {
namespace {

absl::Status UnknownKey(absl::string_view key) {
  return absl::NotFoundError(absl::StrCat(
      "key \"", key, "\" not found; ListKeys shows the keys this server has"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<HsmKeyStore>> HsmKeyStore::Create(
    hsm::Token* token) {
  std::unique_ptr<HsmKeyStore> store(new HsmKeyStore(token));
  RETURN_IF_ERROR(store->Reload());
  return store;
}

absl::Status HsmKeyStore::Reload() {
  ASSIGN_OR_RETURN(hsm::Session session, token_->Acquire());
  ASSIGN_OR_RETURN(Catalog catalog, LoadCatalog(session));
  for (const std::string& label : catalog.ambiguous_labels) {
    log::Warning("key_object_ambiguous",
                 absl::StrCat("label=", log::Quote(label)));
  }
  auto fresh = std::make_shared<const Catalog>(std::move(catalog));
  log::Info("keys_loaded", absl::StrCat("count=", fresh->keys.size()));
  absl::MutexLock lock(&mu_);
  catalog_ = std::move(fresh);
  return absl::OkStatus();
}

size_t HsmKeyStore::key_count() {
  absl::ReaderMutexLock lock(&mu_);
  return catalog_ ? catalog_->keys.size() : 0;
}

std::vector<KeyEntry> HsmKeyStore::List() {
  std::shared_ptr<const Catalog> catalog;
  {
    absl::ReaderMutexLock lock(&mu_);
    catalog = catalog_;
  }
  std::vector<KeyEntry> keys;
  for (const auto& [name, key] : catalog->keys) keys.push_back(key);
  return keys;
}

absl::StatusOr<std::shared_ptr<const Catalog>> HsmKeyStore::Snapshot(
    absl::string_view key) {
  std::shared_ptr<const Catalog> catalog;
  {
    absl::ReaderMutexLock lock(&mu_);
    catalog = catalog_;
  }
  if (catalog->keys.find(std::string(key)) == catalog->keys.end()) {
    return UnknownKey(key);
  }
  return catalog;
}

absl::StatusOr<std::pair<uint32_t, CK_OBJECT_HANDLE>> HsmKeyStore::Primary(
    absl::string_view key) {
  ASSIGN_OR_RETURN(std::shared_ptr<const Catalog> catalog, Snapshot(key));
  const KeyVersionEntry* primary = catalog->keys.at(std::string(key)).Primary();
  if (primary == nullptr) return UnknownKey(key);
  return std::make_pair(primary->version, primary->object.handle);
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
                                            absl::string_view data) {
  return WithReloadOnStaleHandle([&]() -> absl::StatusOr<MacResult> {
    ASSIGN_OR_RETURN(auto primary, Primary(key));
    ASSIGN_OR_RETURN(hsm::Session session, token_->Acquire());
    ASSIGN_OR_RETURN(hsm::HmacSha256Mac mac,
                     hsm::HmacSha256(session, primary.second, data));
    return MacResult{mac, primary.first};
  });
}

absl::StatusOr<std::vector<MacResult>> HsmKeyStore::SignMany(
    absl::string_view key, std::span<const absl::string_view> data) {
  return WithReloadOnStaleHandle(
      [&]() -> absl::StatusOr<std::vector<MacResult>> {
        ASSIGN_OR_RETURN(auto primary, Primary(key));
        ASSIGN_OR_RETURN(hsm::Session session, token_->Acquire());
        std::vector<MacResult> results;
        results.reserve(data.size());
        for (absl::string_view item : data) {
          ASSIGN_OR_RETURN(hsm::HmacSha256Mac mac,
                           hsm::HmacSha256(session, primary.second, item));
          results.push_back({mac, primary.first});
        }
        return results;
      });
}

absl::StatusOr<VerifyResult> HsmKeyStore::Verify(absl::string_view key,
                                                 absl::string_view data,
                                                 std::span<const uint8_t> mac) {
  return WithReloadOnStaleHandle([&]() -> absl::StatusOr<VerifyResult> {
    ASSIGN_OR_RETURN(std::shared_ptr<const Catalog> catalog, Snapshot(key));
    const KeyEntry& entry = catalog->keys.at(std::string(key));
    ASSIGN_OR_RETURN(hsm::Session session, token_->Acquire());
    for (auto it = entry.versions.rbegin(); it != entry.versions.rend(); ++it) {
      ASSIGN_OR_RETURN(bool valid, hsm::VerifyHmacSha256(
                                       session, it->object.handle, data, mac));
      if (valid) return VerifyResult{true, it->version};
    }
    return VerifyResult{false, 0};
  });
}

}  // namespace idsign::keys
