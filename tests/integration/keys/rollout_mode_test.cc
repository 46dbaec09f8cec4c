// A key's verification rollout mode: kept in its sealed ring, read back by
// the catalog, reported by every Verify, and picked up by a running
// HsmKeyStore on reload.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "service/keys/hsm_key_store.h"
#include "service/keys/key_admin.h"
#include "tests/integration/keys/keys_test_util.h"
#include "tests/testing/oracle.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::keys {
namespace {

using ::idsign::keys::test::Bytes;
using ::idsign::keys::test::Secret;
using ::idsign::testing::IsOk;
using ::idsign::testing::OpenSslHmacSha256;
using ::idsign::testing::StatusIs;
using ::idsign::testing::TestToken;
using ::testing::HasSubstr;

constexpr char kSecret[] = "rollout-secret-0123456789abcdefghij";

class RolloutModeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    admin_token_ = TestToken::Get().Open(/*read_write=*/true);
  }

  // The mode and generation the token's ring holds for `name`.
  std::pair<RolloutMode, uint64_t> Stored(const std::string& name) {
    auto catalog = ReadCatalog(*admin_token_);
    EXPECT_THAT(catalog, IsOk());
    if (!catalog.ok() || catalog->keys.count(name) == 0) {
      ADD_FAILURE() << "no key " << name;
      return {RolloutMode::kEnforce, 0};
    }
    const KeyEntry& key = catalog->keys.at(name);
    EXPECT_TRUE(key.problem.empty()) << key.problem;
    return {key.rollout_mode, key.generation};
  }

  std::unique_ptr<hsm::Token> admin_token_;
};

TEST_F(RolloutModeTest, UnsetMeansEnforce) {
  ASSERT_THAT(ImportKey(*admin_token_, "rollout/unset", Secret(kSecret)),
              IsOk());
  EXPECT_EQ(Stored("rollout/unset").first, RolloutMode::kEnforce);
}

TEST_F(RolloutModeTest, RoundTripsThroughTheSealedRing) {
  const std::string name = "rollout/round-trip";
  ASSERT_THAT(ImportKey(*admin_token_, name, Secret(kSecret)), IsOk());
  const uint64_t created = Stored(name).second;

  ASSERT_THAT(
      SetRolloutMode(*admin_token_, name, RolloutMode::kMonitor, "tester@h"),
      IsOk());
  auto [mode, generation] = Stored(name);
  EXPECT_EQ(mode, RolloutMode::kMonitor);
  EXPECT_EQ(generation, created + 1);

  // A fresh process's view (a new Token) reads the same ring.
  std::unique_ptr<hsm::Token> other = TestToken::Get().Open(false);
  auto catalog = ReadCatalog(*other);
  ASSERT_THAT(catalog, IsOk());
  EXPECT_EQ(catalog->keys.at(name).rollout_mode, RolloutMode::kMonitor);

  ASSERT_THAT(SetRolloutMode(*admin_token_, name, RolloutMode::kEnforce),
              IsOk());
  EXPECT_EQ(Stored(name).first, RolloutMode::kEnforce);
  EXPECT_EQ(Stored(name).second, created + 2);

  // Other changes keep the mode.
  ASSERT_THAT(SetRolloutMode(*admin_token_, name, RolloutMode::kMonitor),
              IsOk());
  hsm::SecretBytes next = Secret("rollout-next-0123456789abcdefghijk");
  ASSERT_THAT(RotateKey(*admin_token_, name, KeySource{&next}, true), IsOk());
  ASSERT_THAT(SetMinVerifyVersion(*admin_token_, name, 2), IsOk());
  EXPECT_EQ(Stored(name).first, RolloutMode::kMonitor);
}

TEST_F(RolloutModeTest, VerifyReportsTheModeAndReloadPicksItUp) {
  const std::string name = "rollout/store";
  ASSERT_THAT(ImportKey(*admin_token_, name, Secret(kSecret)), IsOk());
  std::unique_ptr<hsm::Token> server_token = TestToken::Get().Open(false);
  auto store = HsmKeyStore::Create(server_token.get());
  ASSERT_THAT(store, IsOk());
  const auto good = Bytes(OpenSslHmacSha256(kSecret, "u"));
  const auto bad = Bytes(OpenSslHmacSha256(kSecret, "v"));

  auto before = (*store)->Verify(name, "u", bad);
  ASSERT_THAT(before, IsOk());
  EXPECT_FALSE(before->valid);
  EXPECT_EQ(before->mode, RolloutMode::kEnforce);

  ASSERT_THAT(SetRolloutMode(*admin_token_, name, RolloutMode::kMonitor),
              IsOk());
  // The cached catalog is unchanged until the store reloads.
  EXPECT_EQ((*store)->Verify(name, "u", bad)->mode, RolloutMode::kEnforce);
  ASSERT_THAT((*store)->Reload(), IsOk());
  for (const auto& mac : {good, bad, std::vector<uint8_t>()}) {
    auto result = (*store)->Verify(name, "u", mac);
    ASSERT_THAT(result, IsOk());
    EXPECT_EQ(result->valid, mac == good);
    EXPECT_EQ(result->mode, RolloutMode::kMonitor);
  }
  bool listed = false;
  for (const KeyEntry& entry : (*store)->List()) {
    if (entry.name != name) continue;
    listed = true;
    EXPECT_EQ(entry.rollout_mode, RolloutMode::kMonitor);
  }
  EXPECT_TRUE(listed);
  store->reset();
}

TEST_F(RolloutModeTest, UnknownKeyIsNotFound) {
  EXPECT_THAT(
      SetRolloutMode(*admin_token_, "rollout/missing", RolloutMode::kMonitor),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("rollout/missing")));
  EXPECT_THAT(SetRolloutMode(*admin_token_, "bad name!", RolloutMode::kMonitor),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(RolloutModeTest, ReadOnlyTokenIsRefused) {
  ASSERT_THAT(ImportKey(*admin_token_, "rollout/read-only", Secret(kSecret)),
              IsOk());
  std::unique_ptr<hsm::Token> read_only = TestToken::Get().Open(false);
  EXPECT_THAT(
      SetRolloutMode(*read_only, "rollout/read-only", RolloutMode::kMonitor),
      StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(Stored("rollout/read-only").first, RolloutMode::kEnforce);
}

}  // namespace
}  // namespace idsign::keys
