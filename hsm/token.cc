#include "hsm/token.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "hsm/ckr.h"
#include "hsm/log.h"
#include "hsm/status_macros.h"

namespace idsign::hsm {

absl::StatusOr<std::unique_ptr<Token>> Token::Open(
    std::shared_ptr<Module> module, absl::string_view token,
    const SecretBytes& pin, TokenOptions options) {
  if (pin.empty()) return absl::InvalidArgumentError("the PIN is empty");
  ASSIGN_OR_RETURN(CK_SLOT_ID slot, module->FindSlot(token));
  ASSIGN_OR_RETURN(TokenDescription description, module->Describe(slot));
  std::unique_ptr<Token> result(
      new Token(std::move(module), slot, std::move(description),
                SecretBytes(pin.data(), pin.size()), options));
  {
    absl::MutexLock lock(&result->anchor_mu_);
    RETURN_IF_ERROR(result->OpenAnchorAndLogin());
  }
  log::Info("token_opened",
            absl::StrCat("label=", log::Quote(result->description_.label),
                         " serial=", log::Quote(result->description_.serial),
                         " rw=", options.read_write ? "true" : "false"));
  return result;
}

Token::Token(std::shared_ptr<Module> module, CK_SLOT_ID slot,
             TokenDescription description, SecretBytes pin,
             TokenOptions options)
    : module_(std::move(module)),
      slot_(slot),
      description_(std::move(description)),
      options_(options),
      pool_(module_, slot,
            options.read_write ? static_cast<CK_FLAGS>(CKF_RW_SESSION) : 0,
            options.pool_size),
      pin_(std::move(pin)) {}

Token::~Token() {
  pool_.CloseIdle();
  absl::MutexLock lock(&anchor_mu_);
  if (anchor_ != CK_INVALID_HANDLE) module_->fn()->C_CloseSession(anchor_);
}

absl::Status Token::OpenAnchorAndLogin() {
  CK_FUNCTION_LIST* fn = module_->fn();
  if (anchor_ != CK_INVALID_HANDLE) {
    fn->C_CloseSession(anchor_);
    anchor_ = CK_INVALID_HANDLE;
  }
  CK_FLAGS flags = CKF_SERIAL_SESSION;
  if (options_.read_write) flags |= CKF_RW_SESSION;
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  RETURN_IF_ERROR(
      CkStatus("C_OpenSession",
               fn->C_OpenSession(slot_, flags, nullptr, nullptr, &session)));
  CK_RV rv = fn->C_Login(session, CKU_USER, pin_.data(), pin_.size());
  if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
    fn->C_CloseSession(session);
    absl::Status status = CkStatus("C_Login", rv);
    return absl::Status(status.code(), absl::StrCat("cannot log in to token \"",
                                                    description_.label,
                                                    "\": ", status.message()));
  }
  anchor_ = session;
  return absl::OkStatus();
}

absl::StatusOr<Session> Token::Acquire() {
  return pool_.Acquire(options_.acquire_timeout);
}

absl::Status Token::EnsureLoggedIn() {
  absl::MutexLock lock(&anchor_mu_);
  CK_SESSION_INFO info;
  CK_RV rv = anchor_ == CK_INVALID_HANDLE
                 ? CKR_SESSION_HANDLE_INVALID
                 : module_->fn()->C_GetSessionInfo(anchor_, &info);
  if (rv == CKR_OK && (info.state == CKS_RO_USER_FUNCTIONS ||
                       info.state == CKS_RW_USER_FUNCTIONS)) {
    return absl::OkStatus();
  }
  log::Warning(
      "token_relogin",
      absl::StrCat("reason=", rv == CKR_OK ? "not_logged_in" : CkrName(rv)));
  // Sessions opened before the reset are dead too.
  pool_.CloseIdle();
  return OpenAnchorAndLogin();
}

absl::StatusOr<KeySizeRange> Token::MechanismKeySizes(
    CK_MECHANISM_TYPE mechanism) const {
  CK_MECHANISM_INFO info;
  RETURN_IF_ERROR(
      CkStatus("C_GetMechanismInfo",
               module_->fn()->C_GetMechanismInfo(slot_, mechanism, &info)));
  return KeySizeRange{info.ulMinKeySize, info.ulMaxKeySize};
}

}  // namespace idsign::hsm
