// HsmKeyStore across key versions: Sign uses the primary; Verify accepts the
// enabled versions at or above the minimum verify version and says which one
// matched. Expected MACs come from OpenSSL.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "hsm/objects.h"
#include "service/keys/hsm_key_store.h"
#include "service/keys/key_admin.h"
#include "service/keys/key_name.h"
#include "service/keys/ring.h"
#include "tests/integration/keys/keys_test_util.h"
#include "tests/testing/oracle.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::keys {
namespace {

using ::idsign::keys::test::AsString;
using ::idsign::keys::test::Bytes;
using ::idsign::keys::test::Secret;
using ::idsign::testing::IsOk;
using ::idsign::testing::OpenSslHmacSha256;
using ::idsign::testing::StatusIs;
using ::idsign::testing::TestToken;
using ::testing::HasSubstr;

class VerifyVersionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    admin_ = TestToken::Get().Open(/*read_write=*/true);
    server_ = TestToken::Get().Open(/*read_write=*/false);
  }
  void TearDown() override { store_.reset(); }

  // Key `name` with version 1 (primary) and version 2 (primary only with
  // `v2_primary`), and a store that has loaded it.
  void CreateTwoVersions(const std::string& name, bool v2_primary) {
    ASSERT_THAT(ImportKey(*admin_, name, Secret(kV1)), IsOk());
    const hsm::SecretBytes v2 = Secret(kV2);
    ASSERT_THAT(RotateKey(*admin_, name, {&v2}, v2_primary), IsOk());
    auto store = HsmKeyStore::Create(server_.get());
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
  }

  // The verdict on the MAC that `secret` gives `data`.
  VerifyResult VerifyMacOf(const std::string& name, const std::string& secret,
                           const std::string& data) {
    auto result =
        store_->Verify(name, data, Bytes(OpenSslHmacSha256(secret, data)));
    EXPECT_THAT(result, IsOk());
    return result.ok() ? *result : VerifyResult{true, 999};
  }

  void ExpectMatches(const std::string& name, const std::string& secret,
                     uint32_t version) {
    VerifyResult result = VerifyMacOf(name, secret, "user-42");
    EXPECT_TRUE(result.valid) << "version " << version;
    EXPECT_EQ(result.version, version);
  }

  void ExpectRejected(const std::string& name, const std::string& secret) {
    VerifyResult result = VerifyMacOf(name, secret, "user-42");
    EXPECT_FALSE(result.valid);
    EXPECT_EQ(result.version, 0u);
  }

  void ExpectSignsWith(const std::string& name, const std::string& secret,
                       uint32_t version) {
    auto mac = store_->Sign(name, "user-42");
    ASSERT_THAT(mac, IsOk());
    EXPECT_EQ(mac->version, version);
    EXPECT_EQ(AsString(mac->mac), OpenSslHmacSha256(secret, "user-42"));
  }

  const std::string kV1 = "verify-v1-secret-0123456789abcdef";
  const std::string kV2 = "verify-v2-secret-0123456789abcdef";
  std::unique_ptr<hsm::Token> admin_;
  std::unique_ptr<hsm::Token> server_;
  std::unique_ptr<HsmKeyStore> store_;
};

TEST_F(VerifyVersionsTest, OldMacVerifiesAsItsVersionAfterRotation) {
  CreateTwoVersions("verify/rotated", /*v2_primary=*/true);
  ExpectSignsWith("verify/rotated", kV2, 2);
  ExpectMatches("verify/rotated", kV1, 1);
  ExpectMatches("verify/rotated", kV2, 2);
  ExpectRejected("verify/rotated", "not-a-version-secret-0123456789ab");
}

TEST_F(VerifyVersionsTest, NewVersionVerifiesBeforeItSigns) {
  CreateTwoVersions("verify/staged", /*v2_primary=*/false);
  ExpectSignsWith("verify/staged", kV1, 1);
  ExpectMatches("verify/staged", kV2, 2);
  ASSERT_THAT(PromoteVersion(*admin_, "verify/staged", 2), IsOk());
  ASSERT_THAT(store_->Reload(), IsOk());
  ExpectSignsWith("verify/staged", kV2, 2);
  ExpectMatches("verify/staged", kV1, 1);
}

TEST_F(VerifyVersionsTest, MinimumVerifyVersionRejectsOlderMacs) {
  CreateTwoVersions("verify/minimum", /*v2_primary=*/true);
  ASSERT_THAT(SetMinVerifyVersion(*admin_, "verify/minimum", 2), IsOk());
  // Until the store reloads it keeps the state it loaded.
  ExpectMatches("verify/minimum", kV1, 1);
  ASSERT_THAT(store_->Reload(), IsOk());
  ExpectRejected("verify/minimum", kV1);
  ExpectMatches("verify/minimum", kV2, 2);
  ExpectSignsWith("verify/minimum", kV2, 2);
}

TEST_F(VerifyVersionsTest, DisabledVersionNeitherSignsNorVerifies) {
  CreateTwoVersions("verify/disabled", /*v2_primary=*/false);
  ASSERT_THAT(DisableVersion(*admin_, "verify/disabled", 2), IsOk());
  ASSERT_THAT(store_->Reload(), IsOk());
  ExpectRejected("verify/disabled", kV2);
  ExpectMatches("verify/disabled", kV1, 1);
  ExpectSignsWith("verify/disabled", kV1, 1);
  EXPECT_THAT(PromoteVersion(*admin_, "verify/disabled", 2),
              StatusIs(absl::StatusCode::kFailedPrecondition));

  // The other way round: version 2 signs, version 1 is switched off.
  ASSERT_THAT(EnableVersion(*admin_, "verify/disabled", 2), IsOk());
  ASSERT_THAT(PromoteVersion(*admin_, "verify/disabled", 2), IsOk());
  ASSERT_THAT(DisableVersion(*admin_, "verify/disabled", 1), IsOk());
  ASSERT_THAT(store_->Reload(), IsOk());
  ExpectRejected("verify/disabled", kV1);
  ExpectSignsWith("verify/disabled", kV2, 2);

  // Enabling it again restores verification: the state, not the object,
  // decided.
  ASSERT_THAT(EnableVersion(*admin_, "verify/disabled", 1), IsOk());
  ASSERT_THAT(store_->Reload(), IsOk());
  ExpectMatches("verify/disabled", kV1, 1);
}

// The commands never disable the primary; a ring that says so anyway (here
// sealed with the ring key, as a PIN holder could) does not make it sign.
TEST_F(VerifyVersionsTest, DisabledPrimaryDoesNotSign) {
  CreateTwoVersions("verify/disabled-primary", /*v2_primary=*/true);
  {
    auto session = admin_->Acquire();
    ASSERT_THAT(session, IsOk());
    auto ring_key = FindRingKey(*session);
    ASSERT_THAT(ring_key, IsOk());
    auto rings = ListRings(*session);
    ASSERT_THAT(rings, IsOk());
    std::vector<const StoredRing*> mine;
    for (const StoredRing& stored : *rings) {
      if (stored.name == "verify/disabled-primary") mine.push_back(&stored);
    }
    auto current = SelectRing(*session, *ring_key, mine);
    ASSERT_THAT(current, IsOk());
    ring::State state = current->state;
    ASSERT_EQ(state.primary_version(), 2u);
    state.mutable_versions(1)->set_state(ring::VERSION_STATE_DISABLED);
    state.set_generation(state.generation() + 1);
    ASSERT_THAT(WriteRing(*session, *ring_key, state, {current->handle}),
                IsOk());
  }
  ASSERT_THAT(store_->Reload(), IsOk());
  EXPECT_THAT(store_->Sign("verify/disabled-primary", "user-42"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("primary version 2")));
  ExpectRejected("verify/disabled-primary", kV2);
  ExpectMatches("verify/disabled-primary", kV1, 1);
}

TEST_F(VerifyVersionsTest, DestroyedVersionDoesNotVerify) {
  CreateTwoVersions("verify/destroyed", /*v2_primary=*/true);
  ExpectMatches("verify/destroyed", kV1, 1);
  ASSERT_THAT(DestroyVersion(*admin_, "verify/destroyed", 1), IsOk());
  ASSERT_THAT(store_->Reload(), IsOk());
  ExpectRejected("verify/destroyed", kV1);
  ExpectMatches("verify/destroyed", kV2, 2);
  ExpectSignsWith("verify/destroyed", kV2, 2);
}

TEST_F(VerifyVersionsTest, NoVersionLeftToVerifyIsRefused) {
  CreateTwoVersions("verify/none-left", /*v2_primary=*/false);
  ASSERT_THAT(DisableVersion(*admin_, "verify/none-left", 2), IsOk());
  ASSERT_THAT(store_->Reload(), IsOk());
  // Version 1 is the only candidate left; remove its object behind
  // idsign's back, and nothing at all can verify.
  {
    auto session = admin_->Acquire();
    ASSERT_THAT(session, IsOk());
    auto handles = hsm::FindSecretKeysByLabel(
        *session, ObjectLabel("verify/none-left", 1));
    ASSERT_THAT(handles, IsOk());
    ASSERT_EQ(handles->size(), 1u);
    ASSERT_THAT(hsm::DestroyObject(*session, (*handles)[0]), IsOk());
  }
  ASSERT_THAT(store_->Reload(), IsOk());
  EXPECT_THAT(store_->Verify("verify/none-left", "user-42",
                             Bytes(OpenSslHmacSha256(kV1, "user-42"))),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("no enabled version")));
}

}  // namespace
}  // namespace idsign::keys
