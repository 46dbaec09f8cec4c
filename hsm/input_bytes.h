// InputBytes: the CK_BYTE pointer Cryptoki takes for data it only reads.
//
// Cryptoki's input parameters are non-const CK_BYTE_PTRs, and some tokens
// (SoftHSM2 among them) answer CKR_ARGUMENTS_BAD to a null pointer even with
// a zero length, which can leave an operation active in the session. The
// pointer returned here is never null, so empty input is a question of
// length for the token to answer.
//
// Thread safety: stateless. Ownership: the result points into `data` (or at
// a static byte when `data` is empty) and is valid as long as `data` is.
#ifndef IDSIGN_HSM_INPUT_BYTES_H_
#define IDSIGN_HSM_INPUT_BYTES_H_

#include <cstddef>

#include "absl/strings/string_view.h"
#include "hsm/pkcs11.h"

namespace idsign::hsm {

inline CK_BYTE* InputBytes(const void* data, size_t size) {
  static CK_BYTE empty = 0;
  if (size == 0 || data == nullptr) return &empty;
  // The token only reads it; Cryptoki's signature is not const.
  return static_cast<CK_BYTE*>(const_cast<void*>(data));
}

inline CK_BYTE* InputBytes(absl::string_view data) {
  return InputBytes(data.data(), data.size());
}

}  // namespace idsign::hsm

#endif  // IDSIGN_HSM_INPUT_BYTES_H_
