#include "service/keys/key_name.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "tests/testing/status_matchers.h"

namespace idsign::keys {
namespace {

using ::idsign::testing::IsOk;
using ::idsign::testing::StatusIs;

TEST(ValidateKeyNameTest, AcceptsWellFormedNames) {
  for (const std::string& name : std::vector<std::string>{
           "intercom/web/prod", "intercom/android/test", "a", "A-Z_a.z-0.9",
           "x/y/z/w/v", "..", "-/_/."}) {
    EXPECT_THAT(ValidateKeyName(name), IsOk()) << name;
  }
  EXPECT_THAT(ValidateKeyName(std::string(kMaxKeyNameLength, 'k')), IsOk());
}

TEST(ValidateKeyNameTest, RejectsEmptyAndOverlong) {
  EXPECT_THAT(ValidateKeyName(""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateKeyName(std::string(kMaxKeyNameLength + 1, 'k')),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("129")));
}

TEST(ValidateKeyNameTest, RejectsEmptySegments) {
  for (const std::string& name :
       std::vector<std::string>{"/", "/a", "a/", "a//b", "a/b/"}) {
    EXPECT_THAT(ValidateKeyName(name),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << name;
  }
}

TEST(ValidateKeyNameTest, RejectsForeignCharacters) {
  for (const std::string& name : std::vector<std::string>{
           "a b", "a:b", "idsign:a:v1", "caf\xc3\xa9", "a\tb", "a\\b", "a*",
           std::string("a\0b", 3), "a\n"}) {
    EXPECT_THAT(ValidateKeyName(name),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << name;
  }
}

TEST(ObjectLabelTest, Format) {
  EXPECT_EQ(ObjectLabel("intercom/web/prod", 1), "idsign:intercom/web/prod:v1");
  EXPECT_EQ(ObjectLabel("k", 42), "idsign:k:v42");
}

TEST(ObjectLabelTest, RoundTrips) {
  const uint32_t versions[] = {
      1, 2, 9, 10, 42, 1000000, std::numeric_limits<uint32_t>::max()};
  for (const std::string& name :
       std::vector<std::string>{"intercom/web/prod", "a", "v1/v2", "x.v3"}) {
    for (uint32_t version : versions) {
      std::string label = ObjectLabel(name, version);
      std::optional<ParsedLabel> parsed = ParseObjectLabel(label);
      ASSERT_TRUE(parsed.has_value()) << label;
      EXPECT_EQ(parsed->name, name);
      EXPECT_EQ(parsed->version, version);
    }
  }
}

TEST(ParseObjectLabelTest, RejectsLabelsIdsignDidNotWrite) {
  for (const std::string& label : std::vector<std::string>{
           "",
           "someone-else",
           "intercom/web/prod:v1",  // no prefix
           "IDSIGN:intercom:v1",    // prefix is case-sensitive
           "idsign:",               // nothing after the prefix
           "idsign:k",              // no version
           "idsign:k:",             // no version
           "idsign:k:v",            // empty version
           "idsign:k:v0",           // versions start at 1
           "idsign:k:v01",          // leading zero
           "idsign:k:v1a",          // trailing garbage
           "idsign:k:va",           // not a number
           "idsign:k:v-1",          // sign
           "idsign:k:v+1",          // sign
           "idsign:k:v 1",          // whitespace
           "idsign:k:v1 ",          // whitespace
           "idsign:k:v4294967296",  // overflows uint32
           "idsign::v1",            // empty name
           "idsign:a b:v1",         // invalid name
           "idsign:a//b:v1",        // invalid name
           "idsign:k:v1:v2",        // ':' in the name
       }) {
    EXPECT_FALSE(ParseObjectLabel(label).has_value()) << "\"" << label << "\"";
  }
}

TEST(ParseObjectLabelTest, EveryAcceptedLabelIsCanonical) {
  // Two labels must never name the same version: whatever parses must print
  // back to exactly the label it came from.
  for (const std::string& label : std::vector<std::string>{
           "idsign:k:v7", "idsign:k:v 7", "idsign:k:v+7", "idsign:k:v7\n",
           "idsign:k:v\t7", "idsign:k:v007", "idsign:k:v7 "}) {
    std::optional<ParsedLabel> parsed = ParseObjectLabel(label);
    if (parsed.has_value()) {
      EXPECT_EQ(ObjectLabel(parsed->name, parsed->version), label);
    }
  }
  EXPECT_TRUE(ParseObjectLabel("idsign:k:v7").has_value());
}

}  // namespace
}  // namespace idsign::keys
