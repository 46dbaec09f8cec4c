// Key custody: keys made by ImportKey and GenerateKey carry the locked-down
// attribute set, and the token refuses every attempt to get their value out
// or to weaken them. The attempts use raw Cryptoki with the user logged in,
// which is what anyone holding the PIN could do.
//
// Each refusal is paired with a control on a deliberately weak session key,
// so a refusal cannot come from a malformed call.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "hsm/ckr.h"
#include "hsm/objects.h"
#include "service/keys/key_admin.h"
#include "tests/integration/keys/keys_test_util.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::keys {
namespace {

using ::idsign::keys::test::ObjectsLabelled;
using ::idsign::keys::test::Secret;
using ::idsign::testing::IsOk;
using ::idsign::testing::TestToken;
using ::testing::Optional;

enum class Origin { kImported, kGenerated };

void PrintTo(Origin origin, std::ostream* os) {
  *os << (origin == Origin::kImported ? "imported key" : "generated key");
}

CK_BBOOL kTrue = CK_TRUE;
CK_BBOOL kFalse = CK_FALSE;

CK_ATTRIBUTE BoolAttr(CK_ATTRIBUTE_TYPE type, bool value) {
  return {type, value ? &kTrue : &kFalse, sizeof(CK_BBOOL)};
}

bool AllZero(const std::vector<CK_BYTE>& bytes) {
  return std::all_of(bytes.begin(), bytes.end(),
                     [](CK_BYTE b) { return b == 0; });
}

class CustodyTest : public ::testing::TestWithParam<Origin> {
 protected:
  void SetUp() override {
    token_ = TestToken::Get().Open();
    fn_ = TestToken::Get().module()->fn();
    const bool imported = GetParam() == Origin::kImported;
    name_ = std::string("custody/") + (imported ? "imported" : "generated") +
            "/" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    auto created = imported
                       ? ImportKey(*token_, name_,
                                   Secret("custody-secret-0123456789abcdefgh"))
                       : GenerateKey(*token_, name_, 32);
    ASSERT_THAT(created, IsOk());
    label_ = created->label;
    std::vector<CK_OBJECT_HANDLE> handles = ObjectsLabelled(*token_, label_);
    ASSERT_EQ(handles.size(), 1u);
    key_ = handles[0];
    auto session = token_->Acquire();
    ASSERT_THAT(session, IsOk());
    session_.emplace(std::move(*session));
  }
  void TearDown() override { session_.reset(); }

  CK_SESSION_HANDLE session() const { return session_->handle(); }

  // A session-object secret key with the given extra attributes.
  CK_OBJECT_HANDLE SessionKey(CK_KEY_TYPE type, CK_MECHANISM_TYPE mechanism,
                              std::vector<CK_ATTRIBUTE> extra) {
    CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
    CK_ULONG length = 32;
    std::vector<CK_ATTRIBUTE> tmpl = {
        {CKA_CLASS, &klass, sizeof(klass)},
        {CKA_KEY_TYPE, &type, sizeof(type)},
        {CKA_VALUE_LEN, &length, sizeof(length)},
        BoolAttr(CKA_TOKEN, false),
    };
    tmpl.insert(tmpl.end(), extra.begin(), extra.end());
    CK_MECHANISM mech{mechanism, nullptr, 0};
    CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
    EXPECT_EQ(
        fn_->C_GenerateKey(session(), &mech, tmpl.data(), tmpl.size(), &handle),
        CKR_OK);
    return handle;
  }

  // An AES-256 session key allowed to wrap, itself locked down.
  CK_OBJECT_HANDLE WrappingKey() {
    return SessionKey(CKK_AES, CKM_AES_KEY_GEN,
                      {BoolAttr(CKA_WRAP, true), BoolAttr(CKA_SENSITIVE, true),
                       BoolAttr(CKA_EXTRACTABLE, false)});
  }

  // A generic secret that is extractable, modifiable and copyable.
  CK_OBJECT_HANDLE WeakKey() {
    return SessionKey(
        CKK_GENERIC_SECRET, CKM_GENERIC_SECRET_KEY_GEN,
        {BoolAttr(CKA_EXTRACTABLE, true), BoolAttr(CKA_SENSITIVE, false),
         BoolAttr(CKA_MODIFIABLE, true), BoolAttr(CKA_COPYABLE, true),
         BoolAttr(CKA_SIGN, true)});
  }

  hsm::SecretKeyInfo Info() {
    auto info = hsm::ReadSecretKeyInfo(*session_, key_);
    EXPECT_THAT(info, IsOk());
    return info.ok() ? *info : hsm::SecretKeyInfo{};
  }

  // C_WrapKey into a zeroed buffer; `out` receives the buffer afterwards.
  CK_RV Wrap(CK_MECHANISM_TYPE mechanism, CK_OBJECT_HANDLE wrapping,
             CK_OBJECT_HANDLE target, std::vector<CK_BYTE>& out,
             CK_ULONG& out_len) {
    CK_BYTE iv[16] = {};
    CK_MECHANISM mech{mechanism, nullptr, 0};
    if (mechanism == CKM_AES_CBC || mechanism == CKM_AES_CBC_PAD) {
      mech.pParameter = iv;
      mech.ulParameterLen = sizeof(iv);
    }
    out.assign(1024, 0);
    out_len = out.size();
    return fn_->C_WrapKey(session(), &mech, wrapping, target, out.data(),
                          &out_len);
  }

  std::unique_ptr<hsm::Token> token_;
  CK_FUNCTION_LIST* fn_ = nullptr;
  std::string name_;
  std::string label_;
  CK_OBJECT_HANDLE key_ = CK_INVALID_HANDLE;
  std::optional<hsm::Session> session_;
};

TEST_P(CustodyTest, AttributesAreLockedDown) {
  hsm::SecretKeyInfo info = Info();
  EXPECT_EQ(info.key_type, static_cast<CK_KEY_TYPE>(CKK_GENERIC_SECRET));
  EXPECT_THAT(info.token, Optional(true));
  EXPECT_THAT(info.is_private, Optional(true));
  EXPECT_THAT(info.sensitive, Optional(true));
  EXPECT_THAT(info.sign, Optional(true));
  EXPECT_THAT(info.verify, Optional(true));
  EXPECT_THAT(info.extractable, Optional(false));
  EXPECT_THAT(info.derive, Optional(false));
  EXPECT_THAT(info.encrypt, Optional(false));
  EXPECT_THAT(info.decrypt, Optional(false));
  EXPECT_THAT(info.wrap, Optional(false));
  EXPECT_THAT(info.unwrap, Optional(false));
  EXPECT_THAT(info.modifiable, Optional(false));
  EXPECT_THAT(info.copyable, Optional(false));
  if (GetParam() == Origin::kGenerated) {
    EXPECT_THAT(info.local, Optional(true));
    EXPECT_THAT(info.always_sensitive, Optional(true));
    EXPECT_THAT(info.never_extractable, Optional(true));
  } else {
    EXPECT_THAT(info.local, Optional(false));
  }
}

TEST_P(CustodyTest, ValueIsSensitive) {
  CK_ATTRIBUTE query{CKA_VALUE, nullptr, 0};
  EXPECT_EQ(fn_->C_GetAttributeValue(session(), key_, &query, 1),
            CKR_ATTRIBUTE_SENSITIVE);
  EXPECT_EQ(query.ulValueLen, CK_UNAVAILABLE_INFORMATION);

  std::vector<CK_BYTE> buffer(1024, 0);
  CK_ATTRIBUTE read{CKA_VALUE, buffer.data(), buffer.size()};
  EXPECT_EQ(fn_->C_GetAttributeValue(session(), key_, &read, 1),
            CKR_ATTRIBUTE_SENSITIVE);
  EXPECT_EQ(read.ulValueLen, CK_UNAVAILABLE_INFORMATION);
  EXPECT_TRUE(AllZero(buffer));

  // Control: the same call reads a non-sensitive key.
  CK_OBJECT_HANDLE weak = WeakKey();
  CK_ATTRIBUTE control{CKA_VALUE, buffer.data(), buffer.size()};
  EXPECT_EQ(fn_->C_GetAttributeValue(session(), weak, &control, 1), CKR_OK);
  EXPECT_EQ(control.ulValueLen, 32u);
}

TEST_P(CustodyTest, WrapIsRefused) {
  CK_OBJECT_HANDLE wrapping = WrappingKey();
  CK_OBJECT_HANDLE weak = WeakKey();
  // Mechanisms SoftHSM2 wraps secret keys with: each is first shown to work
  // on an extractable key, so the refusal below is about the key.
  for (CK_MECHANISM_TYPE mechanism : {CKM_AES_KEY_WRAP, CKM_AES_CBC}) {
    std::vector<CK_BYTE> out;
    CK_ULONG out_len = 0;
    ASSERT_EQ(Wrap(mechanism, wrapping, weak, out, out_len), CKR_OK)
        << "mechanism 0x" << std::hex << mechanism;
    EXPECT_GE(out_len, 32u);

    CK_RV rv = Wrap(mechanism, wrapping, key_, out, out_len);
    RecordProperty(absl::StrFormat("wrap_%#x", mechanism), hsm::CkrName(rv));
    EXPECT_EQ(rv, CKR_KEY_UNEXTRACTABLE) << hsm::CkrName(rv);
    EXPECT_TRUE(AllZero(out)) << "bytes came out of C_WrapKey";
  }
  // Padding mechanisms SoftHSM2 2.6.1 does not wrap with at all; whatever a
  // token answers, no key bytes may come out.
  for (CK_MECHANISM_TYPE mechanism : {CKM_AES_CBC_PAD, CKM_AES_KEY_WRAP_PAD}) {
    std::vector<CK_BYTE> out;
    CK_ULONG out_len = 0;
    CK_RV rv = Wrap(mechanism, wrapping, key_, out, out_len);
    RecordProperty(absl::StrFormat("wrap_%#x", mechanism), hsm::CkrName(rv));
    EXPECT_NE(rv, CKR_OK) << "mechanism 0x" << std::hex << mechanism;
    EXPECT_TRUE(AllZero(out)) << "bytes came out of C_WrapKey";
  }
}

TEST_P(CustodyTest, WeakeningAttributesIsRefused) {
  const std::vector<CK_ATTRIBUTE> attempts = {
      BoolAttr(CKA_EXTRACTABLE, true), BoolAttr(CKA_SENSITIVE, false),
      BoolAttr(CKA_DERIVE, true),      BoolAttr(CKA_ENCRYPT, true),
      BoolAttr(CKA_WRAP, true),        BoolAttr(CKA_MODIFIABLE, true),
      BoolAttr(CKA_COPYABLE, true)};
  for (CK_ATTRIBUTE attempt : attempts) {
    CK_RV rv = fn_->C_SetAttributeValue(session(), key_, &attempt, 1);
    RecordProperty(absl::StrFormat("set_%#x", attempt.type), hsm::CkrName(rv));
    EXPECT_NE(rv, CKR_OK) << "attribute 0x" << std::hex << attempt.type;
  }
  hsm::SecretKeyInfo info = Info();
  EXPECT_THAT(info.extractable, Optional(false));
  EXPECT_THAT(info.sensitive, Optional(true));
  EXPECT_THAT(info.derive, Optional(false));
  EXPECT_THAT(info.encrypt, Optional(false));
  EXPECT_THAT(info.wrap, Optional(false));
  EXPECT_THAT(info.modifiable, Optional(false));
  EXPECT_THAT(info.copyable, Optional(false));

  // Control: the token lets a modifiable key gain CKA_DERIVE.
  CK_OBJECT_HANDLE weak = WeakKey();
  CK_ATTRIBUTE derive = BoolAttr(CKA_DERIVE, true);
  EXPECT_EQ(fn_->C_SetAttributeValue(session(), weak, &derive, 1), CKR_OK);
}

TEST_P(CustodyTest, CopyingWithWeakerAttributesIsRefused) {
  // Every template carries a label: SoftHSM2 rejects a NULL template with
  // CKR_ARGUMENTS_BAD before looking at the key.
  std::string copy_label = "custody-copy";
  const CK_ATTRIBUTE label{CKA_LABEL, copy_label.data(), copy_label.size()};
  const std::vector<std::vector<CK_ATTRIBUTE>> templates = {
      {label},
      {label, BoolAttr(CKA_EXTRACTABLE, true)},
      {label, BoolAttr(CKA_SENSITIVE, false)},
      {label, BoolAttr(CKA_MODIFIABLE, true)},
      {label, BoolAttr(CKA_TOKEN, false), BoolAttr(CKA_EXTRACTABLE, true),
       BoolAttr(CKA_SENSITIVE, false), BoolAttr(CKA_MODIFIABLE, true)},
  };
  for (size_t i = 0; i < templates.size(); ++i) {
    std::vector<CK_ATTRIBUTE> tmpl = templates[i];
    CK_OBJECT_HANDLE copy = CK_INVALID_HANDLE;
    CK_RV rv =
        fn_->C_CopyObject(session(), key_, tmpl.data(), tmpl.size(), &copy);
    RecordProperty("copy_" + std::to_string(i), hsm::CkrName(rv));
    EXPECT_EQ(rv, CKR_ACTION_PROHIBITED)
        << "template #" << i << ": " << hsm::CkrName(rv);
    EXPECT_EQ(copy, static_cast<CK_OBJECT_HANDLE>(CK_INVALID_HANDLE));
  }
  EXPECT_EQ(ObjectsLabelled(*token_, label_).size(), 1u);
  EXPECT_TRUE(ObjectsLabelled(*token_, copy_label).empty());

  // Control: a copyable key can be copied with the same call.
  CK_OBJECT_HANDLE weak = WeakKey();
  std::vector<CK_ATTRIBUTE> tmpl = templates.back();
  CK_OBJECT_HANDLE copy = CK_INVALID_HANDLE;
  EXPECT_EQ(fn_->C_CopyObject(session(), weak, tmpl.data(), tmpl.size(), &copy),
            CKR_OK);
  EXPECT_NE(copy, static_cast<CK_OBJECT_HANDLE>(CK_INVALID_HANDLE));
}

INSTANTIATE_TEST_SUITE_P(Keys, CustodyTest,
                         ::testing::Values(Origin::kImported,
                                           Origin::kGenerated),
                         [](const ::testing::TestParamInfo<Origin>& info) {
                           return info.param == Origin::kImported
                                      ? std::string("Imported")
                                      : std::string("Generated");
                         });

}  // namespace
}  // namespace idsign::keys
