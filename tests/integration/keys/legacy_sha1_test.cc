// legacy-sha1 key versions through key administration and HsmKeyStore on
// the test token: user_hash = SHA-1(secret || data) digested in the token,
// checked against OpenSSL's SHA-1; 20-byte verification; rings that mix
// schemes; JWT use refused; generation refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "service/keys/hsm_key_store.h"
#include "service/keys/key_admin.h"
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
using ::testing::IsEmpty;

constexpr char kShortSecret[] = "ahfikm8z";  // an old vendor key's shape
constexpr char kLongSecret[] = "0123456789abcdefghij0123456789ABCDEFGHIJ";
constexpr char kHmacSecret[] = "hmac-secret-0123456789abcdefghijkl";

class LegacySha1Test : public ::testing::Test {
 protected:
  void SetUp() override {
    server_token_ = TestToken::Get().Open(/*read_write=*/false);
    admin_token_ = TestToken::Get().Open(/*read_write=*/true);
  }
  void TearDown() override {
    store_.reset();
    server_token_.reset();
    admin_token_.reset();
  }

  absl::StatusOr<CreatedKey> ImportLegacy(const std::string& name,
                                          const std::string& secret) {
    hsm::SecretBytes bytes = Secret(secret);
    return CreateKey(*admin_token_, name,
                     KeySource{&bytes, 0, Scheme::kLegacySha1});
  }
  absl::StatusOr<CreatedKey> Rotate(const std::string& name,
                                    const std::string& secret, Scheme scheme) {
    hsm::SecretBytes bytes = Secret(secret);
    return RotateKey(*admin_token_, name, KeySource{&bytes, 0, scheme},
                     /*make_primary=*/true);
  }

  void CreateStore() {
    auto store = HsmKeyStore::Create(server_token_.get());
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
  }

  std::unique_ptr<hsm::Token> server_token_;
  std::unique_ptr<hsm::Token> admin_token_;
  std::unique_ptr<HsmKeyStore> store_;
};

TEST_F(LegacySha1Test, ImportStoresTheSecretExactly) {
  for (const std::string& secret :
       {std::string(kShortSecret), std::string(kLongSecret)}) {
    const std::string name = "legacy/exact/" + std::to_string(secret.size());
    auto created = ImportLegacy(name, secret);
    ASSERT_THAT(created, IsOk());
    EXPECT_EQ(created->scheme, Scheme::kLegacySha1);
    EXPECT_EQ(created->secret_bytes, secret.size());
    EXPECT_EQ(created->stored_bytes, secret.size());  // never padded
    EXPECT_EQ(created->check_value, OpenSslSha1(secret).substr(0, 3));
  }
  auto catalog = ReadCatalog(*admin_token_);
  ASSERT_THAT(catalog, IsOk());
  const KeyEntry& key = catalog->keys.at("legacy/exact/8");
  ASSERT_EQ(key.versions.size(), 1u);
  const KeyVersionEntry& v1 = key.versions[0];
  EXPECT_EQ(v1.meta.scheme(), "legacy-sha1");
  EXPECT_EQ(v1.scheme, Scheme::kLegacySha1);
  EXPECT_THAT(v1.refusals, IsEmpty());  // allowed: an explicit opt-in
  ASSERT_TRUE(v1.object.has_value());
  EXPECT_EQ(v1.object->value_len, 8u);
  EXPECT_EQ(v1.object->sensitive, true);
  EXPECT_EQ(v1.object->extractable, false);
  EXPECT_EQ(v1.object->modifiable, false);
}

TEST_F(LegacySha1Test, SignMatchesOpenSslSha1) {
  ASSERT_THAT(ImportLegacy("legacy/sign/short", kShortSecret), IsOk());
  ASSERT_THAT(ImportLegacy("legacy/sign/long", kLongSecret), IsOk());
  CreateStore();
  for (const auto& [name, secret] :
       {std::pair<std::string, std::string>{"legacy/sign/short", kShortSecret},
        {"legacy/sign/long", kLongSecret}}) {
    for (const std::string& data :
         {std::string("42"), std::string("user@example.com"), std::string(),
          std::string(2000, 'z')}) {
      auto mac = store_->Sign(name, data);
      ASSERT_THAT(mac, IsOk());
      EXPECT_EQ(mac->version, 1u);
      EXPECT_EQ(mac->scheme, Scheme::kLegacySha1);
      EXPECT_EQ(mac->mac.size(), 20u);
      EXPECT_EQ(AsString(mac->mac), OpenSslSha1(secret + data)) << name;
    }
  }
  const std::vector<absl::string_view> batch = {"1", "2", "user@example.com"};
  auto many = store_->SignMany("legacy/sign/short", batch);
  ASSERT_THAT(many, IsOk());
  ASSERT_EQ(many->size(), batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ((*many)[i].scheme, Scheme::kLegacySha1);
    EXPECT_EQ(AsString((*many)[i].mac),
              OpenSslSha1(kShortSecret + std::string(batch[i])));
  }
}

TEST_F(LegacySha1Test, VerifyTakesTwentyByteMacs) {
  ASSERT_THAT(ImportLegacy("legacy/verify", kShortSecret), IsOk());
  CreateStore();
  const std::string good = OpenSslSha1(std::string(kShortSecret) + "user-9");
  auto valid = store_->Verify("legacy/verify", "user-9", Bytes(good));
  ASSERT_THAT(valid, IsOk());
  EXPECT_TRUE(valid->valid);
  EXPECT_EQ(valid->version, 1u);
  EXPECT_EQ(valid->scheme, Scheme::kLegacySha1);
  EXPECT_EQ(valid->mode, RolloutMode::kEnforce);

  std::string flipped = good;
  flipped[19] ^= 0x80;
  auto bad = store_->Verify("legacy/verify", "user-9", Bytes(flipped));
  ASSERT_THAT(bad, IsOk());
  EXPECT_FALSE(bad->valid);
  EXPECT_EQ(bad->version, 0u);
  EXPECT_THAT(store_->Verify("legacy/verify", "user-10", Bytes(good)),
              ::idsign::testing::IsOkAndHolds(
                  ::testing::Field(&VerifyResult::valid, false)));

  // A 32-byte MAC cannot come from a legacy-only key, whatever it holds.
  const std::string hmac = OpenSslHmacSha256(
      std::string(kShortSecret) + std::string(24, '\0'), "user-9");
  auto wrong_scheme = store_->Verify("legacy/verify", "user-9", Bytes(hmac));
  ASSERT_THAT(wrong_scheme, IsOk());
  EXPECT_FALSE(wrong_scheme->valid);

  // Missing: not valid, and the key's mode is still reported.
  auto missing = store_->Verify("legacy/verify", "user-9", {});
  ASSERT_THAT(missing, IsOk());
  EXPECT_FALSE(missing->valid);
  EXPECT_EQ(missing->mode, RolloutMode::kEnforce);
}

TEST_F(LegacySha1Test, LegacyThenHmacSignsAndVerifiesPerVersion) {
  const std::string name = "legacy/mixed/forward";
  ASSERT_THAT(ImportLegacy(name, kShortSecret), IsOk());
  ASSERT_THAT(Rotate(name, kHmacSecret, Scheme::kHmacSha256), IsOk());
  CreateStore();

  auto now = store_->Sign(name, "user-1");
  ASSERT_THAT(now, IsOk());
  EXPECT_EQ(now->version, 2u);
  EXPECT_EQ(now->scheme, Scheme::kHmacSha256);
  EXPECT_EQ(AsString(now->mac), OpenSslHmacSha256(kHmacSecret, "user-1"));
  auto jwt = store_->Sign(name, "header.payload", MacUse::kJwt);
  ASSERT_THAT(jwt, IsOk());
  EXPECT_EQ(AsString(jwt->mac),
            OpenSslHmacSha256(kHmacSecret, "header.payload"));

  auto old = store_->Verify(
      name, "user-1", Bytes(OpenSslSha1(std::string(kShortSecret) + "user-1")));
  ASSERT_THAT(old, IsOk());
  EXPECT_TRUE(old->valid);
  EXPECT_EQ(old->version, 1u);
  EXPECT_EQ(old->scheme, Scheme::kLegacySha1);

  auto fresh = store_->Verify(name, "user-1", Bytes(AsString(now->mac)));
  ASSERT_THAT(fresh, IsOk());
  EXPECT_TRUE(fresh->valid);
  EXPECT_EQ(fresh->version, 2u);
  EXPECT_EQ(fresh->scheme, Scheme::kHmacSha256);

  // kJwt ignores the legacy version even for its own value.
  auto jwt_legacy = store_->Verify(
      name, "user-1", Bytes(OpenSslSha1(std::string(kShortSecret) + "user-1")),
      MacUse::kJwt);
  ASSERT_THAT(jwt_legacy, IsOk());
  EXPECT_FALSE(jwt_legacy->valid);
}

TEST_F(LegacySha1Test, HmacThenLegacyRefusesJwtButVerifiesHmac) {
  const std::string name = "legacy/mixed/reverse";
  ASSERT_THAT(ImportKey(*admin_token_, name, Secret(kHmacSecret)), IsOk());
  ASSERT_THAT(Rotate(name, kLongSecret, Scheme::kLegacySha1), IsOk());
  CreateStore();

  auto now = store_->Sign(name, "user-2");
  ASSERT_THAT(now, IsOk());
  EXPECT_EQ(now->version, 2u);
  EXPECT_EQ(now->scheme, Scheme::kLegacySha1);
  EXPECT_EQ(AsString(now->mac),
            OpenSslSha1(std::string(kLongSecret) + "user-2"));

  EXPECT_THAT(store_->Sign(name, "header.payload", MacUse::kJwt),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("legacy-sha1")));

  auto hmac = store_->Verify(
      name, "h.p", Bytes(OpenSslHmacSha256(kHmacSecret, "h.p")), MacUse::kJwt);
  ASSERT_THAT(hmac, IsOk());
  EXPECT_TRUE(hmac->valid);
  EXPECT_EQ(hmac->version, 1u);
  EXPECT_EQ(hmac->scheme, Scheme::kHmacSha256);

  auto legacy = store_->Verify(name, "user-2", Bytes(AsString(now->mac)));
  ASSERT_THAT(legacy, IsOk());
  EXPECT_TRUE(legacy->valid);
  EXPECT_EQ(legacy->version, 2u);
  EXPECT_FALSE(
      store_->Verify(name, "user-2", Bytes(AsString(now->mac)), MacUse::kJwt)
          ->valid);
}

TEST_F(LegacySha1Test, GeneratedLegacyKeyIsRefused) {
  EXPECT_THAT(
      CreateKey(*admin_token_, "legacy/generated",
                KeySource{nullptr, 32, Scheme::kLegacySha1}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("legacy-sha1")));
  EXPECT_THAT(
      ObjectsLabelled(*admin_token_, ObjectLabel("legacy/generated", 1)),
      IsEmpty());
  ASSERT_THAT(
      ImportKey(*admin_token_, "legacy/generated-rotate", Secret(kHmacSecret)),
      IsOk());
  EXPECT_THAT(RotateKey(*admin_token_, "legacy/generated-rotate",
                        KeySource{nullptr, 32, Scheme::kLegacySha1}, false),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      ObjectsLabelled(*admin_token_, ObjectLabel("legacy/generated-rotate", 2)),
      IsEmpty());
}

TEST_F(LegacySha1Test, OversizedLegacySecretIsRefused) {
  EXPECT_THAT(ImportLegacy("legacy/huge", std::string(513, 's')),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("at most 512 bytes")));
  EXPECT_THAT(ImportLegacy("legacy/one-byte", "x"), IsOk());
}

}  // namespace
}  // namespace idsign::keys
