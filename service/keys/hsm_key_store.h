// HsmKeyStore: the KeyStore backed by a PKCS#11 token.
//
// It reads the catalog (rings and key objects) once per Reload and caches
// the handles, so a request costs one pooled session and C_SignInit +
// C_Sign (four C_Digest* calls for legacy-sha1): no C_OpenSession, C_Login
// or C_FindObjects. If the token reports a handle invalid, the catalog is
// reloaded once and the operation retried. A request for an unknown key
// triggers a reload too, at most once per `unknown_key_reload_interval`.
//
// Sign uses the key's primary version, by its scheme: HMAC-SHA256 inside
// the token (C_Sign), or for legacy-sha1 SHA-1(secret || data) digested
// inside the token (C_DigestKey). Verify tries the enabled versions at or
// above the minimum verify version whose scheme fits the MAC's length,
// newest first: HMAC versions with C_Verify; legacy-sha1 versions by
// digesting in the token and comparing here in constant time, because
// PKCS#11 has no verify operation for a plain digest (CKM_SHA_1 is not a
// signature mechanism, so C_VerifyInit refuses it). A key whose ring is
// missing or tampered with, or a version the custody policy refuses, yields
// FAILED_PRECONDITION with the reason. When a reload finds a key's ring
// broken, the last good state of that key stays in use and the log says why.
// Each key's rollout mode is read from its ring with the rest of the
// catalog, so a change made with `idsign key rollout` applies from the next
// Reload.
//
// Thread safety: thread-safe; requests run concurrently with Reload, which
// swaps in a new catalog atomically, so no in-flight request is dropped.
// Ownership: borrows the Token, which must outlive the store.
#ifndef IDSIGN_SERVICE_KEYS_HSM_KEY_STORE_H_
#define IDSIGN_SERVICE_KEYS_HSM_KEY_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "hsm/token.h"
#include "service/keys/key_store.h"

namespace idsign::keys {

class HsmKeyStore : public KeyStore {
 public:
  // Loads the catalog from `token`.
  struct Options {
    absl::Duration unknown_key_reload_interval = absl::Seconds(1);
  };
  static absl::StatusOr<std::unique_ptr<HsmKeyStore>> Create(hsm::Token* token,
                                                             Options options);
  static absl::StatusOr<std::unique_ptr<HsmKeyStore>> Create(
      hsm::Token* token) {
    return Create(token, Options());
  }

  absl::StatusOr<MacResult> Sign(absl::string_view key, absl::string_view data,
                                 MacUse use = MacUse::kUserHash) override;
  absl::StatusOr<std::vector<MacResult>> SignMany(
      absl::string_view key, std::span<const absl::string_view> data) override;
  absl::StatusOr<VerifyResult> Verify(absl::string_view key,
                                      absl::string_view data,
                                      std::span<const uint8_t> mac,
                                      MacUse use = MacUse::kUserHash) override;
  std::vector<KeyEntry> List() override;
  hsm::TokenDescription token_description() override {
    return token_->description();
  }

  // Re-reads the key objects from the token. On failure the previous
  // catalog stays in use.
  absl::Status Reload();

  size_t key_count();

  // One line per refused key or version, e.g. "intercom/web/prod: ...".
  std::vector<std::string> Problems();

 private:
  HsmKeyStore(hsm::Token* token, Options options)
      : token_(token), options_(options) {}

  struct PrimaryVersion {
    uint32_t version = 0;
    CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
    Scheme scheme = Scheme::kHmacSha256;
  };
  // The primary version of `key`, usable for `use`.
  absl::StatusOr<PrimaryVersion> Primary(absl::string_view key, MacUse use);
  // The catalog holding `key`, reloading once (rate-limited) if unknown.
  absl::StatusOr<std::shared_ptr<const Catalog>> Snapshot(
      absl::string_view key);
  std::shared_ptr<const Catalog> Current();
  // Runs `op` once, and once more after a reload if the handle was stale.
  template <typename Op>
  auto WithReloadOnStaleHandle(Op op) -> decltype(op());

  hsm::Token* const token_;
  const Options options_;
  absl::Mutex reload_mu_;  // one reload at a time
  absl::Time last_unknown_reload_ ABSL_GUARDED_BY(reload_mu_) =
      absl::InfinitePast();
  absl::Mutex mu_;
  std::shared_ptr<const Catalog> catalog_ ABSL_GUARDED_BY(mu_);
};

}  // namespace idsign::keys

#endif  // IDSIGN_SERVICE_KEYS_HSM_KEY_STORE_H_
