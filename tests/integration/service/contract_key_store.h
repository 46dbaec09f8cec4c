// ContractKeyStore: HsmKeyStore as key_store.h specifies it for an empty
// MAC ("missing": valid=false and the key's rollout mode, without touching
// the token). On this branch HsmKeyStore still passes an empty MAC to
// C_Verify (SoftHSM2 answers CKR_ARGUMENTS_BAD and leaves the operation
// active); once the keys side implements the contract this adapter can
// go, and the tests use the store directly. Everything else is the real
// store and the real token.
//
// Thread safety: as the wrapped store. Ownership: borrows the store.
#ifndef IDSIGN_TESTS_INTEGRATION_SERVICE_CONTRACT_KEY_STORE_H_
#define IDSIGN_TESTS_INTEGRATION_SERVICE_CONTRACT_KEY_STORE_H_

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "service/keys/key_store.h"

namespace idsign::service::testing {

class ContractKeyStore : public keys::KeyStore {
 public:
  explicit ContractKeyStore(keys::KeyStore* store) : store_(store) {}

  absl::StatusOr<keys::MacResult> Sign(absl::string_view key,
                                       absl::string_view data,
                                       keys::MacUse use) override {
    return store_->Sign(key, data, use);
  }
  absl::StatusOr<std::vector<keys::MacResult>> SignMany(
      absl::string_view key, std::span<const absl::string_view> data) override {
    return store_->SignMany(key, data);
  }
  absl::StatusOr<keys::VerifyResult> Verify(absl::string_view key,
                                            absl::string_view data,
                                            std::span<const uint8_t> mac,
                                            keys::MacUse use) override {
    if (!mac.empty()) return store_->Verify(key, data, mac, use);
    for (const keys::KeyEntry& entry : store_->List()) {
      if (entry.name == key) {
        return keys::VerifyResult{
            .valid = false, .version = 0, .mode = entry.rollout_mode};
      }
    }
    return absl::NotFoundError(absl::StrCat("key \"", key, "\" not found"));
  }
  std::vector<keys::KeyEntry> List() override { return store_->List(); }
  hsm::TokenDescription token_description() override {
    return store_->token_description();
  }

 private:
  keys::KeyStore* const store_;
};

}  // namespace idsign::service::testing

#endif  // IDSIGN_TESTS_INTEGRATION_SERVICE_CONTRACT_KEY_STORE_H_
