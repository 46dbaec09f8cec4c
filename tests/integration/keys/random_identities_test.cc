// 1,000 generated identities signed in the token through HsmKeyStore and
// compared with OpenSSL, for a long vendor-style secret and for a short one
// that ImportKey pads. The generator has a fixed seed, so a failure names an
// identity that reproduces.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "service/keys/hsm_key_store.h"
#include "service/keys/key_admin.h"
#include "tests/integration/keys/keys_test_util.h"
#include "tests/testing/oracle.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::keys {
namespace {

using ::idsign::keys::test::AsString;
using ::idsign::keys::test::Bytes;
using ::idsign::keys::test::Secret;
using ::idsign::testing::IsOk;
using ::idsign::testing::OpenSslHmacSha256;
using ::idsign::testing::TestToken;

constexpr int kIdentities = 1000;
constexpr size_t kLongIdentityBytes = 1024;

int Uniform(std::mt19937& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// A code point of 2, 3 or 4 UTF-8 bytes, never a surrogate.
uint32_t MultiByteCodePoint(std::mt19937& rng) {
  switch (Uniform(rng, 0, 2)) {
    case 0:
      return Uniform(rng, 0x80, 0x7ff);
    case 1: {
      uint32_t cp = Uniform(rng, 0x800, 0xfffd);
      return (cp >= 0xd800 && cp <= 0xdfff) ? cp - 0x800 : cp;
    }
    default:
      return Uniform(rng, 0x10000, 0x10ffff);
  }
}

std::string AsciiIdentity(std::mt19937& rng) {
  std::string out;
  int length = Uniform(rng, 1, 64);
  for (int i = 0; i < length; ++i)
    out += static_cast<char>(Uniform(rng, 32, 126));
  return out;
}

std::string Utf8Identity(std::mt19937& rng) {
  std::string out;
  AppendUtf8(out, MultiByteCodePoint(rng));
  int more = Uniform(rng, 0, 39);
  for (int i = 0; i < more; ++i) {
    AppendUtf8(out, Uniform(rng, 0, 3) == 0 ? Uniform(rng, 0x21, 0x7e)
                                            : MultiByteCodePoint(rng));
  }
  return out;
}

// Exactly kLongIdentityBytes of mixed ASCII and multi-byte UTF-8.
std::string LongIdentity(std::mt19937& rng) {
  std::string out;
  while (out.size() + 4 <= kLongIdentityBytes) {
    AppendUtf8(out, Uniform(rng, 0, 1) == 0 ? Uniform(rng, 0x20, 0x7e)
                                            : MultiByteCodePoint(rng));
  }
  while (out.size() < kLongIdentityBytes) {
    out += static_cast<char>(Uniform(rng, 'a', 'z'));
  }
  return out;
}

std::string EmailIdentity(std::mt19937& rng) {
  static constexpr char kLocal[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-";
  static constexpr char kDomain[] = "abcdefghijklmnopqrstuvwxyz0123456789-";
  static const char* const kTlds[] = {"com", "org", "io", "co.uk", "de"};
  std::string out;
  int local = Uniform(rng, 1, 30);
  for (int i = 0; i < local; ++i)
    out += kLocal[Uniform(rng, 0, sizeof(kLocal) - 2)];
  out += '@';
  int domain = Uniform(rng, 1, 20);
  for (int i = 0; i < domain; ++i) {
    out += kDomain[Uniform(rng, 0, sizeof(kDomain) - 2)];
  }
  out += '.';
  out += kTlds[Uniform(rng, 0, 4)];
  return out;
}

std::vector<std::string> Identities() {
  std::mt19937 rng(20240613);
  std::vector<std::string> out;
  for (int i = 0; i < kIdentities; ++i) {
    switch (i % 4) {
      case 0:
        out.push_back(AsciiIdentity(rng));
        break;
      case 1:
        out.push_back(Utf8Identity(rng));
        break;
      case 2:
        out.push_back(LongIdentity(rng));
        break;
      default:
        out.push_back(EmailIdentity(rng));
        break;
    }
  }
  return out;
}

// For the failure message: the identity's index and its bytes in hex.
std::string Describe(int index, const std::string& identity) {
  return "identity #" + std::to_string(index) + " (" +
         std::to_string(identity.size()) +
         " bytes) hex=" + absl::BytesToHexString(identity.substr(0, 64));
}

struct SecretCase {
  std::string key_name;
  std::string secret;
};

void PrintTo(const SecretCase& c, std::ostream* os) { *os << c.key_name; }

class RandomIdentitiesTest : public ::testing::TestWithParam<SecretCase> {
 protected:
  static void SetUpTestSuite() { identities_ = new auto(Identities()); }
  static void TearDownTestSuite() { delete identities_; }

  void SetUp() override {
    token_ = TestToken::Get().Open();
    // The first test of each secret imports it; later ones find it there.
    auto imported =
        ImportKey(*token_, GetParam().key_name, Secret(GetParam().secret));
    if (!absl::IsAlreadyExists(imported.status())) {
      ASSERT_THAT(imported, IsOk());
    }
    auto store = HsmKeyStore::Create(token_.get());
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    token_.reset();
  }

  const std::vector<std::string>& identities() const { return *identities_; }
  std::string Expected(const std::string& identity) const {
    return OpenSslHmacSha256(GetParam().secret, identity);
  }

  static std::vector<std::string>* identities_;
  std::unique_ptr<hsm::Token> token_;
  std::unique_ptr<HsmKeyStore> store_;
};

std::vector<std::string>* RandomIdentitiesTest::identities_ = nullptr;

TEST_P(RandomIdentitiesTest, GeneratorCoversEveryKind) {
  int multi_byte = 0, exactly_long = 0, emails = 0;
  for (const std::string& identity : identities()) {
    if (identity.size() == kLongIdentityBytes) ++exactly_long;
    if (identity.find('@') != std::string::npos) ++emails;
    for (char c : identity) {
      if (static_cast<unsigned char>(c) >= 0x80) {
        ++multi_byte;
        break;
      }
    }
  }
  EXPECT_EQ(identities().size(), static_cast<size_t>(kIdentities));
  EXPECT_GE(exactly_long, kIdentities / 4);
  EXPECT_GE(multi_byte, kIdentities / 2);
  EXPECT_GE(emails, kIdentities / 4);
}

TEST_P(RandomIdentitiesTest, SignMatchesOpenSsl) {
  int mismatches = 0;
  for (int i = 0; i < kIdentities; ++i) {
    const std::string& identity = identities()[i];
    auto result = store_->Sign(GetParam().key_name, identity);
    ASSERT_THAT(result, IsOk()) << Describe(i, identity);
    EXPECT_EQ(result->version, 1u);
    if (AsString(result->mac) != Expected(identity) && ++mismatches <= 5) {
      ADD_FAILURE() << "MAC differs from OpenSSL for " << Describe(i, identity);
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST_P(RandomIdentitiesTest, SignManyMatchesOpenSslInOrder) {
  std::vector<absl::string_view> batch(identities().begin(),
                                       identities().end());
  auto results = store_->SignMany(GetParam().key_name, batch);
  ASSERT_THAT(results, IsOk());
  ASSERT_EQ(results->size(), batch.size());
  int mismatches = 0;
  for (int i = 0; i < kIdentities; ++i) {
    EXPECT_EQ((*results)[i].version, 1u);
    if (AsString((*results)[i].mac) != Expected(identities()[i]) &&
        ++mismatches <= 5) {
      ADD_FAILURE() << "MAC differs from OpenSSL for "
                    << Describe(i, identities()[i]);
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST_P(RandomIdentitiesTest, VerifyAcceptsRightMacAndRejectsOneFlippedBit) {
  std::mt19937 rng(7);
  int wrong = 0;
  for (int i = 0; i < kIdentities; ++i) {
    const std::string& identity = identities()[i];
    std::string mac = Expected(identity);
    auto right = store_->Verify(GetParam().key_name, identity, Bytes(mac));
    ASSERT_THAT(right, IsOk()) << Describe(i, identity);
    int bit = Uniform(rng, 0, 8 * 32 - 1);
    mac[bit / 8] = static_cast<char>(mac[bit / 8] ^ (1 << (bit % 8)));
    auto flipped = store_->Verify(GetParam().key_name, identity, Bytes(mac));
    ASSERT_THAT(flipped, IsOk()) << Describe(i, identity);
    bool ok = right->valid && right->version == 1 && !flipped->valid &&
              flipped->version == 0;
    if (!ok && ++wrong <= 5) {
      ADD_FAILURE() << "verify right=" << right->valid << " flipped(bit " << bit
                    << ")=" << flipped->valid << " for "
                    << Describe(i, identity);
    }
  }
  EXPECT_EQ(wrong, 0);
}

INSTANTIATE_TEST_SUITE_P(
    Secrets, RandomIdentitiesTest,
    ::testing::Values(
        // A 40-character vendor-style secret, stored as given.
        SecretCase{"random/vendor-secret",
                   "Vq3nX8tLr2ZpK7wYc4HdJ9mB6sF1gE0aQ5uT2iOx"},
        // An 8-character secret, zero-padded to 32 bytes on import.
        SecretCase{"random/short-secret", "ahfikm8z"}),
    [](const ::testing::TestParamInfo<SecretCase>& info) {
      return info.index == 0 ? std::string("VendorSecret")
                             : std::string("ShortSecret");
    });

}  // namespace
}  // namespace idsign::keys
