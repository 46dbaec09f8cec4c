// SignJwt and VerifyJwt against the SoftHSM2 token: tokens checked with
// OpenSSL's HMAC and Debian's python3-jwt, and every refused token shape,
// each correctly signed (by the OpenSSL oracle) so that only the rule under
// test can refuse it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "service/signer_service.h"
#include "tests/integration/service/jwt_test_util.h"
#include "tests/integration/service/service_fixture.h"
#include "tests/testing/oracle.h"

namespace idsign::service::testing {
namespace {

using ::idsign::testing::OpenSslHmacSha256;
using ::testing::HasSubstr;

constexpr char kHeader[] = R"({"alg":"HS256","typ":"JWT"})";

class JwtServiceTest : public ::testing::Test {
 protected:
  static ServiceEnvironment& env() { return ServiceEnvironment::Get(); }
  static const std::string& secret() { return env().secret(kWebKey); }

  v1::SignJwtResponse MustSign(const v1::SignJwtRequest& request) {
    v1::SignJwtResponse response;
    absl::Status status = service_.DoSignJwt(request, &response);
    EXPECT_TRUE(status.ok()) << status;
    return response;
  }

  v1::VerifyJwtResponse Verify(const std::string& jwt,
                               const std::string& key = kWebKey) {
    v1::VerifyJwtRequest request;
    request.set_key(key);
    request.set_jwt(jwt);
    v1::VerifyJwtResponse response;
    absl::Status status = service_.DoVerifyJwt(request, &response);
    EXPECT_TRUE(status.ok()) << status;
    return response;
  }

  // A correctly signed token that must still be refused for `detail`.
  void ExpectInvalid(const std::string& jwt, absl::string_view detail) {
    v1::VerifyJwtResponse response = Verify(jwt);
    EXPECT_FALSE(response.valid()) << jwt;
    EXPECT_EQ(response.reason(), v1::VERIFY_REASON_INVALID) << jwt;
    EXPECT_EQ(response.decision(), v1::DECISION_DENY) << jwt;
    EXPECT_EQ(response.mode(), v1::ROLLOUT_MODE_ENFORCE);
    EXPECT_EQ(response.key_version(), 0u);
    EXPECT_FALSE(response.has_claims());
    EXPECT_THAT(response.detail(), HasSubstr(std::string(detail))) << jwt;
  }

  static int64_t Now() { return absl::ToUnixSeconds(absl::Now()); }

  SignerService service_{&env().store(), Limits{}};
};

v1::SignJwtRequest Request(const std::string& user_id,
                           const std::string& email) {
  v1::SignJwtRequest request;
  request.set_key(kWebKey);
  *request.mutable_identity() = MakeIdentity(user_id, email);
  return request;
}

TEST_F(JwtServiceTest, SignJwtMatchesTheOpenSslOracle) {
  v1::SignJwtRequest request = Request("user-42", "a@example.com");
  auto& claims = *request.mutable_claims()->mutable_fields();
  claims["plan"].set_string_value("pro");
  claims["seats"].set_number_value(12);
  claims["ratio"].set_number_value(0.5);
  claims["admin"].set_bool_value(true);
  const int64_t before = Now();
  v1::SignJwtResponse response = MustSign(request);
  const int64_t after = Now();

  const std::vector<std::string> parts = Segments(response.jwt());
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(B64UrlDecode(parts[0]), kHeader);
  EXPECT_EQ(B64UrlDecode(parts[2]),
            OpenSslHmacSha256(secret(), parts[0] + "." + parts[1]));
  EXPECT_EQ(parts[2].size(), 43u);  // base64url without padding

  const nlohmann::ordered_json payload =
      nlohmann::ordered_json::parse(B64UrlDecode(parts[1]));
  std::vector<std::string> names;
  for (const auto& [name, value] : payload.items()) names.push_back(name);
  EXPECT_THAT(names, ::testing::ElementsAre("user_id", "email", "iat", "exp",
                                            "admin", "plan", "ratio", "seats"));
  EXPECT_EQ(payload["user_id"], "user-42");
  EXPECT_EQ(payload["email"], "a@example.com");
  EXPECT_TRUE(payload["iat"].is_number_integer());
  EXPECT_GE(payload["iat"].get<int64_t>(), before);
  EXPECT_LE(payload["iat"].get<int64_t>(), after);
  EXPECT_EQ(payload["exp"].get<int64_t>() - payload["iat"].get<int64_t>(),
            3600);
  EXPECT_TRUE(payload["seats"].is_number_integer());
  EXPECT_EQ(payload["seats"], 12);
  EXPECT_EQ(payload["ratio"], 0.5);
  EXPECT_EQ(payload["admin"], true);
  EXPECT_EQ(payload["plan"], "pro");

  EXPECT_EQ(response.key(), kWebKey);
  EXPECT_EQ(response.key_version(), 1u);
  EXPECT_EQ(response.signed_field(), v1::IDENTITY_FIELD_USER_ID);
  EXPECT_EQ(response.issued_at().seconds(), payload["iat"].get<int64_t>());
  EXPECT_EQ(response.expires_at().seconds(), payload["exp"].get<int64_t>());
}

TEST_F(JwtServiceTest, EmailOnlyIdentityAndTtl) {
  v1::SignJwtRequest request = Request("", "A.Person@Example.COM");
  request.mutable_ttl()->set_seconds(300);
  v1::SignJwtResponse response = MustSign(request);
  const nlohmann::json payload =
      nlohmann::json::parse(B64UrlDecode(Segments(response.jwt())[1]));
  EXPECT_EQ(payload["user_id"], "A.Person@Example.COM");
  EXPECT_EQ(payload["email"], "A.Person@Example.COM");
  EXPECT_EQ(payload["exp"].get<int64_t>() - payload["iat"].get<int64_t>(), 300);
  EXPECT_EQ(response.signed_field(), v1::IDENTITY_FIELD_EMAIL);

  request = Request("u1", "");
  v1::SignJwtResponse no_email = MustSign(request);
  EXPECT_FALSE(nlohmann::json::parse(B64UrlDecode(Segments(no_email.jwt())[1]))
                   .contains("email"));
}

// The vendor's 12-byte secret is stored zero-padded; the JWT signature is
// still the one the vendor computes with its secret.
TEST_F(JwtServiceTest, ShortSecretGivesTheVendorSignature) {
  v1::SignJwtRequest request = Request("user-42", "");
  request.set_key(kShortKey);
  const std::vector<std::string> parts = Segments(MustSign(request).jwt());
  EXPECT_EQ(
      B64UrlDecode(parts[2]),
      OpenSslHmacSha256(env().secret(kShortKey), parts[0] + "." + parts[1]));
}

TEST_F(JwtServiceTest, PythonJwtAcceptsOurTokens) {
  v1::SignJwtRequest request = Request("user-42", "a@example.com");
  (*request.mutable_claims()->mutable_fields())["plan"].set_string_value("pro");
  (*request.mutable_claims()->mutable_fields())["seats"].set_number_value(3);
  const std::string jwt = MustSign(request).jwt();
  const std::string script =
      "import json, sys, jwt\n"
      "claims = jwt.decode(sys.argv[1], sys.argv[2], algorithms=['HS256'])\n"
      "header = jwt.get_unverified_header(sys.argv[1])\n"
      "print(json.dumps([header, claims], sort_keys=True))\n";
  CommandResult result = RunPython(script, {jwt, secret()});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const nlohmann::json decoded = nlohmann::json::parse(result.output);
  EXPECT_EQ(decoded[0], nlohmann::json::parse(kHeader));
  EXPECT_EQ(decoded[1]["user_id"], "user-42");
  EXPECT_EQ(decoded[1]["email"], "a@example.com");
  EXPECT_EQ(decoded[1]["plan"], "pro");
  EXPECT_EQ(decoded[1]["seats"], 3);
  // And refuses them under another secret: the check is not vacuous.
  result = RunPython(script, {jwt, secret() + "x"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.output, HasSubstr("InvalidSignatureError"));
}

TEST_F(JwtServiceTest, VerifyJwtAcceptsPythonJwtTokens) {
  const std::string script =
      "import sys, time, jwt\n"
      "print(jwt.encode({'user_id': 'py-7', 'email': 'p@example.com',\n"
      "                  'exp': int(time.time()) + 600, 'tier': 2,\n"
      "                  'beta': True}, sys.argv[1], algorithm='HS256'),\n"
      "      end='')\n";
  CommandResult result = RunPython(script, {secret()});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  v1::VerifyJwtResponse response = Verify(result.output);
  EXPECT_TRUE(response.valid()) << response.detail();
  EXPECT_EQ(response.user_id(), "py-7");
  EXPECT_EQ(response.email(), "p@example.com");
  EXPECT_EQ(response.claims().fields().at("tier").number_value(), 2);
  EXPECT_TRUE(response.claims().fields().at("beta").bool_value());
}

TEST_F(JwtServiceTest, VerifyJwtRoundTripsClaims) {
  v1::SignJwtRequest request = Request("user-42", "a@example.com");
  auto& claims = *request.mutable_claims()->mutable_fields();
  claims["plan"].set_string_value("pro");
  claims["seats"].set_number_value(12);
  claims["admin"].set_bool_value(false);
  v1::SignJwtResponse signed_jwt = MustSign(request);
  v1::VerifyJwtResponse response = Verify(signed_jwt.jwt());
  EXPECT_TRUE(response.valid()) << response.detail();
  EXPECT_EQ(response.reason(), v1::VERIFY_REASON_VALID);
  EXPECT_EQ(response.decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(response.mode(), v1::ROLLOUT_MODE_ENFORCE);
  EXPECT_EQ(response.key_version(), 1u);
  EXPECT_EQ(response.user_id(), "user-42");
  EXPECT_EQ(response.email(), "a@example.com");
  EXPECT_EQ(response.expires_at().seconds(), signed_jwt.expires_at().seconds());
  const auto& fields = response.claims().fields();
  EXPECT_EQ(fields.at("plan").string_value(), "pro");
  EXPECT_EQ(fields.at("seats").number_value(), 12);
  EXPECT_FALSE(fields.at("admin").bool_value());
  EXPECT_EQ(fields.at("user_id").string_value(), "user-42");
  EXPECT_EQ(fields.at("exp").number_value(), signed_jwt.expires_at().seconds());
}

TEST_F(JwtServiceTest, RotatedKeyVerifiesOldAndSignsWithPrimary) {
  v1::SignJwtRequest request = Request("user-42", "");
  request.set_key(kRotatedKey);
  v1::SignJwtResponse response = MustSign(request);
  EXPECT_EQ(response.key_version(), 2u);
  const std::string old =
      OracleJwt(env().secret(kRotatedKey, 1), kHeader,
                absl::StrCat(R"({"user_id":"u","exp":)", Now() + 600, "}"));
  v1::VerifyJwtResponse verified = Verify(old, kRotatedKey);
  EXPECT_TRUE(verified.valid()) << verified.detail();
  EXPECT_EQ(verified.key_version(), 1u);
}

TEST_F(JwtServiceTest, TamperedTokensAreRefused) {
  const std::string jwt = MustSign(Request("user-42", "")).jwt();
  const std::vector<std::string> parts = Segments(jwt);
  const std::string other_header =
      B64Url(R"({"alg":"HS256","typ":"JWT","kid":"x"})");
  ExpectInvalid(absl::StrCat(other_header, ".", parts[1], ".", parts[2]),
                "bad signature");
  nlohmann::ordered_json payload =
      nlohmann::ordered_json::parse(B64UrlDecode(parts[1]));
  payload["user_id"] = "admin";
  ExpectInvalid(
      absl::StrCat(parts[0], ".", B64Url(payload.dump()), ".", parts[2]),
      "bad signature");
  std::string signature = parts[2];
  signature[0] = signature[0] == 'A' ? 'B' : 'A';
  ExpectInvalid(absl::StrCat(parts[0], ".", parts[1], ".", signature),
                "bad signature");
  // Signed with another secret.
  ExpectInvalid(OracleJwt("another secret", kHeader,
                          absl::StrCat(R"({"exp":)", Now() + 600, "}")),
                "bad signature");
}

TEST_F(JwtServiceTest, AlgNoneAndOtherAlgsAreRefused) {
  const std::string payload =
      absl::StrCat(R"({"user_id":"admin","exp":)", Now() + 600, "}");
  const std::string none = B64Url(R"({"alg":"none","typ":"JWT"})");
  ExpectInvalid(absl::StrCat(none, ".", B64Url(payload), "."),
                "alg none is refused");
  const std::string with_signature =
      OracleJwt(secret(), R"({"alg":"none","typ":"JWT"})", payload);
  ExpectInvalid(with_signature, "alg none is refused");
  for (const char* alg : {"HS512", "HS384", "RS256", "ES256", "PS256"}) {
    ExpectInvalid(
        OracleJwt(secret(), absl::StrCat(R"({"alg":")", alg, R"("})"), payload),
        "only HS256 is accepted");
  }
}

TEST_F(JwtServiceTest, TimesAreCheckedWithLeeway) {
  const int64_t now = Now();
  auto token = [&](absl::string_view times) {
    return OracleJwt(secret(), kHeader,
                     absl::StrCat(R"({"user_id":"u",)", times, "}"));
  };
  // The default leeway is 60s; margins of 30s keep the test independent of
  // how long it runs.
  ExpectInvalid(token(absl::StrCat(R"("exp":)", now - 90)), "expired");
  EXPECT_TRUE(Verify(token(absl::StrCat(R"("exp":)", now - 30))).valid());
  ExpectInvalid(
      token(absl::StrCat(R"("exp":)", now + 600, R"(,"nbf":)", now + 90)),
      "nbf is in the future");
  EXPECT_TRUE(Verify(token(absl::StrCat(R"("exp":)", now + 600, R"(,"nbf":)",
                                        now + 30)))
                  .valid());
  ExpectInvalid(
      token(absl::StrCat(R"("exp":)", now + 600, R"(,"iat":)", now + 90)),
      "issued in the future");
  EXPECT_TRUE(Verify(token(absl::StrCat(R"("exp":)", now + 600, R"(,"iat":)",
                                        now + 30)))
                  .valid());
  ExpectInvalid(token(R"("iat":1)"), "exp is missing");

  // Without leeway, the token that was inside it is expired.
  Limits strict;
  strict.jwt.leeway = absl::ZeroDuration();
  SignerService no_leeway(&env().store(), strict);
  v1::VerifyJwtRequest request;
  request.set_key(kWebKey);
  request.set_jwt(token(absl::StrCat(R"("exp":)", now - 30)));
  v1::VerifyJwtResponse response;
  ASSERT_TRUE(no_leeway.DoVerifyJwt(request, &response).ok());
  EXPECT_FALSE(response.valid());
  EXPECT_EQ(response.detail(), "expired");
}

TEST_F(JwtServiceTest, AmbiguousOrNonCanonicalTokensAreRefused) {
  const int64_t exp = Now() + 600;
  ExpectInvalid(
      OracleJwt(
          secret(), kHeader,
          absl::StrCat(R"({"user_id":"u","user_id":"admin","exp":)", exp, "}")),
      "\"user_id\" appears more than once");
  ExpectInvalid(OracleJwt(secret(), R"({"alg":"HS256","alg":"none"})",
                          absl::StrCat(R"({"exp":)", exp, "}")),
                "appears more than once");
  // Padded segments, signed over exactly what is sent.
  // 25 bytes: two characters of padding.
  std::string payload = B64Url(absl::StrCat(R"({"exp":)", exp, R"(,"p":12})"));
  ASSERT_NE(payload.size() % 4, 0u);
  while (payload.size() % 4 != 0) payload += '=';
  const std::string input = absl::StrCat(B64Url(kHeader), ".", payload);
  ExpectInvalid(
      absl::StrCat(input, ".", B64Url(OpenSslHmacSha256(secret(), input))),
      "padding");
  const std::string good =
      OracleJwt(secret(), kHeader, absl::StrCat(R"({"exp":)", exp, "}"));
  ExpectInvalid(good + "=", "padding");
  ExpectInvalid(absl::StrCat(good, ".", Segments(good)[2]), "3 segments");
  ExpectInvalid(OracleJwt(secret(), R"({"alg":"HS256","crit":["b64"]})",
                          absl::StrCat(R"({"exp":)", exp, "}")),
                "crit");
  ExpectInvalid("not a token", "3 segments");
}

TEST_F(JwtServiceTest, MissingTokenIsMissing) {
  v1::VerifyJwtResponse response = Verify("");
  EXPECT_FALSE(response.valid());
  EXPECT_EQ(response.reason(), v1::VERIFY_REASON_MISSING);
  EXPECT_EQ(response.decision(), v1::DECISION_DENY);
  EXPECT_EQ(response.mode(), v1::ROLLOUT_MODE_ENFORCE);
}

}  // namespace
}  // namespace idsign::service::testing
