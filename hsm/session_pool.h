// SessionPool: a bounded set of PKCS#11 sessions on one slot, handed out as
// move-only RAII Session handles.
//
// A PKCS#11 session may be used by one thread at a time, so a Session is owned
// by one caller until it is destroyed, which returns it to the pool. A session
// that reported a session-level error (see IsSessionFatal) is closed instead
// of being reused. Sessions are opened lazily, up to the capacity; Acquire
// waits for a free one and gives up with RESOURCE_EXHAUSTED.
//
// Thread safety: SessionPool is thread-safe; a Session is not. Ownership: the
// pool owns its idle sessions and must outlive every Session it handed out.
#ifndef IDSIGN_HSM_SESSION_POOL_H_
#define IDSIGN_HSM_SESSION_POOL_H_

#include <cstddef>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "hsm/module.h"
#include "hsm/pkcs11.h"

namespace idsign::hsm {

class SessionPool;

class Session {
 public:
  Session(Session&& other) noexcept;
  Session& operator=(Session&& other) noexcept;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session();

  CK_SESSION_HANDLE handle() const { return handle_; }
  CK_FUNCTION_LIST* fn() const { return fn_; }

  // The choke point for every Cryptoki call made on this session: returns
  // CkStatus(function, rv), logs failures at debug level with the CKR_ name,
  // and marks the session broken when rv is a session-level error.
  absl::Status Check(absl::string_view function, CK_RV rv);

  // The session will be closed, not reused, when this handle is destroyed.
  void MarkBroken() { broken_ = true; }
  bool broken() const { return broken_; }

 private:
  friend class SessionPool;
  Session(SessionPool* pool, CK_FUNCTION_LIST* fn, CK_SESSION_HANDLE handle)
      : pool_(pool), fn_(fn), handle_(handle) {}
  void Return();

  SessionPool* pool_ = nullptr;
  CK_FUNCTION_LIST* fn_ = nullptr;
  CK_SESSION_HANDLE handle_ = CK_INVALID_HANDLE;
  bool broken_ = false;
};

class SessionPool {
 public:
  // `flags` are C_OpenSession flags (CKF_SERIAL_SESSION is always added).
  SessionPool(std::shared_ptr<Module> module, CK_SLOT_ID slot, CK_FLAGS flags,
              size_t capacity);
  ~SessionPool();
  SessionPool(const SessionPool&) = delete;
  SessionPool& operator=(const SessionPool&) = delete;

  // Borrows a session, opening one if fewer than `capacity` are open.
  // RESOURCE_EXHAUSTED if none frees up within `wait`; the C_OpenSession
  // error if opening fails.
  absl::StatusOr<Session> Acquire(absl::Duration wait);

  // Closes every idle session; later Acquire calls open new ones.
  void CloseIdle();

  size_t capacity() const { return capacity_; }
  size_t open_sessions() const;

 private:
  friend class Session;
  void Release(CK_SESSION_HANDLE handle, bool broken);

  const std::shared_ptr<Module> module_;
  const CK_SLOT_ID slot_;
  const CK_FLAGS flags_;
  const size_t capacity_;

  mutable absl::Mutex mu_;
  std::vector<CK_SESSION_HANDLE> idle_ ABSL_GUARDED_BY(mu_);
  size_t open_ ABSL_GUARDED_BY(mu_) = 0;  // idle plus borrowed
};

}  // namespace idsign::hsm

#endif  // IDSIGN_HSM_SESSION_POOL_H_
