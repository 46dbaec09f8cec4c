// 1,000 random identities (fixed seed) through Sign, BatchSign and Verify,
// each checked against OpenSSL's HMAC-SHA256.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "tests/integration/service/service_fixture.h"
#include "tests/testing/oracle.h"

namespace idsign::service::testing {
namespace {

using ::idsign::testing::OpenSslHmacSha256Hex;

constexpr size_t kCount = 1000;
constexpr size_t kMaxBytes = 1024;

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

class IdentityGenerator {
 public:
  explicit IdentityGenerator(uint32_t seed) : rng_(seed) {}

  size_t Uniform(size_t lo, size_t hi) {
    return std::uniform_int_distribution<size_t>(lo, hi)(rng_);
  }

  // Printable ASCII, spaces and punctuation included.
  std::string Ascii(size_t length) {
    std::string out;
    for (size_t i = 0; i < length; ++i) {
      out.push_back(static_cast<char>(Uniform(0x20, 0x7e)));
    }
    return out;
  }

  // One valid code point from every UTF-8 length class, never a surrogate.
  uint32_t CodePoint() {
    switch (Uniform(0, 3)) {
      case 0:
        return static_cast<uint32_t>(Uniform(0x21, 0x7e));
      case 1:
        return static_cast<uint32_t>(Uniform(0x80, 0x7ff));
      case 2: {
        uint32_t cp = static_cast<uint32_t>(Uniform(0x800, 0xfffd));
        return (cp >= 0xd800 && cp <= 0xdfff) ? cp - 0x800 : cp;
      }
      default:
        return static_cast<uint32_t>(Uniform(0x10000, 0x10ffff));
    }
  }

  // Valid UTF-8 of at most `max_bytes`; exactly `max_bytes` if `fill`.
  std::string Utf8(size_t max_bytes, bool fill) {
    std::string out;
    const size_t target = fill ? max_bytes : Uniform(1, max_bytes);
    while (out.size() < target) {
      std::string next;
      AppendUtf8(CodePoint(), &next);
      if (out.size() + next.size() > target) break;
      out += next;
    }
    while (out.size() < target) out.push_back('x');
    return out;
  }

  std::string Email() {
    static const char kAlphabet[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-";
    std::string local;
    for (size_t i = Uniform(1, 30); i > 0; --i) {
      local.push_back(kAlphabet[Uniform(0, sizeof(kAlphabet) - 2)]);
    }
    return local + "@example" + std::to_string(Uniform(0, 999)) + ".com";
  }

  v1::Identity Next(size_t i) {
    v1::Identity identity;
    switch (i % 4) {
      case 0:
        identity.set_user_id(Ascii(Uniform(1, 64)));
        break;
      case 1:
        identity.set_user_id(Utf8(200, /*fill=*/false));
        break;
      case 2:
        identity.set_user_id(i % 8 == 2 ? Ascii(kMaxBytes)
                                        : Utf8(kMaxBytes, /*fill=*/true));
        break;
      default:
        identity.set_email(Email());
        break;
    }
    // Every third identity with a user_id also carries an e-mail, which
    // must be ignored.
    if (!identity.user_id().empty() && i % 3 == 0) {
      identity.set_email(Email());
    }
    return identity;
  }

 private:
  std::mt19937 rng_;
};

const std::string& SignedData(const v1::Identity& identity) {
  return identity.user_id().empty() ? identity.email() : identity.user_id();
}

v1::IdentityField SignedField(const v1::Identity& identity) {
  return identity.user_id().empty() ? v1::IDENTITY_FIELD_EMAIL
                                    : v1::IDENTITY_FIELD_USER_ID;
}

class RandomIdentitiesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    IdentityGenerator generator(0x1d5197);
    for (size_t i = 0; i < kCount; ++i) {
      identities_.push_back(generator.Next(i));
      ASSERT_LE(SignedData(identities_.back()).size(), kMaxBytes);
      ASSERT_FALSE(SignedData(identities_.back()).empty());
    }
    server_ = StartServer(&ServiceEnvironment::Get().store());
    client_ = std::make_unique<SignerClient>(*server_);
  }
  const std::string& secret() {
    return ServiceEnvironment::Get().secret(kWebKey);
  }

  std::vector<v1::Identity> identities_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<SignerClient> client_;
};

TEST_F(RandomIdentitiesTest, SignMatchesOpenSsl) {
  for (size_t i = 0; i < kCount; ++i) {
    v1::SignRequest request;
    request.set_key(kWebKey);
    *request.mutable_identity() = identities_[i];
    v1::SignResponse response;
    grpc::Status status = client_->Sign(request, &response);
    ASSERT_TRUE(status.ok())
        << "identity " << i << ": " << status.error_message();
    ASSERT_EQ(response.user_hash(),
              OpenSslHmacSha256Hex(secret(), SignedData(identities_[i])))
        << "identity " << i;
    ASSERT_EQ(response.signed_field(), SignedField(identities_[i]));
  }
}

TEST_F(RandomIdentitiesTest, BatchSignMatchesOpenSsl) {
  v1::BatchSignRequest request;
  request.set_key(kWebKey);
  for (const v1::Identity& identity : identities_) {
    *request.add_identities() = identity;
  }
  v1::BatchSignResponse response;
  grpc::Status status = client_->BatchSign(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), static_cast<int>(kCount));
  for (size_t i = 0; i < kCount; ++i) {
    ASSERT_TRUE(response.results(i).has_response()) << "identity " << i;
    ASSERT_EQ(response.results(i).response().user_hash(),
              OpenSslHmacSha256Hex(secret(), SignedData(identities_[i])))
        << "identity " << i;
    ASSERT_EQ(response.results(i).response().signed_field(),
              SignedField(identities_[i]));
  }
}

TEST_F(RandomIdentitiesTest, VerifyAcceptsTheOpenSslMac) {
  for (size_t i = 0; i < kCount; ++i) {
    std::string hash =
        OpenSslHmacSha256Hex(secret(), SignedData(identities_[i]));
    if (i % 2 == 1) hash = absl::AsciiStrToUpper(hash);
    v1::VerifyRequest request;
    request.set_key(kWebKey);
    *request.mutable_identity() = identities_[i];
    request.set_user_hash(hash);
    v1::VerifyResponse response;
    grpc::Status status = client_->Verify(request, &response);
    ASSERT_TRUE(status.ok())
        << "identity " << i << ": " << status.error_message();
    ASSERT_TRUE(response.valid()) << "identity " << i;
    ASSERT_EQ(response.key_version(), 1u);
  }
}

}  // namespace
}  // namespace idsign::service::testing
