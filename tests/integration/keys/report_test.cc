// The custody report (BuildKeyReport, what ListKeys and `idsign custody
// report` show): every field is checked against attributes read directly
// from the token with raw C_GetAttributeValue and C_GetTokenInfo, and
// against what the test itself did to the keys.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "google/protobuf/util/time_util.h"
#include "service/key_report.h"
#include "service/keys/hsm_key_store.h"
#include "service/keys/key_admin.h"
#include "service/keys/key_name.h"
#include "service/keys/ring_edit.h"
#include "tests/integration/keys/keys_test_util.h"
#include "tests/integration/keys/raw_pkcs11.h"
#include "tests/testing/oracle.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::keys {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::idsign::keys::test::RawBoolOf;
using ::idsign::keys::test::RawBytes;
using ::idsign::keys::test::RawCreateKey;
using ::idsign::keys::test::RawDestroy;
using ::idsign::keys::test::RawFind;
using ::idsign::keys::test::RawSession;
using ::idsign::keys::test::RawUlongOf;
using ::idsign::keys::test::Secret;
using ::idsign::keys::test::WeakKeySpec;
using ::idsign::testing::IsOk;
using ::idsign::testing::OpenSslSha1;
using ::idsign::testing::TestToken;
using ::testing::Contains;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

std::string Hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

std::string Trimmed(const CK_UTF8CHAR* field, size_t size) {
  std::string text(reinterpret_cast<const char*>(field), size);
  return text.substr(0, text.find_last_not_of(' ') + 1);
}

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_ = TestToken::Get().Open();
    session_ = RawSession(*token_);
    ASSERT_TRUE(session_.has_value());
  }
  void TearDown() override { session_.reset(); }

  v1::ListKeysResponse Report() {
    auto store = HsmKeyStore::Create(token_.get());
    EXPECT_THAT(store, IsOk());
    if (!store.ok()) return {};
    return service::BuildKeyReport((*store)->List(),
                                   (*store)->token_description());
  }

  static const v1::Key* FindKey(const v1::ListKeysResponse& report,
                                const std::string& name) {
    for (const v1::Key& key : report.keys()) {
      if (key.name() == name) return &key;
    }
    ADD_FAILURE() << name << " is not in the report";
    return nullptr;
  }

  // Compares one version's object fields with the token's own answers.
  void ExpectMatchesToken(const std::string& name, const v1::KeyVersion& out) {
    SCOPED_TRACE(name + " v" + std::to_string(out.version()));
    std::vector<CK_OBJECT_HANDLE> objects =
        RawFind(*session_, CKO_SECRET_KEY, ObjectLabel(name, out.version()));
    ASSERT_EQ(objects.size(), 1u);
    const CK_OBJECT_HANDLE object = objects[0];
    auto raw = [&](CK_ATTRIBUTE_TYPE type) {
      std::optional<bool> value = RawBoolOf(*session_, object, type);
      EXPECT_TRUE(value.has_value()) << "attribute 0x" << std::hex << type;
      return value.value_or(false);
    };
    const v1::KeyAttributes& a = out.attributes();
    EXPECT_EQ(a.sensitive(), raw(CKA_SENSITIVE));
    EXPECT_EQ(a.always_sensitive(), raw(CKA_ALWAYS_SENSITIVE));
    EXPECT_EQ(a.extractable(), raw(CKA_EXTRACTABLE));
    EXPECT_EQ(a.never_extractable(), raw(CKA_NEVER_EXTRACTABLE));
    EXPECT_EQ(a.modifiable(), raw(CKA_MODIFIABLE));
    EXPECT_EQ(a.copyable(), raw(CKA_COPYABLE));
    EXPECT_EQ(a.local(), raw(CKA_LOCAL));
    EXPECT_EQ(a.token(), raw(CKA_TOKEN));
    EXPECT_EQ(a.private_(), raw(CKA_PRIVATE));
    EXPECT_TRUE(a.has_sensitive() && a.has_extractable() && a.has_local());
    EXPECT_EQ(out.origin(), raw(CKA_LOCAL) ? v1::KEY_ORIGIN_GENERATED
                                           : v1::KEY_ORIGIN_IMPORTED);

    std::optional<CK_ULONG> key_type =
        RawUlongOf(*session_, object, CKA_KEY_TYPE);
    ASSERT_EQ(key_type, static_cast<CK_ULONG>(CKK_GENERIC_SECRET));
    EXPECT_EQ(out.key_type(), "CKK_GENERIC_SECRET");
    EXPECT_EQ(RawUlongOf(*session_, object, CKA_VALUE_LEN),
              static_cast<CK_ULONG>(out.size_bytes()));
    std::optional<std::string> check_value =
        RawBytes(*session_, object, CKA_CHECK_VALUE);
    ASSERT_TRUE(check_value.has_value());
    EXPECT_EQ(check_value->size(), 3u);
    EXPECT_EQ(out.check_value(), Hex(*check_value));
    EXPECT_EQ(out.object_id(),
              Hex(RawBytes(*session_, object, CKA_ID).value()));

    std::vector<std::string> usages;
    const std::pair<CK_ATTRIBUTE_TYPE, const char*> kUsages[] = {
        {CKA_SIGN, "sign"},       {CKA_VERIFY, "verify"},
        {CKA_ENCRYPT, "encrypt"}, {CKA_DECRYPT, "decrypt"},
        {CKA_WRAP, "wrap"},       {CKA_UNWRAP, "unwrap"},
        {CKA_DERIVE, "derive"}};
    for (const auto& [type, usage] : kUsages) {
      if (raw(type)) usages.push_back(usage);
    }
    EXPECT_THAT(out.usages(), ElementsAreArray(usages));
  }

  std::unique_ptr<hsm::Token> token_;
  std::optional<hsm::Session> session_;
};

TEST_F(ReportTest, VersionsMatchTheToken) {
  const std::string name = "report/versions";
  const std::string v1_secret = "report-imported-secret-0123456789abcdefgh";
  const std::string v3_secret = "short";  // zero-padded to the token minimum
  const int64_t before = NowUnixMs();
  ASSERT_THAT(ImportKey(*token_, name, Secret(v1_secret), "alice@report"),
              IsOk());
  ASSERT_THAT(RotateKey(*token_, name, {nullptr, 48}, true, "bob@report"),
              IsOk());
  const hsm::SecretBytes v3_bytes = Secret(v3_secret);
  auto v3 = RotateKey(*token_, name, {&v3_bytes}, false, "carol@report");
  ASSERT_THAT(v3, IsOk());
  auto v4 = RotateKey(*token_, name, {nullptr, 32}, false, "dave@report");
  ASSERT_THAT(v4, IsOk());
  ASSERT_THAT(DisableVersion(*token_, name, 3), IsOk());
  ASSERT_THAT(DestroyVersion(*token_, name, 4), IsOk());
  ASSERT_THAT(SetMinVerifyVersion(*token_, name, 2), IsOk());
  const int64_t after = NowUnixMs();

  v1::ListKeysResponse report = Report();
  const v1::Key* key = FindKey(report, name);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->primary_version(), 2u);
  EXPECT_EQ(key->min_verify_version(), 2u);
  EXPECT_TRUE(key->usable());
  EXPECT_EQ(key->problem(), "");
  EXPECT_EQ(key->ring_generation(), 7u);
  ASSERT_EQ(key->versions_size(), 4);

  const v1::KeyVersionState kStates[] = {
      v1::KEY_VERSION_STATE_ENABLED, v1::KEY_VERSION_STATE_ENABLED,
      v1::KEY_VERSION_STATE_DISABLED, v1::KEY_VERSION_STATE_DESTROYED};
  const char* kCreators[] = {"alice@report", "bob@report", "carol@report",
                             "dave@report"};
  for (int i = 0; i < 4; ++i) {
    const v1::KeyVersion& out = key->versions(i);
    SCOPED_TRACE(out.version());
    EXPECT_EQ(out.version(), static_cast<uint32_t>(i + 1));
    EXPECT_EQ(out.state(), kStates[i]);
    EXPECT_EQ(out.primary(), i == 1);
    EXPECT_EQ(out.created_by(), kCreators[i]);
    EXPECT_EQ(out.scheme(), "hmac-sha256");
    const int64_t created = TimeUtil::TimestampToMilliseconds(out.created_at());
    EXPECT_GE(created, before);
    EXPECT_LE(created, after);
    if (out.state() != v1::KEY_VERSION_STATE_DESTROYED) {
      ExpectMatchesToken(name, out);
      EXPECT_TRUE(out.policy().allowed());
      EXPECT_THAT(out.policy().reasons(), IsEmpty());
    }
  }
  // Imported keys: the check value is SHA-1 over the stored bytes, padding
  // included, as an operator would compute it with openssl.
  auto range = token_->MechanismKeySizes(CKM_SHA256_HMAC);
  ASSERT_THAT(range, IsOk());
  EXPECT_EQ(key->versions(0).check_value(),
            Hex(OpenSslSha1(v1_secret).substr(0, 3)));
  EXPECT_EQ(key->versions(0).size_bytes(), v1_secret.size());
  const std::string v3_stored = v3_secret + std::string(range->min - 5, '\0');
  EXPECT_EQ(key->versions(2).check_value(),
            Hex(OpenSslSha1(v3_stored).substr(0, 3)));
  EXPECT_EQ(key->versions(2).size_bytes(), range->min);
  EXPECT_EQ(key->versions(1).size_bytes(), 48u);
  EXPECT_EQ(key->versions(1).origin(), v1::KEY_ORIGIN_GENERATED);
  EXPECT_EQ(key->versions(0).origin(), v1::KEY_ORIGIN_IMPORTED);

  // The destroyed version keeps the ring's record of what it was.
  const v1::KeyVersion& destroyed = key->versions(3);
  EXPECT_TRUE(RawFind(*session_, CKO_SECRET_KEY, ObjectLabel(name, 4)).empty());
  EXPECT_EQ(destroyed.object_id(), Hex(v4->object_id));
  EXPECT_EQ(destroyed.check_value(), Hex(v4->check_value));
  EXPECT_EQ(destroyed.origin(), v1::KEY_ORIGIN_GENERATED);
  EXPECT_FALSE(destroyed.has_attributes());
  EXPECT_THAT(destroyed.usages(), IsEmpty());
}

TEST_F(ReportTest, WeakKeyIsReportedAsTheTokenSeesIt) {
  const std::string name = "report/weak";
  const std::string secret = "report-weak-secret-0123456789abcd";
  auto created = ImportKey(*token_, name, Secret(secret));
  ASSERT_THAT(created, IsOk());
  std::vector<CK_OBJECT_HANDLE> objects =
      RawFind(*session_, CKO_SECRET_KEY, created->label);
  ASSERT_EQ(objects.size(), 1u);
  ASSERT_EQ(RawDestroy(*session_, objects[0]), CKR_OK);
  ASSERT_NE(RawCreateKey(*session_, WeakKeySpec{created->label,
                                                created->object_id, secret}),
            CK_INVALID_HANDLE);

  v1::ListKeysResponse report = Report();
  const v1::Key* key = FindKey(report, name);
  ASSERT_NE(key, nullptr);
  EXPECT_FALSE(key->usable());
  ASSERT_EQ(key->versions_size(), 1);
  const v1::KeyVersion& out = key->versions(0);
  ExpectMatchesToken(name, out);
  EXPECT_FALSE(out.attributes().sensitive());
  EXPECT_TRUE(out.attributes().extractable());
  EXPECT_THAT(out.usages(), Contains("derive"));
  EXPECT_FALSE(out.policy().allowed());
  EXPECT_THAT(out.policy().reasons(), Contains("CKA_EXTRACTABLE is true"));
  EXPECT_THAT(out.policy().reasons(), Contains("CKA_SENSITIVE is false"));
}

TEST_F(ReportTest, TokenMatchesCkTokenInfo) {
  CK_TOKEN_INFO info;
  ASSERT_EQ(session_->fn()->C_GetTokenInfo(token_->slot(), &info), CKR_OK);
  v1::ListKeysResponse report = Report();
  const v1::TokenInfo& token = report.token();
  EXPECT_EQ(token.label(), Trimmed(info.label, sizeof(info.label)));
  EXPECT_EQ(token.label(), TestToken::Get().label());
  EXPECT_EQ(token.manufacturer(),
            Trimmed(info.manufacturerID, sizeof(info.manufacturerID)));
  EXPECT_EQ(token.model(), Trimmed(info.model, sizeof(info.model)));
  EXPECT_EQ(token.serial(),
            Trimmed(info.serialNumber, sizeof(info.serialNumber)));
  EXPECT_EQ(token.firmware(), std::to_string(info.firmwareVersion.major) + "." +
                                  std::to_string(info.firmwareVersion.minor));
  EXPECT_FALSE(token.manufacturer().empty());
  EXPECT_FALSE(token.serial().empty());
}

}  // namespace
}  // namespace idsign::keys
