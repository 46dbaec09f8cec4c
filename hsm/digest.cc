#include "hsm/digest.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "hsm/ckr.h"
#include "hsm/input_bytes.h"

namespace idsign::hsm {
namespace {

bool MeansUnsupported(CK_RV rv) {
  return rv == CKR_KEY_INDIGESTIBLE || rv == CKR_FUNCTION_NOT_SUPPORTED ||
         rv == CKR_MECHANISM_INVALID;
}

// Session::Check, with the refusals that mean "this token cannot do
// legacy-sha1 at all" worded for the operator who has to act on them.
absl::Status Checked(Session& session, absl::string_view function, CK_RV rv) {
  absl::Status status = session.Check(function, rv);
  if (status.ok() || !MeansUnsupported(rv)) return status;
  return absl::FailedPreconditionError(
      absl::StrCat(function, ": ", CkrName(rv),
                   ": the token does not support legacy-sha1 keys (it will "
                   "not compute SHA-1 over a secret key's value)"));
}

// A failed step can leave the digest operation active on the session (a
// token is supposed to end it, but not every one does). Finishing it into a
// scratch buffer makes the session reusable; if even that fails, the session
// is closed rather than handed to the next caller mid-operation.
void EndOperation(Session& session) {
  CK_BYTE scratch[64];
  CK_ULONG scratch_len = sizeof(scratch);
  CK_RV rv =
      session.fn()->C_DigestFinal(session.handle(), scratch, &scratch_len);
  if (rv != CKR_OK && rv != CKR_OPERATION_NOT_INITIALIZED) {
    session.MarkBroken();
  }
}

}  // namespace

absl::StatusOr<Sha1Digest> Sha1KeyThenData(Session& session,
                                           CK_OBJECT_HANDLE key,
                                           absl::string_view data) {
  CK_MECHANISM mechanism{CKM_SHA_1, nullptr, 0};
  absl::Status status =
      Checked(session, "C_DigestInit",
              session.fn()->C_DigestInit(session.handle(), &mechanism));
  if (!status.ok()) return status;
  status = Checked(session, "C_DigestKey",
                   session.fn()->C_DigestKey(session.handle(), key));
  if (status.ok()) {
    status = Checked(session, "C_DigestUpdate",
                     session.fn()->C_DigestUpdate(
                         session.handle(), InputBytes(data), data.size()));
  }
  if (!status.ok()) {
    EndOperation(session);
    return status;
  }
  // Room for any digest: a token that answers with another length is caught
  // below instead of overflowing a 20-byte buffer.
  CK_BYTE out[64];
  CK_ULONG out_len = sizeof(out);
  status =
      Checked(session, "C_DigestFinal",
              session.fn()->C_DigestFinal(session.handle(), out, &out_len));
  if (!status.ok()) {
    EndOperation(session);
    return status;
  }
  if (out_len != kSha1Size) {
    return absl::InternalError(absl::StrCat("C_DigestFinal returned ", out_len,
                                            " bytes for CKM_SHA_1, not 20"));
  }
  Sha1Digest digest;
  std::copy(out, out + kSha1Size, digest.begin());
  return digest;
}

}  // namespace idsign::hsm
