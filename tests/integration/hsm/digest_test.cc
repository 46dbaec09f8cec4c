// The legacy-sha1 digest of the hsm layer, SHA-1(key value || data)
// computed inside the token with C_DigestKey, checked against OpenSSL's
// SHA-1 on the test token.
#include "hsm/digest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "hsm/mac.h"
#include "hsm/objects.h"
#include "hsm/secret.h"
#include "hsm/token.h"
#include "tests/testing/oracle.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::hsm {
namespace {

using ::idsign::testing::IsOk;
using ::idsign::testing::OpenSslSha1;
using ::idsign::testing::StatusIs;
using ::idsign::testing::TestToken;
using ::testing::HasSubstr;

std::string AsString(const Sha1Digest& digest) {
  return std::string(reinterpret_cast<const char*>(digest.data()),
                     digest.size());
}

class HsmDigestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_ = TestToken::Get().Open();
    auto session = token_->Acquire();
    ASSERT_THAT(session, IsOk());
    session_.emplace(std::move(*session));
  }
  void TearDown() override { session_.reset(); }

  // Imports `secret` exactly (the locked-down template: sensitive,
  // non-extractable) under a label no other test uses.
  CK_OBJECT_HANDLE Import(const std::string& label, const std::string& secret) {
    auto handle = ImportHmacKey(*session_, NewKey{label, label},
                                SecretBytes(secret.data(), secret.size()));
    EXPECT_THAT(handle, IsOk());
    return handle.ok() ? *handle : CK_INVALID_HANDLE;
  }

  std::unique_ptr<Token> token_;
  std::optional<Session> session_;
};

TEST_F(HsmDigestTest, MatchesOpenSslSha1OfSecretThenData) {
  // An 8-character secret like the old vendor keys, a 40-byte one, and a
  // 64-byte one (a whole SHA-1 block).
  for (const std::string& secret :
       {std::string("ahfikm8z"),
        std::string("0123456789abcdefghij0123456789ABCDEFGHIJ"),
        std::string(64, '\x5c')}) {
    CK_OBJECT_HANDLE key =
        Import("hsm-digest/" + std::to_string(secret.size()), secret);
    for (const std::string& data :
         {std::string("42"), std::string("user@example.com"), std::string(),
          std::string(1, '\0'), std::string(5000, 'd'),
          std::string("\xe6\x97\xa5\xe6\x9c\xac")}) {
      auto digest = Sha1KeyThenData(*session_, key, data);
      ASSERT_THAT(digest, IsOk());
      EXPECT_EQ(AsString(*digest), OpenSslSha1(secret + data))
          << secret.size() << " / " << data.size();
    }
  }
  EXPECT_FALSE(session_->broken());
}

TEST_F(HsmDigestTest, KeyStaysSensitiveAndUnreadable) {
  CK_OBJECT_HANDLE key = Import("hsm-digest/sensitive", "ahfikm8z");
  auto info = ReadSecretKeyInfo(*session_, key);
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->sensitive, true);
  EXPECT_EQ(info->extractable, false);
  EXPECT_EQ(info->value_len, 8u);
  // Digesting it does not make the value readable.
  ASSERT_THAT(Sha1KeyThenData(*session_, key, "x"), IsOk());
  std::string value(8, '\0');
  CK_ATTRIBUTE attr{CKA_VALUE, value.data(), value.size()};
  EXPECT_EQ(
      session_->fn()->C_GetAttributeValue(session_->handle(), key, &attr, 1),
      CKR_ATTRIBUTE_SENSITIVE);
}

TEST_F(HsmDigestTest, PaddingWouldChangeTheDigest) {
  // Why a legacy-sha1 secret is never zero-padded, unlike an HMAC key.
  const std::string secret = "ahfikm8z";
  CK_OBJECT_HANDLE exact = Import("hsm-digest/exact", secret);
  CK_OBJECT_HANDLE padded =
      Import("hsm-digest/padded", secret + std::string(24, '\0'));
  auto a = Sha1KeyThenData(*session_, exact, "42");
  auto b = Sha1KeyThenData(*session_, padded, "42");
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(AsString(*a), OpenSslSha1(secret + "42"));
}

TEST_F(HsmDigestTest, UnknownHandleIsNotFoundAndSessionStaysUsable) {
  EXPECT_THAT(
      Sha1KeyThenData(*session_, 0x7fffff, "data"),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("C_DigestKey: CKR_")));
  EXPECT_FALSE(session_->broken());
  // The failed digest did not leave an operation active on the session.
  CK_OBJECT_HANDLE key = Import("hsm-digest/after-failure", "ahfikm8z");
  auto digest = Sha1KeyThenData(*session_, key, "42");
  ASSERT_THAT(digest, IsOk());
  EXPECT_EQ(AsString(*digest), OpenSslSha1(std::string("ahfikm8z") + "42"));
  EXPECT_THAT(
      HmacSha256(*session_,
                 Import("hsm-digest/hmac-after", std::string(32, 'h')), "data"),
      IsOk());
}

}  // namespace
}  // namespace idsign::hsm
