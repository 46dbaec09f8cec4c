// Key lifecycle commands against the test token: rotate, promote, minimum
// verify version, disable, enable, destroy, and what each records in the
// ring. Signing across versions is in verify_versions_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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

using ::idsign::keys::test::AsString;
using ::idsign::keys::test::RawFind;
using ::idsign::keys::test::RawSession;
using ::idsign::keys::test::Secret;
using ::idsign::testing::IsOk;
using ::idsign::testing::OpenSslHmacSha256;
using ::idsign::testing::OpenSslSha1;
using ::idsign::testing::StatusIs;
using ::idsign::testing::TestToken;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Optional;

constexpr absl::StatusCode kRefused = absl::StatusCode::kFailedPrecondition;
constexpr absl::StatusCode kNotFound = absl::StatusCode::kNotFound;

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override { token_ = TestToken::Get().Open(); }

  KeyEntry Entry(const std::string& name) {
    auto catalog = ReadCatalog(*token_);
    EXPECT_THAT(catalog, IsOk());
    if (!catalog.ok() || catalog->keys.count(name) == 0) {
      ADD_FAILURE() << name << " is not in the catalog";
      return {};
    }
    return catalog->keys.at(name);
  }

  // Objects labelled as `version` of `name`, found with raw C_FindObjects.
  size_t RawObjectCount(const std::string& name, uint32_t version) {
    std::optional<hsm::Session> session = RawSession(*token_);
    return session
               ? RawFind(*session, CKO_SECRET_KEY, ObjectLabel(name, version))
                     .size()
               : 0;
  }

  // A key with versions 1 (primary) and 2 (not primary), from known secrets.
  void CreateTwoVersions(const std::string& name) {
    ASSERT_THAT(ImportKey(*token_, name, Secret(kV1)), IsOk());
    const hsm::SecretBytes v2 = Secret(kV2);
    ASSERT_THAT(RotateKey(*token_, name, {&v2}, /*make_primary=*/false),
                IsOk());
  }

  const std::string kV1 = "lifecycle-v1-secret-0123456789abc";
  const std::string kV2 = "lifecycle-v2-secret-0123456789abc";
  std::unique_ptr<hsm::Token> token_;
};

TEST_F(LifecycleTest, CreateRecordsProvenance) {
  const int64_t before = NowUnixMs();
  auto imported = ImportKey(*token_, "life/provenance/imported", Secret(kV1),
                            "alice@host-a");
  auto generated =
      GenerateKey(*token_, "life/provenance/generated", 32, "bob@host-b");
  const int64_t after = NowUnixMs();
  ASSERT_THAT(imported, IsOk());
  ASSERT_THAT(generated, IsOk());
  EXPECT_TRUE(imported->primary);
  EXPECT_TRUE(generated->primary);

  KeyEntry entry = Entry("life/provenance/imported");
  ASSERT_EQ(entry.versions.size(), 1u);
  const ring::Version& meta = entry.versions[0].meta;
  EXPECT_EQ(meta.created_by(), "alice@host-a");
  EXPECT_GE(meta.created_at_unix_ms(), before);
  EXPECT_LE(meta.created_at_unix_ms(), after);
  EXPECT_EQ(meta.origin(), ring::ORIGIN_IMPORTED);
  EXPECT_EQ(meta.scheme(), "hmac-sha256");
  EXPECT_EQ(meta.check_value(), OpenSslSha1(kV1).substr(0, 3));
  EXPECT_EQ(entry.generation, 1u);

  entry = Entry("life/provenance/generated");
  ASSERT_EQ(entry.versions.size(), 1u);
  EXPECT_EQ(entry.versions[0].meta.created_by(), "bob@host-b");
  EXPECT_EQ(entry.versions[0].meta.origin(), ring::ORIGIN_GENERATED);
  EXPECT_EQ(entry.versions[0].meta.scheme(), "hmac-sha256");
  ASSERT_TRUE(entry.versions[0].object.has_value());
  EXPECT_THAT(entry.versions[0].object->local, Optional(true));
}

TEST_F(LifecycleTest, CreateOfAnExistingNameIsAlreadyExists) {
  ASSERT_THAT(ImportKey(*token_, "life/exists", Secret(kV1)), IsOk());
  const hsm::SecretBytes other = Secret(kV2);
  EXPECT_THAT(
      CreateKey(*token_, "life/exists", {&other}),
      StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("life/exists")));
  EXPECT_THAT(CreateKey(*token_, "life/exists", {nullptr, 32}),
              StatusIs(absl::StatusCode::kAlreadyExists));
  KeyEntry entry = Entry("life/exists");
  EXPECT_EQ(entry.versions.size(), 1u);
  EXPECT_EQ(entry.generation, 1u);
}

TEST_F(LifecycleTest, RotateWithASecretAddsAVersionThatIsNotPrimary) {
  ASSERT_THAT(ImportKey(*token_, "life/rotate/secret", Secret(kV1)), IsOk());
  const hsm::SecretBytes v2 = Secret(kV2);
  auto rotated = RotateKey(*token_, "life/rotate/secret", {&v2},
                           /*make_primary=*/false, "carol@host-c");
  ASSERT_THAT(rotated, IsOk());
  EXPECT_EQ(rotated->version, 2u);
  EXPECT_FALSE(rotated->primary);
  EXPECT_EQ(rotated->label, ObjectLabel("life/rotate/secret", 2));
  EXPECT_EQ(rotated->check_value, OpenSslSha1(kV2).substr(0, 3));

  KeyEntry entry = Entry("life/rotate/secret");
  EXPECT_EQ(entry.primary_version, 1u);
  EXPECT_EQ(entry.generation, 2u);
  ASSERT_EQ(entry.versions.size(), 2u);
  const KeyVersionEntry& added = entry.versions[1];
  EXPECT_EQ(added.version, 2u);
  EXPECT_TRUE(added.usable());
  EXPECT_EQ(added.meta.created_by(), "carol@host-c");
  EXPECT_EQ(added.meta.origin(), ring::ORIGIN_IMPORTED);
  EXPECT_EQ(added.meta.object_id(), rotated->object_id);
  ASSERT_TRUE(added.object.has_value());
  EXPECT_EQ(added.object->id, rotated->object_id);
}

TEST_F(LifecycleTest, RotateWithGenerateCanMakeThePrimary) {
  ASSERT_THAT(ImportKey(*token_, "life/rotate/generate", Secret(kV1)), IsOk());
  auto rotated = RotateKey(*token_, "life/rotate/generate", {nullptr, 48},
                           /*make_primary=*/true, "dave@host-d");
  ASSERT_THAT(rotated, IsOk());
  EXPECT_EQ(rotated->version, 2u);
  EXPECT_TRUE(rotated->primary);
  EXPECT_EQ(rotated->stored_bytes, 48u);

  KeyEntry entry = Entry("life/rotate/generate");
  EXPECT_EQ(entry.primary_version, 2u);
  ASSERT_NE(entry.Primary(), nullptr);
  EXPECT_EQ(entry.Primary()->meta.origin(), ring::ORIGIN_GENERATED);
  ASSERT_TRUE(entry.Primary()->object.has_value());
  EXPECT_EQ(entry.Primary()->object->value_len, 48u);

  auto store = HsmKeyStore::Create(token_.get());
  ASSERT_THAT(store, IsOk());
  auto mac = (*store)->Sign("life/rotate/generate", "user");
  ASSERT_THAT(mac, IsOk());
  EXPECT_EQ(mac->version, 2u);
  EXPECT_NE(AsString(mac->mac), OpenSslHmacSha256(kV1, "user"));
}

TEST_F(LifecycleTest, PromoteMovesThePrimary) {
  CreateTwoVersions("life/promote");
  ASSERT_THAT(PromoteVersion(*token_, "life/promote", 2, "erin"), IsOk());
  EXPECT_EQ(Entry("life/promote").primary_version, 2u);
  EXPECT_EQ(Entry("life/promote").generation, 3u);
  ASSERT_THAT(PromoteVersion(*token_, "life/promote", 1), IsOk());
  EXPECT_EQ(Entry("life/promote").primary_version, 1u);

  ASSERT_THAT(DisableVersion(*token_, "life/promote", 2), IsOk());
  EXPECT_THAT(PromoteVersion(*token_, "life/promote", 2),
              StatusIs(kRefused, HasSubstr("not enabled")));
  EXPECT_EQ(Entry("life/promote").primary_version, 1u);
}

TEST_F(LifecycleTest, MinVerifyVersionCannotPassThePrimary) {
  CreateTwoVersions("life/min-verify");
  EXPECT_THAT(SetMinVerifyVersion(*token_, "life/min-verify", 2),
              StatusIs(kRefused, HasSubstr("above the primary version 1")));
  EXPECT_EQ(Entry("life/min-verify").min_verify_version, 1u);

  ASSERT_THAT(PromoteVersion(*token_, "life/min-verify", 2), IsOk());
  ASSERT_THAT(SetMinVerifyVersion(*token_, "life/min-verify", 2), IsOk());
  EXPECT_EQ(Entry("life/min-verify").min_verify_version, 2u);
  // Version 1 is now below the minimum: it can no longer become primary.
  EXPECT_THAT(PromoteVersion(*token_, "life/min-verify", 1),
              StatusIs(kRefused, HasSubstr("below the minimum verify")));
  EXPECT_EQ(Entry("life/min-verify").primary_version, 2u);
}

TEST_F(LifecycleTest, DisableAndEnable) {
  CreateTwoVersions("life/disable");
  EXPECT_THAT(DisableVersion(*token_, "life/disable", 1),
              StatusIs(kRefused, HasSubstr("is the primary")));
  EXPECT_TRUE(Entry("life/disable").Find(1)->enabled());

  ASSERT_THAT(DisableVersion(*token_, "life/disable", 2), IsOk());
  KeyEntry entry = Entry("life/disable");
  ASSERT_NE(entry.Find(2), nullptr);
  EXPECT_EQ(entry.Find(2)->meta.state(), ring::VERSION_STATE_DISABLED);
  EXPECT_FALSE(entry.Find(2)->usable());
  // Disabling keeps the object.
  EXPECT_EQ(RawObjectCount("life/disable", 2), 1u);
  EXPECT_THAT(DisableVersion(*token_, "life/disable", 2),
              StatusIs(kRefused, HasSubstr("not enabled")));

  ASSERT_THAT(EnableVersion(*token_, "life/disable", 2), IsOk());
  entry = Entry("life/disable");
  EXPECT_EQ(entry.Find(2)->meta.state(), ring::VERSION_STATE_ENABLED);
  EXPECT_TRUE(entry.Find(2)->usable());
  EXPECT_THAT(EnableVersion(*token_, "life/disable", 2),
              StatusIs(kRefused, HasSubstr("not disabled")));
}

TEST_F(LifecycleTest, DestroyRemovesTheObjectAndKeepsTheRecord) {
  CreateTwoVersions("life/destroy");
  EXPECT_THAT(DestroyVersion(*token_, "life/destroy", 1),
              StatusIs(kRefused, HasSubstr("is the primary")));
  EXPECT_EQ(RawObjectCount("life/destroy", 1), 1u);
  EXPECT_EQ(Entry("life/destroy").Find(1)->meta.state(),
            ring::VERSION_STATE_ENABLED);

  ASSERT_EQ(RawObjectCount("life/destroy", 2), 1u);
  ASSERT_THAT(DestroyVersion(*token_, "life/destroy", 2, "frank"), IsOk());
  EXPECT_EQ(RawObjectCount("life/destroy", 2), 0u);
  KeyEntry entry = Entry("life/destroy");
  EXPECT_EQ(entry.problem, "");
  ASSERT_NE(entry.Find(2), nullptr);
  EXPECT_EQ(entry.Find(2)->meta.state(), ring::VERSION_STATE_DESTROYED);
  EXPECT_FALSE(entry.Find(2)->object.has_value());
  EXPECT_TRUE(entry.Find(2)->refusals.empty());
  // The record of what was destroyed stays.
  EXPECT_EQ(entry.Find(2)->meta.check_value(), OpenSslSha1(kV2).substr(0, 3));

  EXPECT_THAT(DestroyVersion(*token_, "life/destroy", 2),
              StatusIs(kRefused, HasSubstr("already destroyed")));
  EXPECT_THAT(EnableVersion(*token_, "life/destroy", 2),
              StatusIs(kRefused, HasSubstr("not disabled")));
  EXPECT_THAT(PromoteVersion(*token_, "life/destroy", 2),
              StatusIs(kRefused, HasSubstr("not enabled")));
  // The next version number is never reused.
  auto next = RotateKey(*token_, "life/destroy", {nullptr, 32}, false);
  ASSERT_THAT(next, IsOk());
  EXPECT_EQ(next->version, 3u);
}

TEST_F(LifecycleTest, UnknownKeyOrVersionIsNotFound) {
  CreateTwoVersions("life/known");
  const hsm::SecretBytes secret = Secret(kV1);
  EXPECT_THAT(RotateKey(*token_, "life/unknown", {&secret}, false),
              StatusIs(kNotFound, HasSubstr("life/unknown")));
  EXPECT_THAT(PromoteVersion(*token_, "life/unknown", 1), StatusIs(kNotFound));
  EXPECT_THAT(SetMinVerifyVersion(*token_, "life/unknown", 1),
              StatusIs(kNotFound));
  EXPECT_THAT(DisableVersion(*token_, "life/unknown", 1), StatusIs(kNotFound));
  EXPECT_THAT(EnableVersion(*token_, "life/unknown", 1), StatusIs(kNotFound));
  EXPECT_THAT(DestroyVersion(*token_, "life/unknown", 1), StatusIs(kNotFound));

  const auto no_version_7 = StatusIs(
      kNotFound, AllOf(HasSubstr("no version 7"), HasSubstr("versions: 1, 2")));
  EXPECT_THAT(PromoteVersion(*token_, "life/known", 7), no_version_7);
  EXPECT_THAT(SetMinVerifyVersion(*token_, "life/known", 7), no_version_7);
  EXPECT_THAT(DisableVersion(*token_, "life/known", 7), no_version_7);
  EXPECT_THAT(EnableVersion(*token_, "life/known", 7), no_version_7);
  EXPECT_THAT(DestroyVersion(*token_, "life/known", 7), no_version_7);
  // Nothing was changed by the refusals.
  EXPECT_EQ(Entry("life/known").generation, 2u);
  EXPECT_EQ(Entry("life/known").versions.size(), 2u);
}

TEST_F(LifecycleTest, EveryChangeIsRecordedInTheRing) {
  CreateTwoVersions("life/generation");
  uint64_t generation = Entry("life/generation").generation;
  ASSERT_EQ(generation, 2u);
  const std::vector<std::function<absl::Status()>> changes = {
      [&] { return PromoteVersion(*token_, "life/generation", 2); },
      [&] { return SetMinVerifyVersion(*token_, "life/generation", 2); },
      [&] { return DisableVersion(*token_, "life/generation", 1); },
      [&] { return EnableVersion(*token_, "life/generation", 1); },
      [&] { return DestroyVersion(*token_, "life/generation", 1); },
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    ASSERT_THAT(changes[i](), IsOk()) << "change #" << i;
    const uint64_t now = Entry("life/generation").generation;
    EXPECT_EQ(now, generation + 1) << "change #" << i;
    generation = now;
  }
  KeyEntry entry = Entry("life/generation");
  EXPECT_EQ(entry.primary_version, 2u);
  EXPECT_EQ(entry.min_verify_version, 2u);
  EXPECT_EQ(entry.Find(1)->meta.state(), ring::VERSION_STATE_DESTROYED);
  EXPECT_EQ(RawObjectCount("life/generation", 1), 0u);
  EXPECT_EQ(RawObjectCount("life/generation", 2), 1u);
}

}  // namespace
}  // namespace idsign::keys
