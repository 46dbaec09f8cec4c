// HsmKeyStore: the KeyStore backed by a PKCS#11 token.
//
// It finds the key objects once (Load/Reload) and caches their handles, so a
// request costs one pooled session and C_SignInit + C_Sign: no C_OpenSession,
// C_Login or C_FindObjects. If the token reports a handle invalid, the catalog
// is reloaded once and the operation retried.
//
// Thread safety: thread-safe; signing runs concurrently with Reload, which
// swaps in a new catalog atomically. Ownership: borrows the Token, which must
// outlive the store.
#ifndef IDSIGN_SERVICE_KEYS_HSM_KEY_STORE_H_
#define IDSIGN_SERVICE_KEYS_HSM_KEY_STORE_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "hsm/token.h"
#include "service/keys/key_store.h"

namespace idsign::keys {

class HsmKeyStore : public KeyStore {
 public:
  // Loads the catalog from `token`.
  static absl::StatusOr<std::unique_ptr<HsmKeyStore>> Create(hsm::Token* token);

  absl::StatusOr<MacResult> Sign(absl::string_view key,
                                 absl::string_view data) override;
  absl::StatusOr<std::vector<MacResult>> SignMany(
      absl::string_view key, std::span<const absl::string_view> data) override;
  absl::StatusOr<VerifyResult> Verify(absl::string_view key,
                                      absl::string_view data,
                                      std::span<const uint8_t> mac) override;
  std::vector<KeyEntry> List() override;

  // Re-reads the key objects from the token. On failure the previous
  // catalog stays in use.
  absl::Status Reload();

  size_t key_count();

 private:
  explicit HsmKeyStore(hsm::Token* token) : token_(token) {}

  // The primary version of `key`: its number and object handle.
  absl::StatusOr<std::pair<uint32_t, CK_OBJECT_HANDLE>> Primary(
      absl::string_view key);
  absl::StatusOr<std::shared_ptr<const Catalog>> Snapshot(
      absl::string_view key);
  // Runs `op` once, and once more after a reload if the handle was stale.
  template <typename Op>
  auto WithReloadOnStaleHandle(Op op) -> decltype(op());

  hsm::Token* const token_;
  absl::Mutex mu_;
  std::shared_ptr<const Catalog> catalog_ ABSL_GUARDED_BY(mu_);
};

}  // namespace idsign::keys

#endif  // IDSIGN_SERVICE_KEYS_HSM_KEY_STORE_H_
