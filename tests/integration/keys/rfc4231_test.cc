// RFC 4231 HMAC-SHA256 test vectors through the import path and the token.
//
// Keys shorter than the token's minimum (cases 1-4) are zero-padded by
// ImportKey; RFC 2104 pads them the same way, so the MAC must not change.
// Case 5 is a truncated MAC and is left out.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "hsm/mac.h"
#include "service/keys/hsm_key_store.h"
#include "service/keys/key_admin.h"
#include "tests/integration/keys/keys_test_util.h"
#include "tests/testing/oracle.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::keys {
namespace {

using ::idsign::keys::test::AsString;
using ::idsign::keys::test::ObjectsLabelled;
using ::idsign::keys::test::Secret;
using ::idsign::testing::IsOk;
using ::idsign::testing::OpenSslHmacSha256Hex;
using ::idsign::testing::TestToken;

struct Rfc4231Case {
  int number;
  std::string key_hex;
  std::string data;  // raw bytes
  std::string expected_hex;
};

void PrintTo(const Rfc4231Case& c, std::ostream* os) {
  *os << "RFC 4231 case " << c.number;
}

std::string Unhex(const std::string& hex) {
  return absl::HexStringToBytes(hex);
}

// `byte_hex` repeated `count` times.
std::string RepeatHex(const std::string& byte_hex, int count) {
  std::string out;
  for (int i = 0; i < count; ++i) out += byte_hex;
  return out;
}

std::vector<Rfc4231Case> Cases() {
  return {
      {1, RepeatHex("0b", 20), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {2, "4a656665", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {3, RepeatHex("aa", 20), std::string(50, '\xdd'),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {4, "0102030405060708090a0b0c0d0e0f10111213141516171819",
       std::string(50, '\xcd'),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {6, RepeatHex("aa", 131),
       "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {7, RepeatHex("aa", 131),
       "This is a test using a larger than block-size key and a larger than "
       "block-size data. The key needs to be hashed before being used by the "
       "HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
}

class Rfc4231Test : public ::testing::TestWithParam<Rfc4231Case> {
 protected:
  std::string Name() const {
    return absl::StrCat("rfc4231/case", GetParam().number);
  }
};

TEST_P(Rfc4231Test, OracleMatchesPublishedOutput) {
  const Rfc4231Case& c = GetParam();
  EXPECT_EQ(OpenSslHmacSha256Hex(Unhex(c.key_hex), c.data), c.expected_hex);
}

TEST_P(Rfc4231Test, ImportedKeySignsInTheToken) {
  const Rfc4231Case& c = GetParam();
  const std::string key = Unhex(c.key_hex);
  const std::string expected = OpenSslHmacSha256Hex(key, c.data);
  auto token = TestToken::Get().Open();

  auto created = ImportKey(*token, Name(), Secret(key));
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->secret_bytes, key.size());
  EXPECT_EQ(created->stored_bytes, std::max<size_t>(key.size(), 32));

  // Straight through the hsm layer...
  std::vector<CK_OBJECT_HANDLE> handles =
      ObjectsLabelled(*token, created->label);
  ASSERT_EQ(handles.size(), 1u);
  {
    auto session = token->Acquire();
    ASSERT_THAT(session, IsOk());
    auto mac = hsm::HmacSha256(*session, handles[0], c.data);
    ASSERT_THAT(mac, IsOk());
    EXPECT_EQ(absl::BytesToHexString(AsString(*mac)), expected);
  }

  // ...and through the key store the service uses.
  auto store = HsmKeyStore::Create(token.get());
  ASSERT_THAT(store, IsOk());
  auto signed_by_store = (*store)->Sign(Name(), c.data);
  ASSERT_THAT(signed_by_store, IsOk());
  EXPECT_EQ(absl::BytesToHexString(AsString(signed_by_store->mac)), expected);
  EXPECT_EQ(signed_by_store->version, 1u);

  auto verified =
      (*store)->Verify(Name(), c.data, test::Bytes(Unhex(expected)));
  ASSERT_THAT(verified, IsOk());
  EXPECT_TRUE(verified->valid);
}

INSTANTIATE_TEST_SUITE_P(NonTruncated, Rfc4231Test,
                         ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Rfc4231Case>& info) {
                           return absl::StrCat("Case", info.param.number);
                         });

}  // namespace
}  // namespace idsign::keys
