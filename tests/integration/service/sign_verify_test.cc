// Sign and Verify over a real channel against the SoftHSM2 token: OK paths
// with exact fields, the identity rule end to end, and every error code.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "tests/integration/service/service_fixture.h"
#include "tests/testing/oracle.h"

namespace idsign::service::testing {
namespace {

using ::idsign::testing::OpenSslHmacSha256Hex;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

class SignVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = StartServer(&env().store());
    client_ = std::make_unique<SignerClient>(*server_);
  }

  static ServiceEnvironment& env() { return ServiceEnvironment::Get(); }

  std::unique_ptr<Server> server_;
  std::unique_ptr<SignerClient> client_;
};

std::string FlipLastDigit(std::string hex) {
  hex.back() = hex.back() == '0' ? '1' : '0';
  return hex;
}

TEST_F(SignVerifyTest, SignUserIdMatchesOpenSsl) {
  v1::SignResponse response;
  grpc::Status status = client_->Sign(kWebKey, "user-42", "", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.user_hash(),
            OpenSslHmacSha256Hex(env().secret(kWebKey), "user-42"));
  EXPECT_EQ(response.key(), kWebKey);
  EXPECT_EQ(response.key_version(), 1u);
  EXPECT_EQ(response.signed_field(), v1::IDENTITY_FIELD_USER_ID);
}

TEST_F(SignVerifyTest, BothFieldsSignTheUserId) {
  v1::SignResponse response;
  ASSERT_TRUE(
      client_->Sign(kWebKey, "user-42", "a@example.com", &response).ok());
  const std::string& secret = env().secret(kWebKey);
  EXPECT_EQ(response.user_hash(), OpenSslHmacSha256Hex(secret, "user-42"));
  EXPECT_NE(response.user_hash(),
            OpenSslHmacSha256Hex(secret, "a@example.com"));
  EXPECT_EQ(response.signed_field(), v1::IDENTITY_FIELD_USER_ID);
}

TEST_F(SignVerifyTest, EmailOnlySignsTheEmail) {
  v1::SignResponse response;
  ASSERT_TRUE(
      client_->Sign(kWebKey, "", "A.Person@Example.COM", &response).ok());
  EXPECT_EQ(response.user_hash(), OpenSslHmacSha256Hex(env().secret(kWebKey),
                                                       "A.Person@Example.COM"));
  EXPECT_EQ(response.signed_field(), v1::IDENTITY_FIELD_EMAIL);
}

TEST_F(SignVerifyTest, NoTrimmingOrCaseFolding) {
  for (const char* user_id : {" user-42", "user-42 ", "USER-42"}) {
    v1::SignResponse response;
    ASSERT_TRUE(client_->Sign(kWebKey, user_id, "", &response).ok());
    EXPECT_EQ(response.user_hash(),
              OpenSslHmacSha256Hex(env().secret(kWebKey), user_id));
  }
}

// The vendor's 12-byte secret is stored zero-padded; MACs are unchanged.
TEST_F(SignVerifyTest, ShortSecretGivesTheVendorMac) {
  v1::SignResponse response;
  ASSERT_TRUE(client_->Sign(kShortKey, "user-7", "", &response).ok());
  EXPECT_EQ(response.user_hash(),
            OpenSslHmacSha256Hex(env().secret(kShortKey), "user-7"));
}

TEST_F(SignVerifyTest, SignUsesThePrimaryVersion) {
  v1::SignResponse response;
  ASSERT_TRUE(client_->Sign(kRotatedKey, "user-42", "", &response).ok());
  EXPECT_EQ(response.key_version(), 2u);
  EXPECT_EQ(response.user_hash(),
            OpenSslHmacSha256Hex(env().secret(kRotatedKey, 2), "user-42"));
}

TEST_F(SignVerifyTest, GeneratedKeySignsAndVerifies) {
  v1::SignResponse signed_response;
  ASSERT_TRUE(
      client_->Sign(kGeneratedKey, "user-42", "", &signed_response).ok());
  EXPECT_EQ(signed_response.user_hash().size(), 64u);
  EXPECT_EQ(signed_response.user_hash(),
            absl::AsciiStrToLower(signed_response.user_hash()));
  v1::VerifyResponse verified;
  ASSERT_TRUE(client_
                  ->Verify(kGeneratedKey, "user-42", "",
                           signed_response.user_hash(), &verified)
                  .ok());
  EXPECT_TRUE(verified.valid());
  EXPECT_EQ(verified.key_version(), 1u);
}

TEST_F(SignVerifyTest, VerifyAcceptsLowerAndUpperCaseHex) {
  const std::string hash = OpenSslHmacSha256Hex(env().secret(kWebKey), "u-1");
  for (const std::string& text : {hash, absl::AsciiStrToUpper(hash)}) {
    v1::VerifyResponse response;
    grpc::Status status = client_->Verify(kWebKey, "u-1", "", text, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(response.valid()) << text;
    EXPECT_EQ(response.key_version(), 1u);
    EXPECT_EQ(response.verified_field(), v1::IDENTITY_FIELD_USER_ID);
  }
}

TEST_F(SignVerifyTest, WellFormedWrongValueIsInvalidWithVersionZero) {
  const std::string hash = OpenSslHmacSha256Hex(env().secret(kWebKey), "u-1");
  for (const std::string& wrong :
       {FlipLastDigit(hash), std::string(64, '0'),
        OpenSslHmacSha256Hex(env().secret(kShortKey), "u-1")}) {
    v1::VerifyResponse response;
    ASSERT_TRUE(client_->Verify(kWebKey, "u-1", "", wrong, &response).ok());
    EXPECT_FALSE(response.valid()) << wrong;
    EXPECT_EQ(response.key_version(), 0u);
  }
}

TEST_F(SignVerifyTest, EmailHashIsNotValidWhenAUserIdIsPresent) {
  const std::string email = "someone@example.com";
  const std::string email_hash =
      OpenSslHmacSha256Hex(env().secret(kWebKey), email);
  v1::VerifyResponse email_only;
  ASSERT_TRUE(
      client_->Verify(kWebKey, "", email, email_hash, &email_only).ok());
  EXPECT_TRUE(email_only.valid());
  EXPECT_EQ(email_only.verified_field(), v1::IDENTITY_FIELD_EMAIL);

  v1::VerifyResponse with_user_id;
  ASSERT_TRUE(
      client_->Verify(kWebKey, "user-42", email, email_hash, &with_user_id)
          .ok());
  EXPECT_FALSE(with_user_id.valid());
  EXPECT_EQ(with_user_id.key_version(), 0u);
  EXPECT_EQ(with_user_id.verified_field(), v1::IDENTITY_FIELD_USER_ID);
}

TEST_F(SignVerifyTest, VerifyFindsTheVersionThatMatches) {
  for (uint32_t version : {1u, 2u}) {
    const std::string hash =
        OpenSslHmacSha256Hex(env().secret(kRotatedKey, version), "user-42");
    v1::VerifyResponse response;
    ASSERT_TRUE(
        client_->Verify(kRotatedKey, "user-42", "", hash, &response).ok());
    EXPECT_TRUE(response.valid());
    EXPECT_EQ(response.key_version(), version);
  }
}

TEST_F(SignVerifyTest, SignThenVerifyRoundTrip) {
  v1::SignResponse signed_response;
  ASSERT_TRUE(
      client_->Sign(kShortKey, "", "x@example.org", &signed_response).ok());
  v1::VerifyResponse verified;
  ASSERT_TRUE(client_
                  ->Verify(kShortKey, "", "x@example.org",
                           signed_response.user_hash(), &verified)
                  .ok());
  EXPECT_TRUE(verified.valid());
  EXPECT_EQ(verified.verified_field(), v1::IDENTITY_FIELD_EMAIL);
}

// --- errors -----------------------------------------------------------------

TEST_F(SignVerifyTest, EmptyOrInvalidKeyNameIsInvalidArgument) {
  const std::string valid_hash(64, 'a');
  for (const std::string& key :
       {std::string(), std::string("bad key"), std::string("a//b"),
        std::string("/lead"), std::string("trail/"), std::string("k\xc3\xa9y"),
        std::string(129, 'k')}) {
    v1::SignResponse signed_response;
    grpc::Status status = client_->Sign(key, "u", "", &signed_response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << key;
    EXPECT_THAT(status.error_message(), HasSubstr("key")) << key;
    EXPECT_TRUE(signed_response.user_hash().empty());

    v1::VerifyResponse verified;
    status = client_->Verify(key, "u", "", valid_hash, &verified);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << key;
  }
}

TEST_F(SignVerifyTest, UnknownKeyIsNotFound) {
  v1::SignResponse signed_response;
  grpc::Status status = client_->Sign("no/such/key", "u", "", &signed_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(),
              AllOf(HasSubstr("no/such/key"), HasSubstr("ListKeys")));

  v1::VerifyResponse verified;
  status =
      client_->Verify("no/such/key", "u", "", std::string(64, 'a'), &verified);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("no/such/key"));
}

TEST_F(SignVerifyTest, UnidentifiedIsInvalidArgument) {
  v1::SignResponse signed_response;
  grpc::Status status = client_->Sign(kWebKey, "", "", &signed_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("unidentified users cannot be verified"));

  v1::SignRequest no_identity;  // identity not set at all
  no_identity.set_key(kWebKey);
  status = client_->Sign(no_identity, &signed_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::VerifyResponse verified;
  status = client_->Verify(kWebKey, "", "", std::string(64, 'a'), &verified);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("unidentified users cannot be verified"));
}

TEST_F(SignVerifyTest, OverLimitIdentifierIsRefusedWithoutEchoingIt) {
  const std::string user_id = "private-" + std::string(1024, 'z');
  v1::SignResponse signed_response;
  grpc::Status status = client_->Sign(kWebKey, user_id, "", &signed_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              AllOf(HasSubstr("1024"), Not(HasSubstr("private-")),
                    Not(HasSubstr("zzzz"))));

  v1::VerifyResponse verified;
  status =
      client_->Verify(kWebKey, "", user_id, std::string(64, 'a'), &verified);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), Not(HasSubstr("private-")));
}

TEST_F(SignVerifyTest, IdentifierLimitIsConfigurable) {
  Limits limits;
  limits.max_identifier_bytes = 16;
  auto server = StartServer(&env().store(), limits);
  SignerClient client(*server);
  v1::SignResponse response;
  ASSERT_TRUE(client.Sign(kWebKey, std::string(16, 'u'), "", &response).ok());
  EXPECT_EQ(response.user_hash(),
            OpenSslHmacSha256Hex(env().secret(kWebKey), std::string(16, 'u')));
  grpc::Status status =
      client.Sign(kWebKey, std::string(17, 'u'), "", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("the limit is 16 bytes"));
  v1::VerifyResponse verified;
  status = client.Verify(kWebKey, "", std::string(17, 'e'),
                         std::string(64, 'a'), &verified);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("email"));
}

// Empty (missing) and 40 or 27 characters (legacy-sha1) are not errors:
// see rollout_service_test.cc.
TEST_F(SignVerifyTest, BadUserHashIsInvalidArgument) {
  const std::string hash = OpenSslHmacSha256Hex(env().secret(kWebKey), "u");
  std::string non_hex = hash;
  non_hex[10] = 'x';
  for (const std::string& bad :
       {hash.substr(0, 63), hash + "0", hash.substr(0, 42), non_hex,
        "0x" + hash.substr(2), std::string(64, ' '), std::string(43, '=') + "=",
        std::string(43, '+')}) {
    v1::VerifyResponse response;
    grpc::Status status = client_->Verify(kWebKey, "u", "", bad, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_THAT(status.error_message(), HasSubstr("user_hash")) << bad;
    EXPECT_FALSE(response.valid());
  }
}

}  // namespace
}  // namespace idsign::service::testing
