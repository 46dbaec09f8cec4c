// ListKeys over a real channel, and RESOURCE_EXHAUSTED when every HSM
// session is busy.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/escaping.h"
#include "hsm/token.h"
#include "tests/integration/service/service_fixture.h"
#include "tests/testing/oracle.h"
#include "tests/testing/softhsm_token.h"

namespace idsign::service::testing {
namespace {

using ::idsign::testing::OpenSslHmacSha256Hex;
using ::idsign::testing::OpenSslSha1;
using ::idsign::testing::TestToken;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

std::string Hex(const std::string& raw) { return absl::BytesToHexString(raw); }

const v1::Key* FindKey(const v1::ListKeysResponse& response,
                       const std::string& name) {
  for (const v1::Key& key : response.keys()) {
    if (key.name() == name) return &key;
  }
  return nullptr;
}

class ListKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = StartServer(&env().store());
    SignerClient client(*server_);
    grpc::Status status = client.ListKeys(&response_);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  static ServiceEnvironment& env() { return ServiceEnvironment::Get(); }

  // Checks one imported version against what the test imported.
  void ExpectImportedVersion(const v1::KeyVersion& got, const std::string& key,
                             uint32_t version) {
    const KnownVersion& known = env().version(key, version);
    EXPECT_EQ(got.version(), version);
    EXPECT_EQ(got.origin(), v1::KEY_ORIGIN_IMPORTED);
    EXPECT_EQ(got.check_value(), Hex(OpenSslSha1(known.stored).substr(0, 3)));
    EXPECT_EQ(got.size_bytes(), known.stored.size());
    EXPECT_EQ(got.object_id(), Hex(known.object_id));
  }

  std::unique_ptr<Server> server_;
  v1::ListKeysResponse response_;
};

TEST_F(ListKeysTest, ListsEveryKeyOnce) {
  ASSERT_EQ(response_.keys_size(), 4);
  for (const char* name : {kWebKey, kShortKey, kRotatedKey, kGeneratedKey}) {
    EXPECT_NE(FindKey(response_, name), nullptr) << name;
  }
}

TEST_F(ListKeysTest, ImportedKeyFields) {
  const v1::Key* key = FindKey(response_, kWebKey);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->primary_version(), 1u);
  ASSERT_EQ(key->versions_size(), 1);
  ExpectImportedVersion(key->versions(0), kWebKey, 1);
  EXPECT_EQ(key->versions(0).size_bytes(), 40u);
}

// The check value is over the stored (padded) bytes, as CKA_CHECK_VALUE is.
TEST_F(ListKeysTest, PaddedKeyReportsStoredBytes) {
  const v1::Key* key = FindKey(response_, kShortKey);
  ASSERT_NE(key, nullptr);
  ASSERT_EQ(key->versions_size(), 1);
  ExpectImportedVersion(key->versions(0), kShortKey, 1);
  EXPECT_GT(key->versions(0).size_bytes(), env().secret(kShortKey).size());
  EXPECT_NE(key->versions(0).check_value(),
            Hex(OpenSslSha1(env().secret(kShortKey)).substr(0, 3)));
}

TEST_F(ListKeysTest, RotatedKeyListsBothVersionsAndThePrimary) {
  const v1::Key* key = FindKey(response_, kRotatedKey);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->primary_version(), 2u);
  ASSERT_EQ(key->versions_size(), 2);
  ExpectImportedVersion(key->versions(0), kRotatedKey, 1);
  ExpectImportedVersion(key->versions(1), kRotatedKey, 2);
}

TEST_F(ListKeysTest, GeneratedKeyFields) {
  const v1::Key* key = FindKey(response_, kGeneratedKey);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->primary_version(), 1u);
  ASSERT_EQ(key->versions_size(), 1);
  const v1::KeyVersion& version = key->versions(0);
  EXPECT_EQ(version.version(), 1u);
  EXPECT_EQ(version.origin(), v1::KEY_ORIGIN_GENERATED);
  EXPECT_EQ(version.size_bytes(), kGeneratedKeyBytes);
  EXPECT_THAT(version.check_value(), MatchesRegex("[0-9a-f]{6}"));
  EXPECT_EQ(version.object_id(),
            Hex(env().version(kGeneratedKey, 1).object_id));
}

// --- RESOURCE_EXHAUSTED -----------------------------------------------------

// A token with a single pooled session and a short wait, so a held session
// starves the server.
class SessionPoolExhaustionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServiceEnvironment::Get();  // the keys exist before the store loads
    hsm::TokenOptions options;
    options.pool_size = 1;
    options.acquire_timeout = absl::Milliseconds(200);
    const std::string& pin = TestToken::Get().pin();
    auto token =
        hsm::Token::Open(TestToken::Get().module(), TestToken::Get().label(),
                         hsm::SecretBytes(pin.data(), pin.size()), options);
    ASSERT_TRUE(token.ok()) << token.status();
    token_ = std::move(*token);
    auto store = keys::HsmKeyStore::Create(token_.get());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    server_ = StartServer(store_.get());
    client_ = std::make_unique<SignerClient>(*server_);
  }
  void TearDown() override {
    client_.reset();
    server_.reset();
    store_.reset();
    token_.reset();
  }

  std::unique_ptr<hsm::Token> token_;
  std::unique_ptr<keys::HsmKeyStore> store_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<SignerClient> client_;
};

TEST_F(SessionPoolExhaustionTest, BusySessionsGiveResourceExhausted) {
  const std::string& secret = ServiceEnvironment::Get().secret(kWebKey);
  {
    auto held = token_->Acquire();
    ASSERT_TRUE(held.ok()) << held.status();

    v1::SignResponse signed_response;
    grpc::Status status = client_->Sign(kWebKey, "u", "", &signed_response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_THAT(status.error_message(), HasSubstr("--sessions"));
    EXPECT_TRUE(signed_response.user_hash().empty());

    v1::VerifyResponse verified;
    status = client_->Verify(kWebKey, "u", "",
                             OpenSslHmacSha256Hex(secret, "u"), &verified);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

    v1::BatchSignRequest batch;
    batch.set_key(kWebKey);
    *batch.add_identities() = MakeIdentity("u", "");
    v1::BatchSignResponse batch_response;
    status = client_->BatchSign(batch, &batch_response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_EQ(batch_response.results_size(), 0);

    // ListKeys needs no session.
    v1::ListKeysResponse keys;
    EXPECT_TRUE(client_->ListKeys(&keys).ok());
  }
  // The session is back in the pool: signing works again.
  v1::SignResponse response;
  grpc::Status status = client_->Sign(kWebKey, "u", "", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.user_hash(), OpenSslHmacSha256Hex(secret, "u"));
}

}  // namespace
}  // namespace idsign::service::testing
