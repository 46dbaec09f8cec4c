#include "service/keys/scheme.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace idsign::keys {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;

TEST(SchemeTest, NamesRoundTrip) {
  for (Scheme scheme : {Scheme::kHmacSha256, Scheme::kLegacySha1}) {
    EXPECT_THAT(ParseScheme(SchemeName(scheme)), Optional(scheme));
  }
  EXPECT_STREQ(SchemeName(Scheme::kHmacSha256), "hmac-sha256");
  EXPECT_STREQ(SchemeName(Scheme::kLegacySha1), "legacy-sha1");
}

TEST(SchemeTest, EmptyMeansHmacAndUnknownNamesAreRefused) {
  // Rings written before schemes were recorded carry none.
  EXPECT_THAT(ParseScheme(""), Optional(Scheme::kHmacSha256));
  for (const char* name :
       {"HMAC-SHA256", "legacy-sha1 ", "sha1", "legacy-sha256", "md5"}) {
    EXPECT_EQ(ParseScheme(name), std::nullopt) << name;
  }
}

TEST(SchemeTest, HmacIsNeverWeak) {
  EXPECT_THAT(SchemeWeaknesses(Scheme::kHmacSha256, 8), IsEmpty());
  EXPECT_THAT(SchemeWeaknesses(Scheme::kHmacSha256, std::nullopt), IsEmpty());
}

TEST(SchemeTest, LegacyIsWeakAndShortSecretsAreNamed) {
  EXPECT_THAT(SchemeWeaknesses(Scheme::kLegacySha1, 8),
              ElementsAre(HasSubstr("length extension"),
                          HasSubstr("short secret: 8 bytes")));
  EXPECT_THAT(SchemeWeaknesses(Scheme::kLegacySha1, 31),
              ElementsAre(HasSubstr("legacy-sha1"), HasSubstr("31 bytes")));
  EXPECT_THAT(SchemeWeaknesses(Scheme::kLegacySha1, 32),
              ElementsAre(HasSubstr("plain SHA-1 of secret || data")));
  // Destroyed versions have no object to measure.
  EXPECT_THAT(SchemeWeaknesses(Scheme::kLegacySha1, std::nullopt),
              ElementsAre(HasSubstr("length extension")));
}

}  // namespace
}  // namespace idsign::keys
