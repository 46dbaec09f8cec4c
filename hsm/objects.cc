#include "hsm/objects.h"

#include <array>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "hsm/input_bytes.h"
#include "hsm/status_macros.h"

namespace idsign::hsm {
namespace {

CK_BBOOL kTrue = CK_TRUE;
CK_BBOOL kFalse = CK_FALSE;

CK_ATTRIBUTE Bool(CK_ATTRIBUTE_TYPE type, bool value) {
  return {type, value ? &kTrue : &kFalse, sizeof(CK_BBOOL)};
}

CK_ATTRIBUTE Bytes(CK_ATTRIBUTE_TYPE type, const std::string& value) {
  return {type, const_cast<char*>(value.data()), value.size()};
}

// The key-object template both creation paths share: usable to sign and
// verify only, locked down in every other respect.
std::vector<CK_ATTRIBUTE> LockedDownTemplate(const NewKey& key,
                                             CK_OBJECT_CLASS* klass,
                                             CK_KEY_TYPE* type) {
  return {
      {CKA_CLASS, klass, sizeof(*klass)},
      {CKA_KEY_TYPE, type, sizeof(*type)},
      Bytes(CKA_LABEL, key.label),
      Bytes(CKA_ID, key.id),
      Bool(CKA_TOKEN, true),
      Bool(CKA_PRIVATE, true),
      Bool(CKA_SENSITIVE, true),
      Bool(CKA_SIGN, true),
      Bool(CKA_VERIFY, true),
      Bool(CKA_EXTRACTABLE, false),
      Bool(CKA_DERIVE, false),
      Bool(CKA_ENCRYPT, false),
      Bool(CKA_DECRYPT, false),
      Bool(CKA_WRAP, false),
      Bool(CKA_UNWRAP, false),
      Bool(CKA_MODIFIABLE, false),
      Bool(CKA_COPYABLE, false),
  };
}

}  // namespace

absl::StatusOr<std::optional<std::string>> ReadBytesAttribute(
    Session& session, CK_OBJECT_HANDLE handle, CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE attr{type, nullptr, 0};
  CK_RV rv =
      session.fn()->C_GetAttributeValue(session.handle(), handle, &attr, 1);
  if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_ATTRIBUTE_SENSITIVE ||
      attr.ulValueLen == CK_UNAVAILABLE_INFORMATION) {
    return std::nullopt;
  }
  RETURN_IF_ERROR(session.Check("C_GetAttributeValue", rv));
  std::string out(attr.ulValueLen, '\0');
  attr.pValue = out.data();
  RETURN_IF_ERROR(session.Check(
      "C_GetAttributeValue",
      session.fn()->C_GetAttributeValue(session.handle(), handle, &attr, 1)));
  out.resize(attr.ulValueLen);
  return out;
}

absl::StatusOr<std::vector<CK_OBJECT_HANDLE>> FindObjects(
    Session& session, std::vector<CK_ATTRIBUTE> tmpl) {
  RETURN_IF_ERROR(session.Check(
      "C_FindObjectsInit", session.fn()->C_FindObjectsInit(
                               session.handle(), tmpl.data(), tmpl.size())));
  std::vector<CK_OBJECT_HANDLE> found;
  absl::Status status;
  while (true) {
    std::array<CK_OBJECT_HANDLE, 64> batch;
    CK_ULONG count = 0;
    status = session.Check("C_FindObjects", session.fn()->C_FindObjects(
                                                session.handle(), batch.data(),
                                                batch.size(), &count));
    if (!status.ok() || count == 0) break;
    found.insert(found.end(), batch.begin(), batch.begin() + count);
  }
  absl::Status final_status = session.Check(
      "C_FindObjectsFinal", session.fn()->C_FindObjectsFinal(session.handle()));
  RETURN_IF_ERROR(status);
  RETURN_IF_ERROR(final_status);
  return found;
}

std::string KeyTypeName(CK_KEY_TYPE type) {
  switch (type) {
    case CKK_GENERIC_SECRET:
      return "CKK_GENERIC_SECRET";
    case CKK_SHA256_HMAC:
      return "CKK_SHA256_HMAC";
    case CKK_AES:
      return "CKK_AES";
    default:
      return absl::StrFormat("CKK_0x%lx", type);
  }
}

absl::StatusOr<SecretKeyInfo> ReadSecretKeyInfo(Session& session,
                                                CK_OBJECT_HANDLE handle) {
  SecretKeyInfo info;
  info.handle = handle;
  // An attribute the token does not report reads as empty: the custody
  // policy judges the result, this only gathers it.
  for (auto [type, field] :
       {std::pair{CKA_LABEL, &info.label}, std::pair{CKA_ID, &info.id},
        std::pair{CKA_CHECK_VALUE, &info.check_value}}) {
    ASSIGN_OR_RETURN(std::optional<std::string> value,
                     ReadBytesAttribute(session, handle, type));
    *field = value.value_or("");
  }

  struct BoolField {
    CK_ATTRIBUTE_TYPE type;
    std::optional<bool> SecretKeyInfo::*field;
  };
  static constexpr BoolField kBools[] = {
      {CKA_TOKEN, &SecretKeyInfo::token},
      {CKA_PRIVATE, &SecretKeyInfo::is_private},
      {CKA_SENSITIVE, &SecretKeyInfo::sensitive},
      {CKA_ALWAYS_SENSITIVE, &SecretKeyInfo::always_sensitive},
      {CKA_EXTRACTABLE, &SecretKeyInfo::extractable},
      {CKA_NEVER_EXTRACTABLE, &SecretKeyInfo::never_extractable},
      {CKA_MODIFIABLE, &SecretKeyInfo::modifiable},
      {CKA_COPYABLE, &SecretKeyInfo::copyable},
      {CKA_LOCAL, &SecretKeyInfo::local},
      {CKA_SIGN, &SecretKeyInfo::sign},
      {CKA_VERIFY, &SecretKeyInfo::verify},
      {CKA_ENCRYPT, &SecretKeyInfo::encrypt},
      {CKA_DECRYPT, &SecretKeyInfo::decrypt},
      {CKA_WRAP, &SecretKeyInfo::wrap},
      {CKA_UNWRAP, &SecretKeyInfo::unwrap},
      {CKA_DERIVE, &SecretKeyInfo::derive},
  };
  constexpr size_t kCount = sizeof(kBools) / sizeof(kBools[0]);
  std::array<CK_BBOOL, kCount> values{};
  std::array<CK_ATTRIBUTE, kCount + 2> attrs;
  for (size_t i = 0; i < kCount; ++i) {
    attrs[i] = {kBools[i].type, &values[i], sizeof(CK_BBOOL)};
  }
  CK_ULONG value_len = 0;
  attrs[kCount] = {CKA_KEY_TYPE, &info.key_type, sizeof(info.key_type)};
  attrs[kCount + 1] = {CKA_VALUE_LEN, &value_len, sizeof(value_len)};
  CK_RV rv = session.fn()->C_GetAttributeValue(session.handle(), handle,
                                               attrs.data(), attrs.size());
  // Unreadable attributes come back with CK_UNAVAILABLE_INFORMATION.
  if (rv != CKR_ATTRIBUTE_TYPE_INVALID && rv != CKR_ATTRIBUTE_SENSITIVE) {
    RETURN_IF_ERROR(session.Check("C_GetAttributeValue", rv));
  }
  for (size_t i = 0; i < kCount; ++i) {
    if (attrs[i].ulValueLen == sizeof(CK_BBOOL)) {
      info.*(kBools[i].field) = values[i] == CK_TRUE;
    }
  }
  if (attrs[kCount + 1].ulValueLen == sizeof(CK_ULONG)) {
    info.value_len = value_len;
  }
  return info;
}

absl::StatusOr<std::vector<SecretKeyInfo>> ListSecretKeys(Session& session) {
  CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
  ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> handles,
                   FindObjects(session, {{CKA_CLASS, &klass, sizeof(klass)}}));
  std::vector<SecretKeyInfo> keys;
  keys.reserve(handles.size());
  for (CK_OBJECT_HANDLE handle : handles) {
    ASSIGN_OR_RETURN(SecretKeyInfo info, ReadSecretKeyInfo(session, handle));
    keys.push_back(std::move(info));
  }
  return keys;
}

absl::StatusOr<std::vector<CK_OBJECT_HANDLE>> FindSecretKeysByLabel(
    Session& session, absl::string_view label) {
  CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
  std::string text(label);
  return FindObjects(
      session, {{CKA_CLASS, &klass, sizeof(klass)}, Bytes(CKA_LABEL, text)});
}

absl::StatusOr<CK_OBJECT_HANDLE> ImportHmacKey(Session& session,
                                               const NewKey& key,
                                               const SecretBytes& value) {
  if (value.empty()) return absl::InvalidArgumentError("the secret is empty");
  CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
  CK_KEY_TYPE type = CKK_GENERIC_SECRET;
  std::vector<CK_ATTRIBUTE> tmpl = LockedDownTemplate(key, &klass, &type);
  tmpl.push_back({CKA_VALUE, const_cast<uint8_t*>(value.data()), value.size()});
  CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
  RETURN_IF_ERROR(
      session.Check("C_CreateObject",
                    session.fn()->C_CreateObject(session.handle(), tmpl.data(),
                                                 tmpl.size(), &handle)));
  return handle;
}

absl::StatusOr<CK_OBJECT_HANDLE> GenerateHmacKey(Session& session,
                                                 const NewKey& key,
                                                 size_t bytes) {
  CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
  CK_KEY_TYPE type = CKK_GENERIC_SECRET;
  CK_ULONG length = bytes;
  std::vector<CK_ATTRIBUTE> tmpl = LockedDownTemplate(key, &klass, &type);
  tmpl.push_back({CKA_VALUE_LEN, &length, sizeof(length)});
  CK_MECHANISM mechanism{CKM_GENERIC_SECRET_KEY_GEN, nullptr, 0};
  CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
  RETURN_IF_ERROR(session.Check(
      "C_GenerateKey",
      session.fn()->C_GenerateKey(session.handle(), &mechanism, tmpl.data(),
                                  tmpl.size(), &handle)));
  return handle;
}

absl::Status DestroyObject(Session& session, CK_OBJECT_HANDLE handle) {
  return session.Check("C_DestroyObject",
                       session.fn()->C_DestroyObject(session.handle(), handle));
}

absl::StatusOr<std::string> GenerateRandom(Session& session, size_t size) {
  std::string out(size, '\0');
  RETURN_IF_ERROR(session.Check(
      "C_GenerateRandom",
      session.fn()->C_GenerateRandom(
          session.handle(), reinterpret_cast<CK_BYTE*>(out.data()), size)));
  return out;
}

absl::StatusOr<std::string> Digest(Session& session,
                                   CK_MECHANISM_TYPE mechanism,
                                   absl::string_view data) {
  CK_MECHANISM mech{mechanism, nullptr, 0};
  RETURN_IF_ERROR(session.Check(
      "C_DigestInit", session.fn()->C_DigestInit(session.handle(), &mech)));
  std::string out(64, '\0');
  CK_ULONG out_len = out.size();
  RETURN_IF_ERROR(session.Check(
      "C_Digest", session.fn()->C_Digest(
                      session.handle(), InputBytes(data), data.size(),
                      reinterpret_cast<CK_BYTE*>(out.data()), &out_len)));
  out.resize(out_len);
  return out;
}

}  // namespace idsign::hsm
