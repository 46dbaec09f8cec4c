// HMAC, digest and random-number operations of the hsm layer, checked against
// OpenSSL on the test token.
#include "hsm/mac.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hsm/objects.h"
#include "hsm/secret.h"
#include "hsm/token.h"
#include "tests/testing/oracle.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::hsm {
namespace {

using ::idsign::testing::IsOk;
using ::idsign::testing::OpenSslHmacSha256;
using ::idsign::testing::OpenSslSha1;
using ::idsign::testing::StatusIs;
using ::idsign::testing::TestToken;
using ::testing::HasSubstr;

std::string AsString(const HmacSha256Mac& mac) {
  return std::string(reinterpret_cast<const char*>(mac.data()), mac.size());
}

SecretBytes Secret(const std::string& text) {
  return SecretBytes(text.data(), text.size());
}

class HsmMacTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_ = TestToken::Get().Open();
    auto session = token_->Acquire();
    ASSERT_THAT(session, IsOk());
    session_.emplace(std::move(*session));
  }
  void TearDown() override { session_.reset(); }

  // Imports `secret` under a label no other test uses.
  CK_OBJECT_HANDLE Import(const std::string& label, const std::string& secret) {
    auto handle =
        ImportHmacKey(*session_, NewKey{label, label}, Secret(secret));
    EXPECT_THAT(handle, IsOk());
    return handle.ok() ? *handle : CK_INVALID_HANDLE;
  }

  std::unique_ptr<Token> token_;
  std::optional<Session> session_;
};

TEST_F(HsmMacTest, TokenReportsSoftHsmKeySizeRange) {
  auto range = token_->MechanismKeySizes(CKM_SHA256_HMAC);
  ASSERT_THAT(range, IsOk());
  EXPECT_EQ(range->min, 32u);
  EXPECT_EQ(range->max, 512u);
}

TEST_F(HsmMacTest, HmacMatchesOpenSsl) {
  const std::string secret = "0123456789abcdef0123456789abcdef-vendor";
  CK_OBJECT_HANDLE key = Import("hsm-mac/basic", secret);
  const std::vector<std::string> messages = {
      "42", "user@example.com", std::string(1, '\0'), std::string(4096, 'x'),
      "\xe6\x97\xa5\xe6\x9c\xac"};
  for (const std::string& data : messages) {
    auto mac = HmacSha256(*session_, key, data);
    ASSERT_THAT(mac, IsOk());
    EXPECT_EQ(AsString(*mac), OpenSslHmacSha256(secret, data)) << data.size();
  }
}

// An empty or short MAC is a wrong MAC, and the session stays usable: no
// verify operation is left active in it.
TEST_F(HsmMacTest, EmptyAndShortMacsAreInvalidAndLeaveTheSessionUsable) {
  const std::string secret(32, 'v');
  CK_OBJECT_HANDLE key = Import("hsm-mac/empty-mac", secret);
  const std::string good = OpenSslHmacSha256(secret, "42");
  const std::vector<uint8_t> empty;
  const std::vector<uint8_t> short_mac(good.begin(), good.begin() + 20);
  for (const std::vector<uint8_t>& mac : {empty, short_mac}) {
    auto verified = VerifyHmacSha256(*session_, key, "42", mac);
    ASSERT_THAT(verified, IsOk()) << mac.size();
    EXPECT_FALSE(*verified) << mac.size();
    auto signed_after = HmacSha256(*session_, key, "42");
    ASSERT_THAT(signed_after, IsOk()) << mac.size();
    EXPECT_EQ(AsString(*signed_after), good);
  }
}

TEST_F(HsmMacTest, HmacOfEmptyDataMatchesOpenSsl) {
  const std::string secret(32, 'e');
  CK_OBJECT_HANDLE key = Import("hsm-mac/empty-data", secret);
  auto mac = HmacSha256(*session_, key, "");
  ASSERT_THAT(mac, IsOk());
  EXPECT_EQ(AsString(*mac), OpenSslHmacSha256(secret, ""));
}

TEST_F(HsmMacTest, DifferentKeysGiveDifferentMacs) {
  CK_OBJECT_HANDLE a = Import("hsm-mac/a", std::string(32, 'a'));
  CK_OBJECT_HANDLE b = Import("hsm-mac/b", std::string(32, 'b'));
  auto mac_a = HmacSha256(*session_, a, "same data");
  auto mac_b = HmacSha256(*session_, b, "same data");
  ASSERT_THAT(mac_a, IsOk());
  ASSERT_THAT(mac_b, IsOk());
  EXPECT_NE(*mac_a, *mac_b);
}

TEST_F(HsmMacTest, VerifyAcceptsRightMacAndRejectsAltered) {
  const std::string secret(40, 'v');
  CK_OBJECT_HANDLE key = Import("hsm-mac/verify", secret);
  const std::string data = "user-1234";
  std::string mac = OpenSslHmacSha256(secret, data);
  auto bytes = [](const std::string& s) {
    return std::vector<uint8_t>(s.begin(), s.end());
  };
  EXPECT_THAT(VerifyHmacSha256(*session_, key, data, bytes(mac)),
              ::idsign::testing::IsOkAndHolds(true));
  std::string flipped = mac;
  flipped[31] ^= 0x01;
  EXPECT_THAT(VerifyHmacSha256(*session_, key, data, bytes(flipped)),
              ::idsign::testing::IsOkAndHolds(false));
  EXPECT_THAT(VerifyHmacSha256(*session_, key, data + "x", bytes(mac)),
              ::idsign::testing::IsOkAndHolds(false));
  EXPECT_THAT(VerifyHmacSha256(*session_, key, data, bytes(mac.substr(0, 16))),
              ::idsign::testing::IsOkAndHolds(false));
  EXPECT_THAT(
      VerifyHmacSha256(*session_, key, data, bytes(mac + std::string(1, '\0'))),
      ::idsign::testing::IsOkAndHolds(false));
  // The session stays usable after a failed verification.
  EXPECT_FALSE(session_->broken());
  EXPECT_THAT(VerifyHmacSha256(*session_, key, data, bytes(mac)),
              ::idsign::testing::IsOkAndHolds(true));
}

TEST_F(HsmMacTest, UnpaddedShortKeyIsRefusedAtSignInit) {
  // Why ImportKey pads: the token stores a 4-byte key but will not use it.
  CK_OBJECT_HANDLE key = Import("hsm-mac/short", "Jefe");
  EXPECT_THAT(HmacSha256(*session_, key, "data"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("C_SignInit: CKR_KEY_SIZE_RANGE")));
  EXPECT_FALSE(session_->broken());
}

TEST_F(HsmMacTest, UnknownHandleIsNotFoundAndKeepsSession) {
  auto mac = HmacSha256(*session_, 0x7fffff, "data");
  EXPECT_THAT(mac, StatusIs(absl::StatusCode::kNotFound,
                            HasSubstr("C_SignInit: CKR_")));
  EXPECT_THAT(
      mac, StatusIs(absl::StatusCode::kNotFound, HasSubstr("HANDLE_INVALID")));
  EXPECT_FALSE(session_->broken());
}

TEST_F(HsmMacTest, TokenSha1DigestMatchesOpenSsl) {
  for (const std::string& data :
       {std::string("abc"), std::string(1000, 'q'), std::string("\0\1", 2)}) {
    auto digest = Digest(*session_, CKM_SHA_1, data);
    ASSERT_THAT(digest, IsOk());
    EXPECT_EQ(*digest, OpenSslSha1(data));
  }
}

TEST_F(HsmMacTest, GenerateRandomReturnsRequestedSize) {
  auto a = GenerateRandom(*session_, 16);
  auto b = GenerateRandom(*session_, 16);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(a->size(), 16u);
  EXPECT_NE(*a, *b);
}

TEST_F(HsmMacTest, FindListAndDestroy) {
  const std::string label = "hsm-objects/find-me";
  CK_OBJECT_HANDLE key = Import(label, std::string(32, 'f'));
  auto found = FindSecretKeysByLabel(*session_, label);
  ASSERT_THAT(found, IsOk());
  EXPECT_THAT(*found, ::testing::ElementsAre(key));

  auto listed = ListSecretKeys(*session_);
  ASSERT_THAT(listed, IsOk());
  int matches = 0;
  for (const SecretKeyInfo& info : *listed) {
    if (info.label == label) {
      ++matches;
      EXPECT_EQ(info.handle, key);
      EXPECT_EQ(info.id, label);
    }
  }
  EXPECT_EQ(matches, 1);

  ASSERT_THAT(DestroyObject(*session_, key), IsOk());
  found = FindSecretKeysByLabel(*session_, label);
  ASSERT_THAT(found, IsOk());
  EXPECT_THAT(*found, ::testing::IsEmpty());
  EXPECT_THAT(HmacSha256(*session_, key, "data"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(HsmMacTest, FindByLabelIsExact) {
  Import("hsm-objects/prefix-long", std::string(32, 'p'));
  auto found = FindSecretKeysByLabel(*session_, "hsm-objects/prefix");
  ASSERT_THAT(found, IsOk());
  EXPECT_THAT(*found, ::testing::IsEmpty());
}

TEST_F(HsmMacTest, ImportOfEmptyValueIsInvalidArgument) {
  EXPECT_THAT(
      ImportHmacKey(*session_, NewKey{"hsm-objects/empty", ""}, SecretBytes()),
      StatusIs(absl::StatusCode::kInvalidArgument));
  auto found = FindSecretKeysByLabel(*session_, "hsm-objects/empty");
  ASSERT_THAT(found, IsOk());
  EXPECT_THAT(*found, ::testing::IsEmpty());
}

}  // namespace
}  // namespace idsign::hsm
