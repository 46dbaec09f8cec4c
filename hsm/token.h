// Token: a logged-in connection to one PKCS#11 token.
//
// Open() finds the token, opens one session and logs the user in on it. That
// anchor session stays open for the Token's lifetime: it holds the login, and
// SoftHSM2 would otherwise purge object handles when its last session closes.
// Work happens on sessions borrowed from a bounded pool beside it.
//
// Thread safety: all methods are thread-safe. Ownership: a Token owns its
// sessions and a locked copy of the PIN (for re-login after a token reset);
// it keeps its Module alive. Sessions it hands out must be destroyed before
// the Token.
#ifndef IDSIGN_HSM_TOKEN_H_
#define IDSIGN_HSM_TOKEN_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "hsm/module.h"
#include "hsm/secret.h"
#include "hsm/session_pool.h"

namespace idsign::hsm {

struct TokenOptions {
  // Open read/write sessions (needed to create or destroy objects).
  bool read_write = false;
  // Most sessions open at once, besides the anchor session.
  size_t pool_size = 4;
  // How long Acquire waits for a free session.
  absl::Duration acquire_timeout = absl::Seconds(2);
};

// A mechanism's key size range as the token reports it (C_GetMechanismInfo).
struct KeySizeRange {
  size_t min = 0;
  size_t max = 0;
};

class Token {
 public:
  // `token` is a label or a `pkcs11:` URI (see Module::FindSlot). A wrong PIN
  // is UNAUTHENTICATED; a missing token NOT_FOUND.
  static absl::StatusOr<std::unique_ptr<Token>> Open(
      std::shared_ptr<Module> module, absl::string_view token,
      const SecretBytes& pin, TokenOptions options = {});

  ~Token();
  Token(const Token&) = delete;
  Token& operator=(const Token&) = delete;

  // Borrows a session from the pool.
  absl::StatusOr<Session> Acquire();

  // Checks that the anchor session is alive and logged in; if the token was
  // reset or re-inserted, reopens it and logs in again.
  absl::Status EnsureLoggedIn();

  // Key size range for `mechanism`, e.g. CKM_SHA256_HMAC (in bytes).
  absl::StatusOr<KeySizeRange> MechanismKeySizes(
      CK_MECHANISM_TYPE mechanism) const;

  const TokenDescription& description() const { return description_; }
  CK_SLOT_ID slot() const { return slot_; }
  Module& module() const { return *module_; }
  const std::shared_ptr<Module>& shared_module() const { return module_; }
  bool read_write() const { return options_.read_write; }

 private:
  Token(std::shared_ptr<Module> module, CK_SLOT_ID slot,
        TokenDescription description, SecretBytes pin, TokenOptions options);
  absl::Status OpenAnchorAndLogin() ABSL_EXCLUSIVE_LOCKS_REQUIRED(anchor_mu_);

  const std::shared_ptr<Module> module_;
  const CK_SLOT_ID slot_;
  const TokenDescription description_;
  const TokenOptions options_;
  SessionPool pool_;

  absl::Mutex anchor_mu_;
  SecretBytes pin_ ABSL_GUARDED_BY(anchor_mu_);
  CK_SESSION_HANDLE anchor_ ABSL_GUARDED_BY(anchor_mu_) = CK_INVALID_HANDLE;
};

}  // namespace idsign::hsm

#endif  // IDSIGN_HSM_TOKEN_H_
