// JWT building and strict parsing without an HSM: the payload's form, claim
// rules and limits, every refused token shape, and the time checks at their
// boundaries. Signatures here are placeholders; the integration tests check
// real ones.
#include "service/jwt.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "service/jwt_json.h"
#include "tests/testing/status_matchers.h"

namespace idsign::service {
namespace {

using ::idsign::testing::IsOk;
using ::idsign::testing::StatusIs;
using ::testing::HasSubstr;

std::string B64(absl::string_view text) {
  return absl::WebSafeBase64Escape(text);
}

// A token with the given header and payload JSON and a 32-byte signature.
std::string Token(absl::string_view header, absl::string_view payload) {
  return absl::StrCat(B64(header), ".", B64(payload), ".",
                      B64(std::string(32, 'x')));
}

constexpr char kHeader[] = R"({"alg":"HS256","typ":"JWT"})";

std::string Decode(absl::string_view segment) {
  std::string out;
  EXPECT_TRUE(absl::WebSafeBase64Unescape(segment, &out));
  return out;
}

absl::StatusOr<std::string> Payload(const google::protobuf::Struct* claims,
                                    absl::string_view email = "",
                                    const JwtLimits& limits = {}) {
  absl::StatusOr<std::string> input = JwtSigningInput({.user_id = "user-42",
                                                       .email = email,
                                                       .issued_at = 1700000000,
                                                       .expires_at = 1700003600,
                                                       .claims = claims},
                                                      limits);
  if (!input.ok()) return input.status();
  const size_t dot = input->find('.');
  EXPECT_EQ(input->substr(0, dot), B64(kHeader));
  return Decode(input->substr(dot + 1));
}

TEST(JwtSigningInputTest, HeaderAndPayloadInOrder) {
  EXPECT_THAT(Payload(nullptr), ::idsign::testing::IsOkAndHolds(
                                    R"({"user_id":"user-42","iat":1700000000,)"
                                    R"("exp":1700003600})"));
  EXPECT_THAT(Payload(nullptr, "a@example.com"),
              ::idsign::testing::IsOkAndHolds(
                  R"({"user_id":"user-42","email":"a@example.com",)"
                  R"("iat":1700000000,"exp":1700003600})"));
}

TEST(JwtSigningInputTest, ClaimsFollowSortedWithExactNumbers) {
  google::protobuf::Struct claims;
  auto& fields = *claims.mutable_fields();
  fields["plan"].set_string_value("pro \"gold\" \xc3\xa9");
  fields["admin"].set_bool_value(false);
  fields["seats"].set_number_value(12);
  fields["ratio"].set_number_value(0.25);
  fields["big"].set_number_value(9007199254740992.0);  // 2^53: an integer
  fields["huge"].set_number_value(1e300);              // beyond: a double
  fields["neg"].set_number_value(-3);
  EXPECT_THAT(
      Payload(&claims),
      ::idsign::testing::IsOkAndHolds(absl::StrCat(
          R"({"user_id":"user-42","iat":1700000000,"exp":1700003600,)",
          R"("admin":false,"big":9007199254740992,"huge":1e+300,"neg":-3,)",
          R"("plan":"pro \"gold\" )", "\xc3\xa9", R"(","ratio":0.25,)",
          R"("seats":12})")));
}

TEST(JwtSigningInputTest, ReservedClaimsAreRefusedByName) {
  for (const char* name :
       {"user_id", "email", "iat", "exp", "nbf", "iss", "sub", "aud", "jti"}) {
    google::protobuf::Struct claims;
    (*claims.mutable_fields())[name].set_string_value("x");
    EXPECT_THAT(Payload(&claims),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(absl::StrCat("\"", name, "\" is reserved"))))
        << name;
  }
}

TEST(JwtSigningInputTest, OnlyScalarClaimsAreAccepted) {
  google::protobuf::Struct claims;
  (*claims.mutable_fields())["roles"].mutable_list_value()->add_values();
  EXPECT_THAT(Payload(&claims), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("\"roles\" must be")));
  claims.Clear();
  (*claims.mutable_fields())["org"].mutable_struct_value();
  EXPECT_THAT(Payload(&claims), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("\"org\" must be")));
  claims.Clear();
  (*claims.mutable_fields())["gone"].set_null_value(
      google::protobuf::NULL_VALUE);
  EXPECT_THAT(Payload(&claims), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("\"gone\" must be")));
  claims.Clear();
  (*claims.mutable_fields())["unset"];  // a Value with no kind
  EXPECT_THAT(Payload(&claims), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(JwtSigningInputTest, NonFiniteNumbersAreRefused) {
  for (double bad : {std::nan(""), std::numeric_limits<double>::infinity(),
                     -std::numeric_limits<double>::infinity()}) {
    google::protobuf::Struct claims;
    (*claims.mutable_fields())["score"].set_number_value(bad);
    EXPECT_THAT(Payload(&claims),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("\"score\" is not a finite number")));
  }
}

TEST(JwtSigningInputTest, LimitsAreNamed) {
  JwtLimits limits;
  limits.max_claims = 2;
  google::protobuf::Struct claims;
  for (const char* name : {"a", "b", "c"}) {
    (*claims.mutable_fields())[name].set_bool_value(true);
  }
  EXPECT_THAT(Payload(&claims, "", limits),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("the limit is 2 claims")));

  claims.Clear();
  (*claims.mutable_fields())[std::string(65, 'n')].set_bool_value(true);
  EXPECT_THAT(Payload(&claims), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("the limit is 64 bytes")));
  claims.Clear();
  (*claims.mutable_fields())[""].set_bool_value(true);
  EXPECT_THAT(Payload(&claims),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));

  claims.Clear();
  (*claims.mutable_fields())["blob"].set_string_value(std::string(9000, 'z'));
  EXPECT_THAT(Payload(&claims), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("limit is 8192 bytes")));
}

TEST(JwtTtlTest, DefaultLimitAndWholeSeconds) {
  JwtLimits limits;
  EXPECT_EQ(*JwtTtl(nullptr, limits), absl::Hours(1));
  google::protobuf::Duration ttl;
  ttl.set_seconds(300);
  EXPECT_EQ(*JwtTtl(&ttl, limits), absl::Minutes(5));
  ttl.set_seconds(24 * 3600);
  EXPECT_EQ(*JwtTtl(&ttl, limits), absl::Hours(24));
  ttl.set_seconds(24 * 3600 + 1);
  EXPECT_THAT(JwtTtl(&ttl, limits), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("--jwt-max-ttl")));
  ttl.set_seconds(0);
  EXPECT_THAT(JwtTtl(&ttl, limits),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ttl.set_seconds(-5);
  EXPECT_THAT(JwtTtl(&ttl, limits),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ttl.set_seconds(10);
  ttl.set_nanos(5);
  EXPECT_THAT(JwtTtl(&ttl, limits),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("whole number of seconds")));
  limits.max_ttl = absl::Minutes(10);
  EXPECT_EQ(*JwtTtl(nullptr, limits), absl::Minutes(10));
}

TEST(ParseJwtTest, ReadsAWellFormedToken) {
  const std::string token = Token(
      kHeader, R"({"user_id":"u","email":"e@x","iat":10,"exp":20.5,"nbf":5,)"
               R"("plan":"pro","n":{"deep":[1,true,null]}})");
  absl::StatusOr<ParsedJwt> parsed = ParseJwt(token, {});
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->signing_input, token.substr(0, token.rfind('.')));
  EXPECT_EQ(parsed->signature, std::string(32, 'x'));
  EXPECT_EQ(parsed->user_id, "u");
  EXPECT_EQ(parsed->email, "e@x");
  EXPECT_EQ(parsed->issued_at, 10);
  EXPECT_EQ(parsed->expires_at, 20.5);
  EXPECT_EQ(parsed->not_before, 5);
  EXPECT_EQ(parsed->payload.fields().at("plan").string_value(), "pro");
  EXPECT_EQ(parsed->payload.fields()
                .at("n")
                .struct_value()
                .fields()
                .at("deep")
                .list_value()
                .values_size(),
            3);
  // typ is optional; unknown header members such as kid are allowed.
  EXPECT_THAT(ParseJwt(Token(R"({"alg":"HS256"})", "{}"), {}), IsOk());
  EXPECT_THAT(ParseJwt(Token(R"({"kid":"k1","alg":"HS256"})", "{}"), {}),
              IsOk());
}

void ExpectRefused(const std::string& token, absl::string_view detail) {
  EXPECT_THAT(ParseJwt(token, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(detail)))
      << token;
}

TEST(ParseJwtTest, RefusesAlgNoneAndEveryOtherAlg) {
  const std::string payload = R"({"user_id":"u","exp":99999999999})";
  ExpectRefused(Token(R"({"alg":"none","typ":"JWT"})", payload),
                "alg none is refused");
  ExpectRefused(Token(R"({"alg":"NONE"})", payload), "alg none is refused");
  // alg none as usually sent: an empty signature segment.
  ExpectRefused(absl::StrCat(B64(R"({"alg":"none"})"), ".", B64(payload), "."),
                "alg none is refused");
  for (const char* alg : {"HS512", "HS384", "RS256", "ES256", "hs256", ""}) {
    ExpectRefused(Token(absl::StrCat(R"({"alg":")", alg, R"("})"), payload),
                  "only HS256 is accepted");
  }
  ExpectRefused(Token(R"({"typ":"JWT"})", payload), "no alg");
  ExpectRefused(Token(R"({"alg":256})", payload), "not a string");
  ExpectRefused(Token(R"({"alg":"HS256","crit":["exp"]})", payload), "crit");
  ExpectRefused(Token(R"({"alg":"HS256","typ":"JWE"})", payload), "typ");
  ExpectRefused(Token(R"({"alg":"HS256","typ":1})", payload), "typ");
}

TEST(ParseJwtTest, RefusesRepeatedMembers) {
  ExpectRefused(Token(R"({"alg":"HS256","alg":"none"})", "{}"),
                "\"alg\" appears more than once");
  ExpectRefused(Token(kHeader, R"({"exp":1,"user_id":"a","user_id":"b"})"),
                "\"user_id\" appears more than once");
  ExpectRefused(Token(kHeader, R"({"o":{"k":1,"k":2}})"),
                "\"k\" appears more than once");
  // The same name in different objects is fine.
  EXPECT_THAT(ParseJwt(Token(kHeader, R"({"k":{"k":{"k":1}}})"), {}), IsOk());
}

TEST(ParseJwtTest, RefusesNonCanonicalBase64Url) {
  const std::string header = B64(kHeader);
  const std::string payload = B64(R"({"exp":12})");
  const std::string signature = B64(std::string(32, 'x'));
  // Padding on any segment.
  ExpectRefused(absl::StrCat(header, ".", payload, ".", signature, "="),
                "padding");
  std::string padded_payload = payload;
  while (padded_payload.size() % 4 != 0) padded_payload += '=';
  ASSERT_NE(padded_payload, payload);
  ExpectRefused(absl::StrCat(header, ".", padded_payload, ".", signature),
                "padding");
  // The standard alphabet, whitespace.
  std::string standard = signature;
  standard[0] = '+';
  ExpectRefused(absl::StrCat(header, ".", payload, ".", standard),
                "not in the base64url alphabet");
  ExpectRefused(absl::StrCat(" ", header, ".", payload, ".", signature),
                "not in the base64url alphabet");
  // Non-zero unused bits: the same bytes under another spelling.
  std::string spelling = signature;
  ASSERT_EQ(spelling.size(), 43u);
  // The last character carries 2 bits of data and 4 unused ones.
  spelling.back() = static_cast<char>(spelling.back() + 1);
  ExpectRefused(absl::StrCat(header, ".", payload, ".", spelling),
                "not canonical");
  // An impossible length.
  ExpectRefused(absl::StrCat(header, "A.", payload, ".", signature),
                "not canonical");
}

TEST(ParseJwtTest, RefusesOtherShapes) {
  const std::string good = Token(kHeader, R"({"exp":1})");
  ExpectRefused(good.substr(0, good.rfind('.')), "this one has 2");
  ExpectRefused(absl::StrCat(good, ".x"), "this one has 4");
  ExpectRefused(good.substr(good.find('.')), "the header is not valid JSON");
  ExpectRefused(Token(kHeader, R"([1,2])"), "payload is not a JSON object");
  ExpectRefused(Token(kHeader, R"("text")"), "payload is not a JSON object");
  ExpectRefused(Token(kHeader, R"({"exp":1} x)"), "not valid JSON");
  ExpectRefused(Token(kHeader, "{\"k\":\"\xff\"}"), "not valid JSON");
  // nlohmann::json stops at a NUL; the bytes after it must not be ignored.
  ExpectRefused(Token(kHeader, std::string("{\"exp\":1}\0{", 11)),
                "not valid JSON");
  ExpectRefused(Token(kHeader, R"({"exp":"soon"})"), "exp is not a number");
  ExpectRefused(Token(kHeader, R"({"exp":-1})"), "exp is out of range");
  ExpectRefused(Token(kHeader, R"({"exp":1e20})"), "exp is out of range");
  ExpectRefused(Token(kHeader, R"({"nbf":true})"), "nbf is not a number");
  ExpectRefused(Token(kHeader, R"({"user_id":42})"), "user_id is not a string");
  ExpectRefused(Token(kHeader, R"({"email":null})"), "email is not a string");
  std::string deep = R"({"a":)";
  for (int i = 0; i < kMaxJsonDepth; ++i) deep += "[";
  for (int i = 0; i < kMaxJsonDepth; ++i) deep += "]";
  ExpectRefused(Token(kHeader, deep + "}"), "nested deeper");
  ExpectRefused(absl::StrCat(B64(kHeader), ".", B64("{}"), ".",
                             B64(std::string(64, 'x'))),
                "an HS256 signature is 32");
  JwtLimits limits;
  limits.max_jwt_bytes = 64;
  EXPECT_THAT(ParseJwt(good + std::string(100, 'A'), limits),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("the limit is 64 bytes")));
}

ParsedJwt Times(std::optional<double> exp, std::optional<double> nbf,
                std::optional<double> iat) {
  ParsedJwt jwt;
  jwt.expires_at = exp;
  jwt.not_before = nbf;
  jwt.issued_at = iat;
  return jwt;
}

TEST(CheckJwtTimesTest, ExpIsRequiredAndHasLeeway) {
  const absl::Time now = absl::FromUnixSeconds(1000000);
  const absl::Duration leeway = absl::Seconds(60);
  EXPECT_THAT(CheckJwtTimes(Times(std::nullopt, std::nullopt, std::nullopt),
                            now, leeway),
              StatusIs(absl::StatusCode::kInvalidArgument, "exp is missing"));
  // Valid until exp + leeway, exclusive.
  EXPECT_THAT(CheckJwtTimes(Times(1000000 - 59, {}, {}), now, leeway), IsOk());
  EXPECT_THAT(CheckJwtTimes(Times(1000000 - 60, {}, {}), now, leeway),
              StatusIs(absl::StatusCode::kInvalidArgument, "expired"));
  EXPECT_THAT(CheckJwtTimes(Times(1000000 - 59.5, {}, {}), now, leeway),
              IsOk());
  EXPECT_THAT(CheckJwtTimes(Times(1000000 + 1, {}, {}), now, absl::Seconds(0)),
              IsOk());
  EXPECT_THAT(CheckJwtTimes(Times(1000000, {}, {}), now, absl::Seconds(0)),
              StatusIs(absl::StatusCode::kInvalidArgument, "expired"));
}

TEST(CheckJwtTimesTest, NbfAndIatMayNotBeBeyondLeeway) {
  const absl::Time now = absl::FromUnixSeconds(1000000);
  const absl::Duration leeway = absl::Seconds(60);
  const double exp = 2000000;
  EXPECT_THAT(CheckJwtTimes(Times(exp, 1000060, 1000060), now, leeway), IsOk());
  EXPECT_THAT(
      CheckJwtTimes(Times(exp, 1000061, {}), now, leeway),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nbf is in")));
  EXPECT_THAT(CheckJwtTimes(Times(exp, {}, 1000061), now, leeway),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("issued in the future")));
  EXPECT_THAT(CheckJwtTimes(Times(exp, 0, 0), now, leeway), IsOk());
}

}  // namespace
}  // namespace idsign::service
