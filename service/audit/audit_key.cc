#include "service/audit/audit_key.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "hsm/log.h"
#include "hsm/objects.h"
#include "hsm/status_macros.h"

namespace idsign::audit {
namespace {

constexpr size_t kObjectIdBytes = 8;

// SoftHSM2 2.6.1 can fail on concurrent C_CreateObject; one creator at a time.
absl::Mutex& CreationMutex() {
  static absl::Mutex mu;
  return mu;
}

absl::Status Ambiguous(size_t count) {
  return absl::FailedPreconditionError(absl::StrCat(
      count, " objects are labelled \"", kAuditKeyLabel,
      "\"; the audit key must be unique. Remove the extra object(s) with the "
      "token's own tools before using the audit log"));
}

}  // namespace

absl::StatusOr<CK_OBJECT_HANDLE> FindAuditKey(hsm::Session& session) {
  ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> found,
                   hsm::FindSecretKeysByLabel(session, kAuditKeyLabel));
  if (found.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no audit key (\"", kAuditKeyLabel,
                     "\") on the token; run `idsign audit init` to create it"));
  }
  if (found.size() > 1) return Ambiguous(found.size());
  return found[0];
}

absl::StatusOr<CK_OBJECT_HANDLE> FindAuditKey(hsm::Token& token) {
  ASSIGN_OR_RETURN(hsm::Session session, token.Acquire());
  return FindAuditKey(session);
}

absl::Status EnsureAuditKey(hsm::Token& token) {
  if (!token.read_write()) {
    return absl::FailedPreconditionError(
        "token was opened read-only; creating the audit key needs read/write");
  }
  absl::MutexLock creation(&CreationMutex());
  ASSIGN_OR_RETURN(hsm::Session session, token.Acquire());
  absl::StatusOr<CK_OBJECT_HANDLE> existing = FindAuditKey(session);
  if (existing.ok()) return absl::OkStatus();
  if (!absl::IsNotFound(existing.status())) return existing.status();

  hsm::NewKey key{std::string(kAuditKeyLabel), ""};
  ASSIGN_OR_RETURN(key.id, hsm::GenerateRandom(session, kObjectIdBytes));
  ASSIGN_OR_RETURN(CK_OBJECT_HANDLE handle,
                   hsm::GenerateHmacKey(session, key, kAuditKeyBytes));
  // Another process may have created one at the same moment. Every creator
  // keeps the object with the smallest CKA_ID and destroys its own otherwise,
  // so exactly one survives.
  ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> found,
                   hsm::FindSecretKeysByLabel(session, kAuditKeyLabel));
  if (found.size() > 1) {
    std::string smallest_id = key.id;
    for (CK_OBJECT_HANDLE other : found) {
      ASSIGN_OR_RETURN(hsm::SecretKeyInfo info,
                       hsm::ReadSecretKeyInfo(session, other));
      smallest_id = std::min(smallest_id, info.id);
    }
    if (smallest_id == key.id) return absl::OkStatus();
    if (!hsm::DestroyObject(session, handle).ok()) {
      return Ambiguous(found.size());
    }
    return absl::OkStatus();
  }
  log::Info("audit_key_created",
            absl::StrCat("label=", log::Quote(kAuditKeyLabel)));
  return absl::OkStatus();
}

}  // namespace idsign::audit
