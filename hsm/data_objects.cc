#include "hsm/data_objects.h"

#include "absl/strings/str_cat.h"
#include "hsm/objects.h"
#include "hsm/status_macros.h"

namespace idsign::hsm {
namespace {

CK_BBOOL kTrue = CK_TRUE;

CK_ATTRIBUTE Text(CK_ATTRIBUTE_TYPE type, absl::string_view value) {
  return {type, const_cast<char*>(value.data()), value.size()};
}

// Data objects' label and value must be there: a ring without them is
// refused by its reader, not read as empty.
absl::StatusOr<std::string> ReadAttribute(Session& session,
                                          CK_OBJECT_HANDLE handle,
                                          CK_ATTRIBUTE_TYPE type,
                                          absl::string_view name) {
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   ReadBytesAttribute(session, handle, type));
  if (!value.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "C_GetAttributeValue: the token does not report the data object's ",
        name));
  }
  return *std::move(value);
}

}  // namespace

absl::StatusOr<std::vector<DataObject>> ListDataObjects(
    Session& session, absl::string_view application) {
  CK_OBJECT_CLASS klass = CKO_DATA;
  ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> handles,
                   FindObjects(session, {{CKA_CLASS, &klass, sizeof(klass)},
                                         {CKA_TOKEN, &kTrue, sizeof(kTrue)},
                                         Text(CKA_APPLICATION, application)}));
  std::vector<DataObject> objects;
  for (CK_OBJECT_HANDLE handle : handles) {
    DataObject object;
    object.handle = handle;
    ASSIGN_OR_RETURN(object.label,
                     ReadAttribute(session, handle, CKA_LABEL, "CKA_LABEL"));
    ASSIGN_OR_RETURN(object.value,
                     ReadAttribute(session, handle, CKA_VALUE, "CKA_VALUE"));
    objects.push_back(std::move(object));
  }
  return objects;
}

absl::StatusOr<CK_OBJECT_HANDLE> CreateDataObject(Session& session,
                                                  absl::string_view application,
                                                  absl::string_view label,
                                                  absl::string_view value) {
  CK_OBJECT_CLASS klass = CKO_DATA;
  CK_ATTRIBUTE tmpl[] = {
      {CKA_CLASS, &klass, sizeof(klass)},
      {CKA_TOKEN, &kTrue, sizeof(kTrue)},
      {CKA_PRIVATE, &kTrue, sizeof(kTrue)},
      {CKA_MODIFIABLE, &kTrue, sizeof(kTrue)},
      Text(CKA_APPLICATION, application),
      Text(CKA_LABEL, label),
      Text(CKA_VALUE, value),
  };
  CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
  RETURN_IF_ERROR(session.Check(
      "C_CreateObject",
      session.fn()->C_CreateObject(session.handle(), tmpl,
                                   sizeof(tmpl) / sizeof(tmpl[0]), &handle)));
  return handle;
}

absl::Status SetDataObjectValue(Session& session, CK_OBJECT_HANDLE handle,
                                absl::string_view value) {
  CK_ATTRIBUTE attr = Text(CKA_VALUE, value);
  return session.Check(
      "C_SetAttributeValue",
      session.fn()->C_SetAttributeValue(session.handle(), handle, &attr, 1));
}

}  // namespace idsign::hsm
