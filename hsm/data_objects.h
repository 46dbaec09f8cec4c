// Data objects (CKO_DATA) on a token: small private records that live beside
// the keys, such as idsign's key-ring state.
//
// Objects are created as private token objects with CKA_APPLICATION set, so
// only a logged-in user of the token can read them.
//
// Thread safety: the functions are stateless; each uses the Session it is
// given, which its caller owns. Ownership: none.
#ifndef IDSIGN_HSM_DATA_OBJECTS_H_
#define IDSIGN_HSM_DATA_OBJECTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hsm/pkcs11.h"
#include "hsm/session_pool.h"

namespace idsign::hsm {

struct DataObject {
  CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
  std::string label;
  std::string value;
};

// Every token data object whose CKA_APPLICATION is `application`.
absl::StatusOr<std::vector<DataObject>> ListDataObjects(
    Session& session, absl::string_view application);

absl::StatusOr<CK_OBJECT_HANDLE> CreateDataObject(Session& session,
                                                  absl::string_view application,
                                                  absl::string_view label,
                                                  absl::string_view value);

// Replaces CKA_VALUE of an existing data object.
absl::Status SetDataObjectValue(Session& session, CK_OBJECT_HANDLE handle,
                                absl::string_view value);

}  // namespace idsign::hsm

#endif  // IDSIGN_HSM_DATA_OBJECTS_H_
