#include "service/encoding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
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

TEST(Base64UrlTest, EncodesWithoutPaddingAndRoundTrips) {
  EXPECT_EQ(Base64UrlEncode(absl::string_view("")), "");
  EXPECT_EQ(Base64UrlEncode(absl::string_view("f")), "Zg");
  EXPECT_EQ(Base64UrlEncode(absl::string_view("fo")), "Zm8");
  EXPECT_EQ(Base64UrlEncode(absl::string_view("foo")), "Zm9v");
  EXPECT_EQ(Base64UrlEncode(absl::string_view("\xfb\xff\xfe", 3)), "-__-");
  std::mt19937 rng(7);
  for (int size = 0; size < 70; ++size) {
    std::string bytes(size, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    EXPECT_THAT(Base64UrlDecode(Base64UrlEncode(bytes), "f"),
                IsOkAndHolds(bytes));
  }
}

TEST(Base64UrlTest, DecodeRefusesEverythingNonCanonical) {
  EXPECT_THAT(Base64UrlDecode("Zg==", "sig"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("sig"), HasSubstr("padding"))));
  EXPECT_THAT(Base64UrlDecode("+/8", "sig"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("character 1 is not in the base64url")));
  EXPECT_THAT(Base64UrlDecode("Zm 9v", "sig"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // "Zh" decodes to "f" too, with unused bits set.
  EXPECT_THAT(
      Base64UrlDecode("Zh", "sig"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not canonical")));
  EXPECT_THAT(
      Base64UrlDecode("Zm9vY", "sig"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not canonical")));
  EXPECT_THAT(Base64UrlDecode("", "sig"), IsOkAndHolds(""));
}

TEST(EncodeMacTest, HexByDefaultOrBase64Url) {
  const std::vector<uint8_t> mac = {0xfb, 0xff, 0x00, 0x10};
  EXPECT_EQ(EncodeMac(mac, v1::ENCODING_UNSPECIFIED), "fbff0010");
  EXPECT_EQ(EncodeMac(mac, v1::ENCODING_HEX), "fbff0010");
  EXPECT_EQ(EncodeMac(mac, v1::ENCODING_BASE64URL), "-_8AEA");
  EXPECT_EQ(EffectiveEncoding(v1::ENCODING_UNSPECIFIED), v1::ENCODING_HEX);
  EXPECT_EQ(EffectiveEncoding(v1::ENCODING_BASE64URL), v1::ENCODING_BASE64URL);
}

TEST(DecodeUserHashTest, ByLength) {
  std::vector<uint8_t> mac32(32), mac20(20);
  for (size_t i = 0; i < 32; ++i) mac32[i] = static_cast<uint8_t>(i * 7 + 250);
  for (size_t i = 0; i < 20; ++i) mac20[i] = static_cast<uint8_t>(i * 13 + 3);
  for (const std::vector<uint8_t>& mac : {mac32, mac20}) {
    const std::string hex = LowerHex(mac);
    const std::string b64 = Base64UrlEncode(mac);
    EXPECT_EQ(hex.size(), mac.size() == 32 ? 64u : 40u);
    EXPECT_EQ(b64.size(), mac.size() == 32 ? 43u : 27u);
    EXPECT_THAT(DecodeUserHash(hex), IsOkAndHolds(mac));
    EXPECT_THAT(DecodeUserHash(absl::AsciiStrToUpper(hex)), IsOkAndHolds(mac));
    EXPECT_THAT(DecodeUserHash(b64), IsOkAndHolds(mac));
  }
  EXPECT_THAT(DecodeUserHash(""), IsOkAndHolds(ElementsAre()));
}

TEST(DecodeUserHashTest, OtherFormsAreRefusedWithTheAcceptedOnes) {
  for (size_t size : {1u, 32u, 42u, 44u, 63u, 65u, 128u}) {
    EXPECT_THAT(DecodeUserHash(std::string(size, 'a')),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("64 hex or 43 base64url"),
                               HasSubstr("40 hex or 27 base64url"))))
        << size;
  }
  // Padded base64url (44 characters) and a bad character at a valid length.
  std::string padded = Base64UrlEncode(std::string(32, 'x')) + "=";
  EXPECT_THAT(DecodeUserHash(padded),
              StatusIs(absl::StatusCode::kInvalidArgument));
  std::string bad(43, 'A');
  bad[10] = '/';
  EXPECT_THAT(DecodeUserHash(bad), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("character 11")));
  std::string not_hex(64, 'a');
  not_hex[3] = 'g';
  EXPECT_THAT(
      DecodeUserHash(not_hex),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("character 4")));
}

}  // namespace
}  // namespace idsign::service
