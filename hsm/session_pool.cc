#include "hsm/session_pool.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "hsm/ckr.h"
#include "hsm/log.h"

namespace idsign::hsm {

Session::Session(Session&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      fn_(other.fn_),
      handle_(std::exchange(other.handle_, CK_INVALID_HANDLE)),
      broken_(other.broken_) {}

Session& Session::operator=(Session&& other) noexcept {
  if (this != &other) {
    Return();
    pool_ = std::exchange(other.pool_, nullptr);
    fn_ = other.fn_;
    handle_ = std::exchange(other.handle_, CK_INVALID_HANDLE);
    broken_ = other.broken_;
  }
  return *this;
}

Session::~Session() { Return(); }

void Session::Return() {
  if (pool_ != nullptr) pool_->Release(handle_, broken_);
  pool_ = nullptr;
  handle_ = CK_INVALID_HANDLE;
}

absl::Status Session::Check(absl::string_view function, CK_RV rv) {
  if (rv == CKR_OK) return absl::OkStatus();
  if (IsSessionFatal(rv)) broken_ = true;
  log::Debug("pkcs11_call_failed",
             absl::StrCat("function=", function, " rv=", CkrName(rv)));
  return CkStatus(function, rv);
}

SessionPool::SessionPool(std::shared_ptr<Module> module, CK_SLOT_ID slot,
                         CK_FLAGS flags, size_t capacity)
    : module_(std::move(module)),
      slot_(slot),
      flags_(flags | CKF_SERIAL_SESSION),
      capacity_(capacity == 0 ? 1 : capacity) {}

SessionPool::~SessionPool() { CloseIdle(); }

absl::StatusOr<Session> SessionPool::Acquire(absl::Duration wait) {
  {
    absl::MutexLock lock(&mu_);
    auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < capacity_;
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&available), wait)) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "all ", capacity_, " HSM sessions stayed busy for ",
          absl::FormatDuration(wait), "; retry, or raise --sessions"));
    }
    if (!idle_.empty()) {
      CK_SESSION_HANDLE handle = idle_.back();
      idle_.pop_back();
      return Session(this, module_->fn(), handle);
    }
    ++open_;  // reserve a slot; opened below without holding the lock
  }
  CK_SESSION_HANDLE handle = CK_INVALID_HANDLE;
  CK_RV rv =
      module_->fn()->C_OpenSession(slot_, flags_, nullptr, nullptr, &handle);
  if (rv != CKR_OK) {
    absl::MutexLock lock(&mu_);
    --open_;
    log::Debug("pkcs11_call_failed",
               absl::StrCat("function=C_OpenSession rv=", CkrName(rv)));
    return CkStatus("C_OpenSession", rv);
  }
  return Session(this, module_->fn(), handle);
}

void SessionPool::Release(CK_SESSION_HANDLE handle, bool broken) {
  if (broken) {
    CK_RV rv = module_->fn()->C_CloseSession(handle);
    log::Warning("pkcs11_session_discarded",
                 absl::StrCat("close_rv=", CkrName(rv)));
    absl::MutexLock lock(&mu_);
    --open_;
    return;
  }
  absl::MutexLock lock(&mu_);
  idle_.push_back(handle);
}

void SessionPool::CloseIdle() {
  std::vector<CK_SESSION_HANDLE> idle;
  {
    absl::MutexLock lock(&mu_);
    idle.swap(idle_);
    open_ -= idle.size();
  }
  for (CK_SESSION_HANDLE handle : idle) module_->fn()->C_CloseSession(handle);
}

size_t SessionPool::open_sessions() const {
  absl::MutexLock lock(&mu_);
  return open_;
}

}  // namespace idsign::hsm
