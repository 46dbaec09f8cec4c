// Raw Cryptoki calls for tests: reading attributes and token information
// straight from the token, and creating key objects behind idsign's back.
// Tests compare what idsign reports with what these return, so they use the
// module's function list directly and none of idsign's attribute code.
//
// Thread safety: stateless; each function uses the session it is given.
// Ownership: none.
#ifndef IDSIGN_TESTS_TESTING_RAW_PKCS11_H_
#define IDSIGN_TESTS_TESTING_RAW_PKCS11_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "hsm/pkcs11.h"
#include "hsm/session_pool.h"

namespace idsign::testing::raw {

// Handles of the secret key objects labelled `label`.
inline std::vector<CK_OBJECT_HANDLE> FindSecretKeys(hsm::Session& session,
                                                    const std::string& label) {
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_ATTRIBUTE tmpl[] = {
      {CKA_CLASS, &cls, sizeof(cls)},
      {CKA_LABEL, const_cast<char*>(label.data()), label.size()}};
  std::vector<CK_OBJECT_HANDLE> found;
  CK_FUNCTION_LIST* fn = session.fn();
  if (fn->C_FindObjectsInit(session.handle(), tmpl, 2) != CKR_OK) return found;
  CK_OBJECT_HANDLE handles[16];
  CK_ULONG count = 0;
  while (fn->C_FindObjects(session.handle(), handles, 16, &count) == CKR_OK &&
         count > 0) {
    found.insert(found.end(), handles, handles + count);
  }
  fn->C_FindObjectsFinal(session.handle());
  return found;
}

// A CK_BBOOL attribute; nullopt when the token does not report it.
inline std::optional<bool> GetBool(hsm::Session& session,
                                   CK_OBJECT_HANDLE object,
                                   CK_ATTRIBUTE_TYPE type) {
  CK_BBOOL value = CK_FALSE;
  CK_ATTRIBUTE attribute = {type, &value, sizeof(value)};
  if (session.fn()->C_GetAttributeValue(session.handle(), object, &attribute,
                                        1) != CKR_OK ||
      attribute.ulValueLen != sizeof(value)) {
    return std::nullopt;
  }
  return value == CK_TRUE;
}

// A CK_ULONG attribute; nullopt when the token does not report it.
inline std::optional<CK_ULONG> GetUlong(hsm::Session& session,
                                        CK_OBJECT_HANDLE object,
                                        CK_ATTRIBUTE_TYPE type) {
  CK_ULONG value = 0;
  CK_ATTRIBUTE attribute = {type, &value, sizeof(value)};
  if (session.fn()->C_GetAttributeValue(session.handle(), object, &attribute,
                                        1) != CKR_OK ||
      attribute.ulValueLen != sizeof(value)) {
    return std::nullopt;
  }
  return value;
}

// A byte-array attribute; nullopt when the token does not report it.
inline std::optional<std::string> GetBytes(hsm::Session& session,
                                           CK_OBJECT_HANDLE object,
                                           CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE attribute = {type, nullptr, 0};
  CK_FUNCTION_LIST* fn = session.fn();
  if (fn->C_GetAttributeValue(session.handle(), object, &attribute, 1) !=
          CKR_OK ||
      attribute.ulValueLen == CK_UNAVAILABLE_INFORMATION) {
    return std::nullopt;
  }
  std::string value(attribute.ulValueLen, '\0');
  attribute.pValue = value.data();
  if (fn->C_GetAttributeValue(session.handle(), object, &attribute, 1) !=
      CKR_OK) {
    return std::nullopt;
  }
  value.resize(attribute.ulValueLen);
  return value;
}

// Lowercase hex of `bytes`.
inline std::string Hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

struct RawTokenInfo {
  std::string label, manufacturer, model, serial, firmware;
};

// C_GetTokenInfo of `slot`, blank padding removed; firmware "major.minor".
inline std::optional<RawTokenInfo> GetTokenInfo(CK_FUNCTION_LIST* fn,
                                                CK_SLOT_ID slot) {
  CK_TOKEN_INFO info{};
  if (fn->C_GetTokenInfo(slot, &info) != CKR_OK) return std::nullopt;
  auto text = [](const CK_UTF8CHAR* chars, size_t size) {
    return std::string(absl::StripTrailingAsciiWhitespace(
        absl::string_view(reinterpret_cast<const char*>(chars), size)));
  };
  RawTokenInfo out;
  out.label = text(info.label, sizeof(info.label));
  out.manufacturer = text(info.manufacturerID, sizeof(info.manufacturerID));
  out.model = text(info.model, sizeof(info.model));
  out.serial = text(info.serialNumber, sizeof(info.serialNumber));
  out.firmware =
      absl::StrCat(info.firmwareVersion.major, ".", info.firmwareVersion.minor);
  return out;
}

// Creates a generic-secret token object holding `value`, labelled `label`,
// with every protection the custody policy requires turned off: extractable,
// not sensitive, modifiable, and allowed to derive, encrypt, decrypt, wrap
// and unwrap. CK_INVALID_HANDLE (and the CK_RV in *rv) on failure.
inline CK_OBJECT_HANDLE CreateWeakSecretKey(hsm::Session& session,
                                            const std::string& label,
                                            const std::string& id,
                                            const std::string& value,
                                            CK_RV* rv) {
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_KEY_TYPE type = CKK_GENERIC_SECRET;
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  CK_ATTRIBUTE tmpl[] = {
      {CKA_CLASS, &cls, sizeof(cls)},
      {CKA_KEY_TYPE, &type, sizeof(type)},
      {CKA_LABEL, const_cast<char*>(label.data()), label.size()},
      {CKA_ID, const_cast<char*>(id.data()), id.size()},
      {CKA_VALUE, const_cast<char*>(value.data()), value.size()},
      {CKA_TOKEN, &yes, sizeof(yes)},
      {CKA_PRIVATE, &yes, sizeof(yes)},
      {CKA_SENSITIVE, &no, sizeof(no)},
      {CKA_EXTRACTABLE, &yes, sizeof(yes)},
      {CKA_MODIFIABLE, &yes, sizeof(yes)},
      {CKA_SIGN, &yes, sizeof(yes)},
      {CKA_VERIFY, &yes, sizeof(yes)},
      {CKA_DERIVE, &yes, sizeof(yes)},
      {CKA_ENCRYPT, &yes, sizeof(yes)},
      {CKA_DECRYPT, &yes, sizeof(yes)},
      {CKA_WRAP, &yes, sizeof(yes)},
      {CKA_UNWRAP, &yes, sizeof(yes)},
  };
  CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
  *rv = session.fn()->C_CreateObject(session.handle(), tmpl,
                                     sizeof(tmpl) / sizeof(tmpl[0]), &handle);
  return *rv == CKR_OK ? handle : CK_INVALID_HANDLE;
}

// C_DestroyObject.
inline CK_RV DestroyObject(hsm::Session& session, CK_OBJECT_HANDLE object) {
  return session.fn()->C_DestroyObject(session.handle(), object);
}

}  // namespace idsign::testing::raw

#endif  // IDSIGN_TESTS_TESTING_RAW_PKCS11_H_
