// What the custody report (BuildKeyReport: ListKeys, `idsign custody
// report`, `idsign key list`) says about schemes, weak versions and rollout
// modes, for keys made on the test token.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "service/key_report.h"
#include "service/keys/key_admin.h"
#include "service/keys/ring_edit.h"
#include "tests/integration/keys/keys_test_util.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::keys {
namespace {

using ::idsign::keys::test::Secret;
using ::idsign::testing::IsOk;
using ::idsign::testing::TestToken;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class LegacyReportTest : public ::testing::Test {
 protected:
  void SetUp() override { token_ = TestToken::Get().Open(true); }

  void ImportLegacy(const std::string& name, const std::string& secret) {
    hsm::SecretBytes bytes = Secret(secret);
    ASSERT_THAT(
        CreateKey(*token_, name, KeySource{&bytes, 0, Scheme::kLegacySha1}),
        IsOk());
  }

  // The report's entry for `name`.
  v1::Key Reported(const std::string& name) {
    auto catalog = ReadCatalog(*token_);
    EXPECT_THAT(catalog, IsOk());
    if (!catalog.ok()) return {};
    std::vector<KeyEntry> entries;
    for (const auto& [key_name, key] : catalog->keys) entries.push_back(key);
    v1::ListKeysResponse report =
        service::BuildKeyReport(entries, token_->description());
    for (const v1::Key& key : report.keys()) {
      if (key.name() == name) return key;
    }
    ADD_FAILURE() << "no key " << name << " in the report";
    return {};
  }

  std::unique_ptr<hsm::Token> token_;
};

TEST_F(LegacyReportTest, ShortLegacySecretIsWeakForTwoReasons) {
  ImportLegacy("report/legacy/short", "ahfikm8z");
  v1::Key key = Reported("report/legacy/short");
  ASSERT_THAT(key.versions(), SizeIs(1));
  const v1::KeyVersion& v = key.versions(0);
  EXPECT_EQ(v.scheme(), "legacy-sha1");
  EXPECT_TRUE(v.weak());
  EXPECT_THAT(v.weaknesses(),
              ElementsAre(AllOf(HasSubstr("legacy-sha1"),
                                HasSubstr("SHA-1 of secret || data"),
                                HasSubstr("length extension")),
                          HasSubstr("short secret: 8 bytes")));
  EXPECT_EQ(v.size_bytes(), 8u);
  // Weak, but allowed: legacy-sha1 is an explicit opt-in.
  EXPECT_TRUE(v.policy().allowed());
  EXPECT_TRUE(key.usable());
}

TEST_F(LegacyReportTest, LongLegacySecretIsWeakForItsScheme) {
  ImportLegacy("report/legacy/long", std::string(40, 'L'));
  const v1::KeyVersion v = Reported("report/legacy/long").versions(0);
  EXPECT_TRUE(v.weak());
  EXPECT_THAT(v.weaknesses(), ElementsAre(HasSubstr("length extension")));
}

TEST_F(LegacyReportTest, HmacVersionIsNotWeak) {
  ASSERT_THAT(ImportKey(*token_, "report/hmac", Secret("short!")), IsOk());
  const v1::KeyVersion v = Reported("report/hmac").versions(0);
  EXPECT_EQ(v.scheme(), "hmac-sha256");
  EXPECT_FALSE(v.weak());
  EXPECT_THAT(v.weaknesses(), IsEmpty());
}

TEST_F(LegacyReportTest, MixedRingFlagsOnlyTheLegacyVersion) {
  ImportLegacy("report/mixed", "ahfikm8z");
  hsm::SecretBytes next = Secret("report-next-0123456789abcdefghijkl");
  ASSERT_THAT(RotateKey(*token_, "report/mixed", KeySource{&next}, true),
              IsOk());
  v1::Key key = Reported("report/mixed");
  ASSERT_THAT(key.versions(), SizeIs(2));
  EXPECT_TRUE(key.versions(0).weak());
  EXPECT_EQ(key.versions(1).scheme(), "hmac-sha256");
  EXPECT_FALSE(key.versions(1).weak());
}

TEST_F(LegacyReportTest, RolloutModeIsReported) {
  ASSERT_THAT(ImportKey(*token_, "report/rollout",
                        Secret("report-rollout-0123456789abcdefghij")),
              IsOk());
  EXPECT_EQ(Reported("report/rollout").rollout_mode(),
            v1::ROLLOUT_MODE_ENFORCE);
  ASSERT_THAT(SetRolloutMode(*token_, "report/rollout", RolloutMode::kMonitor),
              IsOk());
  EXPECT_EQ(Reported("report/rollout").rollout_mode(),
            v1::ROLLOUT_MODE_MONITOR);
}

TEST_F(LegacyReportTest, UnknownSchemeInTheRingIsRefused) {
  ASSERT_THAT(ImportKey(*token_, "report/future",
                        Secret("report-future-0123456789abcdefghijk")),
              IsOk());
  {
    // A ring written by a later idsign with a scheme this one lacks.
    absl::MutexLock lock(&AdminMutex());
    auto edit = OpenRingEdit(*token_, "report/future", /*must_exist=*/true);
    ASSERT_THAT(edit, IsOk());
    edit->state.mutable_versions(0)->set_scheme("sha3-future");
    ASSERT_THAT(CommitRingEdit(*edit, "tester@host"), IsOk());
  }
  v1::Key key = Reported("report/future");
  const v1::KeyVersion& v = key.versions(0);
  EXPECT_EQ(v.scheme(), "sha3-future");
  EXPECT_FALSE(v.policy().allowed());
  EXPECT_THAT(v.policy().reasons(), Contains(HasSubstr("sha3-future")));
  EXPECT_FALSE(key.usable());
}

}  // namespace
}  // namespace idsign::keys
