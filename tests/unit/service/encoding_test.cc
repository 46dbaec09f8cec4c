#include "service/encoding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "tests/testing/status_matchers.h"

namespace idsign::service {
namespace {

using ::idsign::testing::IsOk;
using ::idsign::testing::IsOkAndHolds;
using ::idsign::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(LowerHexTest, EncodesEveryByteAsTwoLowerCaseDigits) {
  const std::vector<uint8_t> bytes = {0x00, 0x01, 0x0f, 0x10,
                                      0xab, 0xcd, 0xef, 0xff};
  EXPECT_EQ(LowerHex(bytes), "00010f10abcdefff");
}

TEST(LowerHexTest, EmptyInputGivesEmptyString) {
  EXPECT_EQ(LowerHex(std::vector<uint8_t>{}), "");
}

TEST(DecodeHexTest, AcceptsLowerUpperAndMixedCase) {
  const std::vector<uint8_t> expected = {0xde, 0xad, 0xbe, 0xef};
  EXPECT_THAT(DecodeHex("deadbeef", 4, "user_hash"), IsOkAndHolds(expected));
  EXPECT_THAT(DecodeHex("DEADBEEF", 4, "user_hash"), IsOkAndHolds(expected));
  EXPECT_THAT(DecodeHex("DeAdBeEf", 4, "user_hash"), IsOkAndHolds(expected));
}

TEST(DecodeHexTest, DecodesAllDigits) {
  EXPECT_THAT(DecodeHex("0123456789abcdefABCDEF00", 12, "f"),
              IsOkAndHolds(ElementsAre(0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd,
                                       0xef, 0xab, 0xcd, 0xef, 0x00)));
}

TEST(DecodeHexTest, RoundTripsWithLowerHex) {
  std::mt19937 rng(20240601);
  std::vector<uint8_t> bytes(32);
  for (int i = 0; i < 100; ++i) {
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
    std::string hex = LowerHex(bytes);
    ASSERT_EQ(hex.size(), 64u);
    EXPECT_THAT(DecodeHex(hex, 32, "user_hash"), IsOkAndHolds(bytes));
  }
}

TEST(DecodeHexTest, WrongLengthNamesFieldAndExpectedLength) {
  const std::string hex64(64, 'a');
  for (const std::string& text :
       {std::string(), hex64.substr(0, 63), hex64 + "a", hex64 + "aa",
        hex64.substr(0, 32)}) {
    EXPECT_THAT(
        DecodeHex(text, 32, "user_hash"),
        StatusIs(absl::StatusCode::kInvalidArgument,
                 AllOf(HasSubstr("user_hash"), HasSubstr("64 hex characters"),
                       HasSubstr(std::to_string(text.size())))))
        << "length " << text.size();
  }
}

TEST(DecodeHexTest, NonHexCharacterNamesItsPosition) {
  std::string text(64, '0');
  text[4] = 'g';
  EXPECT_THAT(DecodeHex(text, 32, "user_hash"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("user_hash"), HasSubstr("hex"),
                             HasSubstr("character 5"))));
}

TEST(DecodeHexTest, RefusesEveryKindOfNonHexInput) {
  const std::string good(62, 'a');
  for (const std::string& bad :
       {std::string("0x"), std::string("  "), std::string("a "),
        std::string("-1"), std::string("zz"), std::string("\xc3\xa9"),
        std::string("a\0", 2), std::string("+f")}) {
    EXPECT_THAT(DecodeHex(good + bad, 32, "user_hash"),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("hex")))
        << "suffix " << bad;
  }
}

TEST(DecodeHexTest, ZeroBytesMeansEmptyText) {
  EXPECT_THAT(DecodeHex("", 0, "f"), IsOkAndHolds(ElementsAre()));
  EXPECT_THAT(DecodeHex("00", 0, "f"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace idsign::service
