// The identifier guard: JWS signing inputs are refused in every spelling a
// lenient verifier would still read as a JWT (checked against Debian's
// python3-jwt), and real user ids and e-mails pass.
#include "service/identifier_guard.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "tests/testing/status_matchers.h"

namespace idsign::service {
namespace {

using ::idsign::testing::IsOk;
using ::idsign::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

std::string B64(absl::string_view text) {
  return absl::WebSafeBase64Escape(text);
}

const std::string kHeader = B64(R"({"alg":"HS256","typ":"JWT"})");
const std::string kPayload = B64(R"({"user_id":"admin","exp":99999999999})");

TEST(IdentifierGuardTest, RefusesTheCanonicalSigningInput) {
  const std::string input = absl::StrCat(kHeader, ".", kPayload);
  EXPECT_TRUE(LooksLikeJwsSigningInput(input));
  EXPECT_THAT(CheckIdentifierNotJws(input, "identity.user_id"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("identity.user_id"),
                             HasSubstr("JWT signing input"),
                             HasSubstr("SignJwt"), Not(HasSubstr(kHeader)))));
  // Any header that is a JSON object with a member, whitespace first or not.
  EXPECT_TRUE(
      LooksLikeJwsSigningInput(absl::StrCat(B64(R"({"a":1})"), ".", "e30")));
  EXPECT_TRUE(
      LooksLikeJwsSigningInput(absl::StrCat(B64(" \n{\"a\":1}"), ".x")));
}

// Spellings python3-jwt 2.6 accepts as the same token (its base64 decoder
// skips characters outside the alphabet and takes padding and either
// alphabet; Python's json reads a byte-order mark and UTF-16).
TEST(IdentifierGuardTest, RefusesLenientSpellings) {
  for (const std::string& header :
       {absl::StrCat(kHeader, "=="), absl::StrCat(kHeader, "@"),
        absl::StrCat("\t", kHeader), absl::StrCat(kHeader, "@ICAg"),
        absl::StrReplaceAll(kHeader, {{"_", "/"}, {"-", "+"}}),
        B64(absl::StrCat("\xef\xbb\xbf", R"({"alg":"HS256"})")),
        B64(std::string("{\0\"\0a\0\"\0:\0\"\0b\0\"\0}\0", 18)),
        B64(std::string("\0\0\xfe\xff\0\0\0{\0\0\0\"\0\0\0:\0\0\0}", 20)),
        absl::StrCat(B64(R"({"alg":"HS256"})"), "=", B64("   "))}) {
    EXPECT_TRUE(LooksLikeJwsSigningInput(absl::StrCat(header, ".", kPayload)))
        << header;
  }
  // An e-mail-shaped signing input: "@" is skipped by lenient decoders.
  EXPECT_TRUE(
      LooksLikeJwsSigningInput(absl::StrCat(kHeader, "@ICAg.", kPayload)));
  // More than one '.': the header is still what precedes the first.
  EXPECT_TRUE(LooksLikeJwsSigningInput(
      absl::StrCat(kHeader, ".", kPayload, ".", kPayload)));
}

TEST(IdentifierGuardTest, NoDotNoToken) {
  EXPECT_FALSE(LooksLikeJwsSigningInput(kHeader));
  EXPECT_FALSE(LooksLikeJwsSigningInput(kHeader + kPayload));
  EXPECT_FALSE(LooksLikeJwsSigningInput(""));
}

TEST(IdentifierGuardTest, HeaderThatCannotBeAnObjectPasses) {
  // '{' without any '}' after it cannot be a JSON object.
  EXPECT_FALSE(LooksLikeJwsSigningInput(absl::StrCat(B64("{\"a\":1"), ".x")));
  EXPECT_FALSE(LooksLikeJwsSigningInput(absl::StrCat(B64("[{}]"), ".x")));
  EXPECT_FALSE(LooksLikeJwsSigningInput(absl::StrCat(B64("x{}"), ".x")));
  // No member, so no alg: not a JWS header. "e30" is "{}".
  EXPECT_FALSE(LooksLikeJwsSigningInput("e30.e30"));
  EXPECT_FALSE(LooksLikeJwsSigningInput("e33@example.com"));
  EXPECT_FALSE(LooksLikeJwsSigningInput(absl::StrCat(B64("{1:2}"), ".x")));
}

TEST(IdentifierGuardTest, RealIdentifiersPass) {
  for (const char* identifier :
       {"42", "user-42", "john.smith", "a@example.com",
        "John.Smith@Example.COM", "eyal.cohen@example.com",
        "ezra.miller@example.org", "ewan.mcgregor@example.co.uk",
        "ex.partner@corp.example", "e0.test@example.com", "e33@example.com",
        "e30.e30", "550e8400-e29b-41d4-a716-446655440000",
        "auth0|5f7c8ec7c33c6c004bbafe82", "google-oauth2|1234567890.1",
        "usr_2NNEqL3cDmEbQ1S4ZZeBqQ.v2", "eyJ", "eyJ.", "12345.67890"}) {
    EXPECT_FALSE(LooksLikeJwsSigningInput(identifier)) << identifier;
    EXPECT_THAT(CheckIdentifierNotJws(identifier, "identity.email"), IsOk());
  }
}

// Random e-mails over a realistic alphabet, with the first local part
// starting with 'e' as often as not (the letter a '{' needs): none is
// refused.
TEST(IdentifierGuardTest, RandomEmailsPass) {
  std::mt19937 rng(20240611);
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789._-+";
  int refused = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string local = (rng() % 2 == 0) ? "e" : "";
    const int length = 1 + static_cast<int>(rng() % 20);
    for (int j = 0; j < length; ++j) local += alphabet[rng() % alphabet.size()];
    const std::string email = absl::StrCat(local, "@example.com");
    if (LooksLikeJwsSigningInput(email)) ++refused;
  }
  // Documented in docs/threat-model.md: practically never, not never.
  EXPECT_LT(refused, 20);
}

}  // namespace
}  // namespace idsign::service
