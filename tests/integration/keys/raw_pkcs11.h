// Raw Cryptoki for the keys integration tests: what anyone holding the user
// PIN could do to the token behind idsign's back, and independent reads of
// what the token stores. Nothing here goes through hsm::ReadSecretKeyInfo or
// the ring code, so the tests can compare idsign's view with the token's.
#ifndef IDSIGN_TESTS_INTEGRATION_KEYS_RAW_PKCS11_H_
#define IDSIGN_TESTS_INTEGRATION_KEYS_RAW_PKCS11_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "hsm/session_pool.h"
#include "hsm/token.h"

namespace idsign::keys::test {

inline CK_BBOOL kRawTrue = CK_TRUE;
inline CK_BBOOL kRawFalse = CK_FALSE;

inline CK_ATTRIBUTE RawBool(CK_ATTRIBUTE_TYPE type, bool value) {
  return {type, value ? &kRawTrue : &kRawFalse, sizeof(CK_BBOOL)};
}

inline CK_ATTRIBUTE RawText(CK_ATTRIBUTE_TYPE type, const std::string& value) {
  return {type, const_cast<char*>(value.data()), value.size()};
}

// A session borrowed from `token`; fails the test if none is available.
inline std::optional<hsm::Session> RawSession(hsm::Token& token) {
  auto session = token.Acquire();
  EXPECT_TRUE(session.ok()) << session.status();
  if (!session.ok()) return std::nullopt;
  return std::move(*session);
}

// C_FindObjects* over objects of `klass` labelled `label`.
inline std::vector<CK_OBJECT_HANDLE> RawFind(hsm::Session& session,
                                             CK_OBJECT_CLASS klass,
                                             const std::string& label) {
  CK_FUNCTION_LIST* fn = session.fn();
  std::vector<CK_ATTRIBUTE> tmpl = {{CKA_CLASS, &klass, sizeof(klass)},
                                    RawText(CKA_LABEL, label)};
  std::vector<CK_OBJECT_HANDLE> found;
  EXPECT_EQ(fn->C_FindObjectsInit(session.handle(), tmpl.data(), tmpl.size()),
            CKR_OK);
  std::array<CK_OBJECT_HANDLE, 16> batch;
  CK_ULONG count = 0;
  while (fn->C_FindObjects(session.handle(), batch.data(), batch.size(),
                           &count) == CKR_OK &&
         count > 0) {
    found.insert(found.end(), batch.begin(), batch.begin() + count);
  }
  EXPECT_EQ(fn->C_FindObjectsFinal(session.handle()), CKR_OK);
  return found;
}

// An attribute's bytes, or nullopt if the token would not give them.
inline std::optional<std::string> RawBytes(hsm::Session& session,
                                           CK_OBJECT_HANDLE handle,
                                           CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE attr{type, nullptr, 0};
  if (session.fn()->C_GetAttributeValue(session.handle(), handle, &attr, 1) !=
          CKR_OK ||
      attr.ulValueLen == CK_UNAVAILABLE_INFORMATION) {
    return std::nullopt;
  }
  std::string value(attr.ulValueLen, '\0');
  attr.pValue = value.data();
  if (session.fn()->C_GetAttributeValue(session.handle(), handle, &attr, 1) !=
      CKR_OK) {
    return std::nullopt;
  }
  value.resize(attr.ulValueLen);
  return value;
}

inline std::optional<bool> RawBoolOf(hsm::Session& session,
                                     CK_OBJECT_HANDLE handle,
                                     CK_ATTRIBUTE_TYPE type) {
  std::optional<std::string> bytes = RawBytes(session, handle, type);
  if (!bytes || bytes->size() != sizeof(CK_BBOOL)) return std::nullopt;
  return static_cast<CK_BBOOL>((*bytes)[0]) == CK_TRUE;
}

inline std::optional<CK_ULONG> RawUlongOf(hsm::Session& session,
                                          CK_OBJECT_HANDLE handle,
                                          CK_ATTRIBUTE_TYPE type) {
  std::optional<std::string> bytes = RawBytes(session, handle, type);
  if (!bytes || bytes->size() != sizeof(CK_ULONG)) return std::nullopt;
  CK_ULONG value = 0;
  std::copy(bytes->begin(), bytes->end(), reinterpret_cast<char*>(&value));
  return value;
}

inline CK_RV RawDestroy(hsm::Session& session, CK_OBJECT_HANDLE handle) {
  return session.fn()->C_DestroyObject(session.handle(), handle);
}

// A generic secret holding `value`, created with C_CreateObject and the
// given protection attributes: what a careless or hostile PIN holder makes.
struct WeakKeySpec {
  std::string label;
  std::string id;
  std::string value;
  bool token = true;
  bool sensitive = false;
  bool extractable = true;
  bool modifiable = true;
  bool derive = true;
  bool encrypt = true;
};

inline CK_OBJECT_HANDLE RawCreateKey(hsm::Session& session,
                                     const WeakKeySpec& spec) {
  CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
  CK_KEY_TYPE type = CKK_GENERIC_SECRET;
  std::vector<CK_ATTRIBUTE> tmpl = {
      {CKA_CLASS, &klass, sizeof(klass)},
      {CKA_KEY_TYPE, &type, sizeof(type)},
      RawText(CKA_LABEL, spec.label),
      RawText(CKA_ID, spec.id),
      RawText(CKA_VALUE, spec.value),
      RawBool(CKA_TOKEN, spec.token),
      RawBool(CKA_PRIVATE, true),
      RawBool(CKA_SIGN, true),
      RawBool(CKA_VERIFY, true),
      RawBool(CKA_SENSITIVE, spec.sensitive),
      RawBool(CKA_EXTRACTABLE, spec.extractable),
      RawBool(CKA_MODIFIABLE, spec.modifiable),
      RawBool(CKA_DERIVE, spec.derive),
      RawBool(CKA_ENCRYPT, spec.encrypt),
      RawBool(CKA_DECRYPT, false),
      RawBool(CKA_WRAP, false),
      RawBool(CKA_UNWRAP, false),
  };
  CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
  EXPECT_EQ(session.fn()->C_CreateObject(session.handle(), tmpl.data(),
                                         tmpl.size(), &handle),
            CKR_OK)
      << spec.label;
  return handle;
}

}  // namespace idsign::keys::test

#endif  // IDSIGN_TESTS_INTEGRATION_KEYS_RAW_PKCS11_H_
