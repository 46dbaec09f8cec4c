// A token that will not digest secret keys (as many real HSMs answer
// CKR_KEY_INDIGESTIBLE), played by the fault shim in front of SoftHSM2:
// legacy-sha1 signing and verification fail with FAILED_PRECONDITION naming
// the reason, the session survives, and HMAC keys are unaffected. Also a
// token that returns a digest of the wrong length.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "hsm/digest.h"
#include "hsm/module.h"
#include "hsm/token.h"
#include "service/keys/hsm_key_store.h"
#include "service/keys/key_admin.h"
#include "tests/testing/oracle.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kLegacyKey[] = "shim/legacy";
constexpr char kLegacySecret[] = "ahfikm8z";
constexpr char kHmacKey[] = "shim/hmac";
constexpr char kHmacSecret[] = "shim-hmac-secret-0123456789abcdefghij";

std::string AsString(const std::vector<uint8_t>& mac) {
  return std::string(reinterpret_cast<const char*>(mac.data()), mac.size());
}

std::vector<uint8_t> Bytes(const std::string& s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

class LegacyRefusalTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    TestToken& test_token = TestToken::Get();
    fault_file_ = new std::string(test_token.dir() + "/fault");
    ::setenv("IDSIGN_SHIM_TARGET", TestToken::module_path().c_str(), 1);
    ::setenv("IDSIGN_SHIM_FAULT_FILE", fault_file_->c_str(), 1);
    auto module = hsm::Module::Load(IDSIGN_TEST_FAULT_SHIM);
    ASSERT_TRUE(module.ok()) << module.status();
    hsm::TokenOptions options;
    options.read_write = true;
    options.pool_size = 1;  // every call reuses the one pooled session
    const std::string& pin = test_token.pin();
    auto token =
        hsm::Token::Open(*module, test_token.label(),
                         hsm::SecretBytes(pin.data(), pin.size()), options);
    ASSERT_TRUE(token.ok()) << token.status();
    token_ = token->release();
    hsm::SecretBytes legacy(kLegacySecret, sizeof(kLegacySecret) - 1);
    ASSERT_THAT(keys::CreateKey(*token_, kLegacyKey,
                                {&legacy, 0, keys::Scheme::kLegacySha1}),
                IsOk());
    hsm::SecretBytes hmac(kHmacSecret, sizeof(kHmacSecret) - 1);
    ASSERT_THAT(keys::ImportKey(*token_, kHmacKey, hmac), IsOk());
    auto store = keys::HsmKeyStore::Create(token_);
    ASSERT_THAT(store, IsOk());
    store_ = store->release();
  }

  void SetUp() override { Arm(""); }
  void TearDown() override { Arm(""); }

  static void Arm(const std::string& contents) {
    std::ofstream(*fault_file_, std::ios::trunc) << contents;
  }

  // Signing works and matches OpenSSL.
  static void ExpectLegacySignWorks() {
    auto mac = store_->Sign(kLegacyKey, "42");
    ASSERT_THAT(mac, IsOk());
    EXPECT_EQ(AsString(mac->mac),
              OpenSslSha1(std::string(kLegacySecret) + "42"));
  }

  static std::string* fault_file_;
  static hsm::Token* token_;
  static keys::HsmKeyStore* store_;
};

std::string* LegacyRefusalTest::fault_file_ = nullptr;
hsm::Token* LegacyRefusalTest::token_ = nullptr;
keys::HsmKeyStore* LegacyRefusalTest::store_ = nullptr;

TEST_F(LegacyRefusalTest, WorksWhileTheTokenDigestsKeys) {
  ExpectLegacySignWorks();
}

TEST_F(LegacyRefusalTest, KeyIndigestibleIsFailedPrecondition) {
  Arm("CKR_KEY_INDIGESTIBLE C_DigestKey");
  EXPECT_THAT(store_->Sign(kLegacyKey, "42"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("C_DigestKey: CKR_KEY_INDIGESTIBLE"),
                             HasSubstr("does not support legacy-sha1"))));
  const std::vector<absl::string_view> batch = {"1", "2"};
  EXPECT_THAT(store_->SignMany(kLegacyKey, batch),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("CKR_KEY_INDIGESTIBLE")));
  EXPECT_THAT(
      store_->Verify(kLegacyKey, "42",
                     Bytes(OpenSslSha1(std::string(kLegacySecret) + "42"))),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               HasSubstr("CKR_KEY_INDIGESTIBLE")));
  // Missing values never reach the token.
  auto missing = store_->Verify(kLegacyKey, "42", {});
  ASSERT_THAT(missing, IsOk());
  EXPECT_FALSE(missing->valid);
  // HMAC keys do not digest keys, so they keep working.
  auto hmac = store_->Sign(kHmacKey, "42");
  ASSERT_THAT(hmac, IsOk());
  EXPECT_EQ(AsString(hmac->mac), OpenSslHmacSha256(kHmacSecret, "42"));
  // The refused digest left no operation behind on the one pooled session.
  Arm("");
  ExpectLegacySignWorks();
}

TEST_F(LegacyRefusalTest, FunctionNotSupportedIsFailedPrecondition) {
  Arm("CKR_FUNCTION_NOT_SUPPORTED C_DigestKey");
  EXPECT_THAT(store_->Sign(kLegacyKey, "42"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("CKR_FUNCTION_NOT_SUPPORTED"),
                             HasSubstr("legacy-sha1"))));
  Arm("");
  ExpectLegacySignWorks();
}

TEST_F(LegacyRefusalTest, WrongLengthDigestIsInternalAndNeverReturned) {
  Arm("SHORT_OUTPUT C_DigestFinal");
  EXPECT_THAT(store_->Sign(kLegacyKey, "42"),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("19 bytes for CKM_SHA_1, not 20")));
  EXPECT_THAT(
      store_->Verify(kLegacyKey, "42",
                     Bytes(OpenSslSha1(std::string(kLegacySecret) + "42"))),
      StatusIs(absl::StatusCode::kInternal));
  Arm("");
  ExpectLegacySignWorks();
}

TEST_F(LegacyRefusalTest, DeviceErrorStaysUnavailable) {
  Arm("CKR_DEVICE_ERROR C_DigestKey");
  EXPECT_THAT(store_->Sign(kLegacyKey, "42"),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("C_DigestKey: CKR_DEVICE_ERROR")));
  Arm("");
  ExpectLegacySignWorks();  // on a fresh session: the dead one was closed
}

}  // namespace
}  // namespace idsign::testing
