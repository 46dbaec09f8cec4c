// The audit key: a token HMAC-SHA256 key, labelled kAuditKeyLabel, that
// seals audit checkpoints. It is generated inside the token with the same
// locked-down attributes as signing keys (sensitive, not extractable, not
// modifiable), so whoever can rewrite the audit file cannot forge a
// checkpoint. It is not a signing key: its label is outside the "idsign:"
// namespace, so the key catalog never lists it.
//
// Thread safety: the functions are thread-safe. Ownership: borrow the Token.
#ifndef IDSIGN_SERVICE_AUDIT_AUDIT_KEY_H_
#define IDSIGN_SERVICE_AUDIT_AUDIT_KEY_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hsm/pkcs11.h"
#include "hsm/token.h"

namespace idsign::audit {

inline constexpr absl::string_view kAuditKeyLabel =
    "idsign-system:audit-mac:v1";
inline constexpr size_t kAuditKeyBytes = 32;

// The audit key's handle. NOT_FOUND (telling the operator to run
// `idsign audit init`) when it is missing; FAILED_PRECONDITION when the
// label is on more than one object.
absl::StatusOr<CK_OBJECT_HANDLE> FindAuditKey(hsm::Token& token);
// The same, on a session the caller already holds.
absl::StatusOr<CK_OBJECT_HANDLE> FindAuditKey(hsm::Session& session);

// Generates the audit key unless it already exists (then OK, nothing
// changes). Needs a read/write token (FAILED_PRECONDITION otherwise);
// refuses when the label is on more than one object.
absl::Status EnsureAuditKey(hsm::Token& token);

}  // namespace idsign::audit

#endif  // IDSIGN_SERVICE_AUDIT_AUDIT_KEY_H_
