// Translation of PKCS#11 return values (CK_RV) into names and absl::Status.
//
// Every Cryptoki call in hsm/ ends in CkStatus, so each failure carries the
// function and the CKR_ constant's name, e.g. "C_Sign: CKR_DEVICE_REMOVED".
// The status code follows DESIGN.md's table: device and session failures are
// UNAVAILABLE, missing objects NOT_FOUND, refusals PERMISSION_DENIED, and so
// on.
//
// Thread safety: stateless. Ownership: none.
#ifndef IDSIGN_HSM_CKR_H_
#define IDSIGN_HSM_CKR_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "hsm/pkcs11.h"

namespace idsign::hsm {

// "CKR_PIN_INCORRECT"; unknown values are shown in hex.
std::string CkrName(CK_RV rv);

// The absl status code a CK_RV maps to.
absl::StatusCode CkrCode(CK_RV rv);

// True when the session that returned `rv` must be closed, not reused.
bool IsSessionFatal(CK_RV rv);

// OK for CKR_OK, otherwise a status "function: CKR_NAME" with CkrCode(rv).
absl::Status CkStatus(absl::string_view function, CK_RV rv);

}  // namespace idsign::hsm

#endif  // IDSIGN_HSM_CKR_H_
