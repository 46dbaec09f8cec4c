// keys::ImportKey and keys::GenerateKey on the test token: what they store,
// what they report, and what they refuse.
#include "service/keys/key_admin.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "hsm/objects.h"
#include "service/keys/hsm_key_store.h"
#include "service/keys/key_name.h"
#include "tests/integration/keys/keys_test_util.h"
#include "tests/testing/oracle.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::keys {
namespace {

using ::idsign::keys::test::AsString;
using ::idsign::keys::test::Bytes;
using ::idsign::keys::test::ObjectsLabelled;
using ::idsign::keys::test::Secret;
using ::idsign::testing::IsOk;
using ::idsign::testing::OpenSslHmacSha256;
using ::idsign::testing::OpenSslSha1;
using ::idsign::testing::StatusIs;
using ::idsign::testing::TestToken;
using ::testing::HasSubstr;

class KeyAdminTest : public ::testing::Test {
 protected:
  void SetUp() override { token_ = TestToken::Get().Open(); }

  // The MAC of `data` under `name`, signed by a fresh key store.
  std::string SignedByStore(const std::string& name, const std::string& data) {
    auto store = HsmKeyStore::Create(token_.get());
    EXPECT_THAT(store, IsOk());
    if (!store.ok()) return "";
    auto result = (*store)->Sign(name, data);
    EXPECT_THAT(result, IsOk());
    return result.ok() ? AsString(result->mac) : "";
  }

  // Attributes of the one object behind version 1 of `name`.
  hsm::SecretKeyInfo Info(const std::string& name) {
    auto handles = ObjectsLabelled(*token_, ObjectLabel(name, 1));
    EXPECT_EQ(handles.size(), 1u);
    if (handles.size() != 1) return {};
    auto session = token_->Acquire();
    EXPECT_THAT(session, IsOk());
    if (!session.ok()) return {};
    auto info = hsm::ReadSecretKeyInfo(*session, handles[0]);
    EXPECT_THAT(info, IsOk());
    return info.ok() ? *info : hsm::SecretKeyInfo{};
  }

  bool Exists(const std::string& name) {
    auto catalog = ReadCatalog(*token_);
    EXPECT_THAT(catalog, IsOk());
    return catalog.ok() && catalog->keys.count(name) > 0;
  }

  std::unique_ptr<hsm::Token> token_;
};

TEST_F(KeyAdminTest, ImportReportsWhatItStored) {
  const std::string secret = "0123456789abcdefghij0123456789ABCDEFGHIJ";
  auto created = ImportKey(*token_, "admin/import/plain", Secret(secret));
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->name, "admin/import/plain");
  EXPECT_EQ(created->version, 1u);
  EXPECT_EQ(created->label, "idsign:admin/import/plain:v1");
  EXPECT_EQ(created->object_id.size(), 8u);
  EXPECT_EQ(created->secret_bytes, 40u);
  EXPECT_EQ(created->stored_bytes, 40u);
  EXPECT_EQ(created->check_value, OpenSslSha1(secret).substr(0, 3));

  hsm::SecretKeyInfo info = Info("admin/import/plain");
  EXPECT_EQ(info.value_len, 40u);
  EXPECT_EQ(info.id, created->object_id);
  EXPECT_EQ(info.check_value, created->check_value);
  EXPECT_EQ(SignedByStore("admin/import/plain", "user-1"),
            OpenSslHmacSha256(secret, "user-1"));
}

TEST_F(KeyAdminTest, ShortSecretIsPaddedAndKeepsItsMac) {
  const std::string secret = "ahfikm8z";
  const std::string padded = secret + std::string(24, '\0');
  auto created = ImportKey(*token_, "admin/import/short", Secret(secret));
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->secret_bytes, 8u);
  EXPECT_EQ(created->stored_bytes, 32u);
  EXPECT_EQ(created->check_value, OpenSslSha1(padded).substr(0, 3));
  EXPECT_NE(created->check_value, OpenSslSha1(secret).substr(0, 3));
  EXPECT_EQ(Info("admin/import/short").value_len, 32u);
  EXPECT_EQ(Info("admin/import/short").check_value, created->check_value);
  EXPECT_EQ(SignedByStore("admin/import/short", "42"),
            OpenSslHmacSha256(secret, "42"));
}

TEST_F(KeyAdminTest, ImportAtTokenMaximumWorks) {
  auto range = token_->MechanismKeySizes(CKM_SHA256_HMAC);
  ASSERT_THAT(range, IsOk());
  const std::string secret(range->max, 'm');
  auto created = ImportKey(*token_, "admin/import/max", Secret(secret));
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->stored_bytes, range->max);
  EXPECT_EQ(SignedByStore("admin/import/max", "id"),
            OpenSslHmacSha256(secret, "id"));
}

TEST_F(KeyAdminTest, SecretLongerThanTokenMaximumIsInvalidArgument) {
  auto range = token_->MechanismKeySizes(CKM_SHA256_HMAC);
  ASSERT_THAT(range, IsOk());
  EXPECT_EQ(range->max, 512u);  // SoftHSM2 2.6.1
  const std::string secret(range->max + 1, 'x');
  EXPECT_THAT(ImportKey(*token_, "admin/import/too-long", Secret(secret)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("512")));
  EXPECT_FALSE(Exists("admin/import/too-long"));
}

TEST_F(KeyAdminTest, EmptySecretIsInvalidArgument) {
  EXPECT_THAT(ImportKey(*token_, "admin/import/empty", hsm::SecretBytes()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_FALSE(Exists("admin/import/empty"));
}

TEST_F(KeyAdminTest, ExistingNameIsRefusedAndNothingIsOverwritten) {
  const std::string original = "original-secret-0123456789abcdef";
  ASSERT_THAT(ImportKey(*token_, "admin/dup", Secret(original)), IsOk());

  EXPECT_THAT(
      ImportKey(*token_, "admin/dup", Secret("replacement-secret-xyz")),
      StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("admin/dup")));
  EXPECT_THAT(GenerateKey(*token_, "admin/dup", 32),
              StatusIs(absl::StatusCode::kAlreadyExists));

  EXPECT_EQ(ObjectsLabelled(*token_, ObjectLabel("admin/dup", 1)).size(), 1u);
  auto catalog = ReadCatalog(*token_);
  ASSERT_THAT(catalog, IsOk());
  ASSERT_EQ(catalog->keys.count("admin/dup"), 1u);
  EXPECT_EQ(catalog->keys.at("admin/dup").versions.size(), 1u);
  EXPECT_EQ(SignedByStore("admin/dup", "user"),
            OpenSslHmacSha256(original, "user"));
}

TEST_F(KeyAdminTest, GeneratedNameRefusesImport) {
  ASSERT_THAT(GenerateKey(*token_, "admin/dup-generated", 32), IsOk());
  auto store = HsmKeyStore::Create(token_.get());
  ASSERT_THAT(store, IsOk());
  auto before = (*store)->Sign("admin/dup-generated", "user");
  ASSERT_THAT(before, IsOk());

  EXPECT_THAT(
      ImportKey(*token_, "admin/dup-generated", Secret(std::string(32, 'k'))),
      StatusIs(absl::StatusCode::kAlreadyExists));
  ASSERT_THAT((*store)->Reload(), IsOk());
  auto after = (*store)->Sign("admin/dup-generated", "user");
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->mac, before->mac);
  EXPECT_NE(AsString(after->mac),
            OpenSslHmacSha256(std::string(32, 'k'), "user"));
}

TEST_F(KeyAdminTest, GenerateCreatesAUsableKey) {
  for (size_t bytes : {32u, 64u, 512u}) {
    const std::string name = "admin/generate/b" + std::to_string(bytes);
    auto created = GenerateKey(*token_, name, bytes);
    ASSERT_THAT(created, IsOk());
    EXPECT_EQ(created->label, ObjectLabel(name, 1));
    EXPECT_EQ(created->secret_bytes, bytes);
    EXPECT_EQ(created->stored_bytes, bytes);
    EXPECT_EQ(created->object_id.size(), 8u);
    EXPECT_EQ(created->check_value.size(), 3u);
    EXPECT_EQ(Info(name).value_len, bytes);

    auto store = HsmKeyStore::Create(token_.get());
    ASSERT_THAT(store, IsOk());
    auto mac = (*store)->Sign(name, "someone@example.com");
    ASSERT_THAT(mac, IsOk());
    auto verified = (*store)->Verify(name, "someone@example.com",
                                     Bytes(AsString(mac->mac)));
    ASSERT_THAT(verified, IsOk());
    EXPECT_TRUE(verified->valid);
  }
}

TEST_F(KeyAdminTest, TwoGeneratedKeysDiffer) {
  ASSERT_THAT(GenerateKey(*token_, "admin/generate/one", 32), IsOk());
  ASSERT_THAT(GenerateKey(*token_, "admin/generate/two", 32), IsOk());
  auto store = HsmKeyStore::Create(token_.get());
  ASSERT_THAT(store, IsOk());
  auto one = (*store)->Sign("admin/generate/one", "x");
  auto two = (*store)->Sign("admin/generate/two", "x");
  ASSERT_THAT(one, IsOk());
  ASSERT_THAT(two, IsOk());
  EXPECT_NE(one->mac, two->mac);
}

TEST_F(KeyAdminTest, GenerateWithBytesOutOfRangeIsInvalidArgument) {
  auto range = token_->MechanismKeySizes(CKM_SHA256_HMAC);
  ASSERT_THAT(range, IsOk());
  for (size_t bytes :
       {size_t{0}, range->min - 1, range->max + 1, size_t{4096}}) {
    const std::string name = "admin/generate/bad" + std::to_string(bytes);
    EXPECT_THAT(GenerateKey(*token_, name, bytes),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("--bytes=" + std::to_string(bytes))));
    EXPECT_FALSE(Exists(name));
  }
}

TEST_F(KeyAdminTest, InvalidKeyNamesAreInvalidArgument) {
  for (const std::string& name : std::vector<std::string>{
           "", "/lead", "trail/", "a//b", "with space", "idsign:x:v1",
           "caf\xc3\xa9", std::string(kMaxKeyNameLength + 1, 'n')}) {
    EXPECT_THAT(ImportKey(*token_, name, Secret(std::string(32, 's'))),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << name;
    EXPECT_THAT(GenerateKey(*token_, name, 32),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << name;
  }
  auto catalog = ReadCatalog(*token_);
  ASSERT_THAT(catalog, IsOk());
  for (const auto& [name, entry] : catalog->keys) {
    EXPECT_THAT(ValidateKeyName(name), IsOk()) << name;
  }
}

TEST_F(KeyAdminTest, ReadOnlyTokenIsFailedPrecondition) {
  auto read_only = TestToken::Get().Open(/*read_write=*/false);
  EXPECT_THAT(
      ImportKey(*read_only, "admin/ro/import", Secret(std::string(32, 'r'))),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("read-only")));
  EXPECT_THAT(GenerateKey(*read_only, "admin/ro/generate", 32),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_FALSE(Exists("admin/ro/import"));
  EXPECT_FALSE(Exists("admin/ro/generate"));
}

}  // namespace
}  // namespace idsign::keys
