// ListKeys over a real channel: the custody report of every fixture key,
// checked against what the fixture created and against the token's own
// attributes; and RESOURCE_EXHAUSTED when every HSM session is busy.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "hsm/token.h"
#include "tests/integration/service/service_fixture.h"
#include "tests/testing/oracle.h"
#include "tests/testing/raw_pkcs11.h"
#include "tests/testing/softhsm_token.h"

namespace idsign::service::testing {
namespace {

using ::idsign::testing::OpenSslHmacSha256Hex;
using ::idsign::testing::OpenSslSha1;
using ::idsign::testing::TestToken;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
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

  // The fields every fixture version shares: enabled, created by the
  // fixture during its set-up, HMAC-SHA256, allowed by the policy, with the
  // locked-down attributes and sign/verify as the only usages.
  void ExpectLockedDownVersion(const v1::KeyVersion& got, bool generated) {
    SCOPED_TRACE(::testing::Message() << "version " << got.version());
    EXPECT_EQ(got.state(), v1::KEY_VERSION_STATE_ENABLED);
    EXPECT_EQ(got.scheme(), "hmac-sha256");
    EXPECT_EQ(got.key_type(), "CKK_GENERIC_SECRET");
    EXPECT_EQ(got.created_by(), kFixtureActor);
    ASSERT_TRUE(got.has_created_at());
    const absl::Time created =
        absl::FromUnixSeconds(got.created_at().seconds()) +
        absl::Nanoseconds(got.created_at().nanos());
    EXPECT_GE(created, env().created_after());
    EXPECT_LE(created, env().created_before());
    EXPECT_TRUE(got.policy().allowed());
    EXPECT_THAT(got.policy().reasons(), IsEmpty());
    EXPECT_THAT(got.usages(), ElementsAre("sign", "verify"));

    const v1::KeyAttributes& a = got.attributes();
    ASSERT_TRUE(a.has_sensitive() && a.has_extractable() &&
                a.has_modifiable() && a.has_always_sensitive() &&
                a.has_never_extractable() && a.has_local() && a.has_token() &&
                a.has_private_() && a.has_copyable());
    EXPECT_TRUE(a.sensitive());
    EXPECT_FALSE(a.extractable());
    EXPECT_FALSE(a.modifiable());
    EXPECT_FALSE(a.copyable());
    EXPECT_TRUE(a.token());
    EXPECT_TRUE(a.private_());
    // Only a key generated sensitive inside the token was always sensitive
    // and never extractable; an imported value was once outside it.
    EXPECT_EQ(a.local(), generated);
    EXPECT_EQ(a.always_sensitive(), generated);
    EXPECT_EQ(a.never_extractable(), generated);
  }

  // Checks one imported version against what the test imported.
  void ExpectImportedVersion(const v1::KeyVersion& got, const std::string& key,
                             uint32_t version) {
    const KnownVersion& known = env().version(key, version);
    EXPECT_EQ(got.version(), version);
    EXPECT_EQ(got.origin(), v1::KEY_ORIGIN_IMPORTED);
    EXPECT_EQ(got.check_value(), Hex(OpenSslSha1(known.stored).substr(0, 3)));
    EXPECT_EQ(got.size_bytes(), known.stored.size());
    EXPECT_EQ(got.object_id(), Hex(known.object_id));
    ExpectLockedDownVersion(got, /*generated=*/false);
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

TEST_F(ListKeysTest, EveryKeyIsUsableWithoutProblems) {
  for (const v1::Key& key : response_.keys()) {
    EXPECT_TRUE(key.usable()) << key.name();
    EXPECT_EQ(key.problem(), "") << key.name();
    EXPECT_EQ(key.min_verify_version(), 1u) << key.name();
    EXPECT_GE(key.ring_generation(), 1u) << key.name();
    int primaries = 0;
    for (const v1::KeyVersion& version : key.versions()) {
      if (version.primary()) {
        ++primaries;
        EXPECT_EQ(version.version(), key.primary_version()) << key.name();
      }
    }
    EXPECT_EQ(primaries, 1) << key.name();
  }
}

// The token block is CK_TOKEN_INFO, read here without idsign's code.
TEST_F(ListKeysTest, TokenInfoMatchesTheToken) {
  const v1::TokenInfo& info = response_.token();
  auto raw = idsign::testing::raw::GetTokenInfo(env().token().module().fn(),
                                                env().token().slot());
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(info.label(), TestToken::Get().label());
  EXPECT_EQ(info.label(), raw->label);
  EXPECT_EQ(info.manufacturer(), raw->manufacturer);
  EXPECT_EQ(info.model(), raw->model);
  EXPECT_EQ(info.serial(), raw->serial);
  EXPECT_EQ(info.firmware(), raw->firmware);
  EXPECT_THAT(info.manufacturer(), HasSubstr("SoftHSM"));
  EXPECT_THAT(info.firmware(), MatchesRegex("[0-9]+\\.[0-9]+"));
  EXPECT_FALSE(info.serial().empty());
}

TEST_F(ListKeysTest, ImportedKeyFields) {
  const v1::Key* key = FindKey(response_, kWebKey);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->primary_version(), 1u);
  EXPECT_EQ(key->ring_generation(), 1u);
  ASSERT_EQ(key->versions_size(), 1);
  ExpectImportedVersion(key->versions(0), kWebKey, 1);
  EXPECT_TRUE(key->versions(0).primary());
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
  EXPECT_EQ(key->min_verify_version(), 1u);
  // Created, then rotated: two ring changes.
  EXPECT_EQ(key->ring_generation(), 2u);
  ASSERT_EQ(key->versions_size(), 2);
  ExpectImportedVersion(key->versions(0), kRotatedKey, 1);
  ExpectImportedVersion(key->versions(1), kRotatedKey, 2);
  EXPECT_FALSE(key->versions(0).primary());
  EXPECT_TRUE(key->versions(1).primary());
  EXPECT_NE(key->versions(0).object_id(), key->versions(1).object_id());
}

TEST_F(ListKeysTest, GeneratedKeyFields) {
  const v1::Key* key = FindKey(response_, kGeneratedKey);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->primary_version(), 1u);
  ASSERT_EQ(key->versions_size(), 1);
  const v1::KeyVersion& version = key->versions(0);
  EXPECT_EQ(version.version(), 1u);
  EXPECT_TRUE(version.primary());
  EXPECT_EQ(version.origin(), v1::KEY_ORIGIN_GENERATED);
  EXPECT_EQ(version.size_bytes(), kGeneratedKeyBytes);
  EXPECT_THAT(version.check_value(), MatchesRegex("[0-9a-f]{6}"));
  EXPECT_EQ(version.object_id(),
            Hex(env().version(kGeneratedKey, 1).object_id));
  ExpectLockedDownVersion(version, /*generated=*/true);
}

// Every attribute in the report equals the one read from the token with
// raw C_GetAttributeValue calls.
TEST_F(ListKeysTest, AttributesMatchTheTokenObjects) {
  auto session = env().token().Acquire();
  ASSERT_TRUE(session.ok()) << session.status();
  namespace raw = ::idsign::testing::raw;
  for (const v1::Key& key : response_.keys()) {
    for (const v1::KeyVersion& version : key.versions()) {
      SCOPED_TRACE(key.name() + " v" + std::to_string(version.version()));
      std::vector<CK_OBJECT_HANDLE> objects =
          raw::FindSecretKeys(*session, "idsign:" + key.name() + ":v" +
                                            std::to_string(version.version()));
      ASSERT_EQ(objects.size(), 1u);
      const CK_OBJECT_HANDLE object = objects[0];
      const v1::KeyAttributes& a = version.attributes();
      EXPECT_EQ(raw::GetBool(*session, object, CKA_SENSITIVE), a.sensitive());
      EXPECT_EQ(raw::GetBool(*session, object, CKA_ALWAYS_SENSITIVE),
                a.always_sensitive());
      EXPECT_EQ(raw::GetBool(*session, object, CKA_EXTRACTABLE),
                a.extractable());
      EXPECT_EQ(raw::GetBool(*session, object, CKA_NEVER_EXTRACTABLE),
                a.never_extractable());
      EXPECT_EQ(raw::GetBool(*session, object, CKA_MODIFIABLE), a.modifiable());
      EXPECT_EQ(raw::GetBool(*session, object, CKA_LOCAL), a.local());
      EXPECT_EQ(raw::GetBool(*session, object, CKA_TOKEN), a.token());
      EXPECT_EQ(raw::GetBool(*session, object, CKA_PRIVATE), a.private_());
      EXPECT_EQ(raw::GetBytes(*session, object, CKA_ID),
                absl::HexStringToBytes(version.object_id()));
      EXPECT_EQ(raw::GetBytes(*session, object, CKA_CHECK_VALUE),
                absl::HexStringToBytes(version.check_value()));
      EXPECT_EQ(raw::GetUlong(*session, object, CKA_VALUE_LEN),
                version.size_bytes());
      EXPECT_EQ(raw::GetUlong(*session, object, CKA_KEY_TYPE),
                CK_ULONG{CKK_GENERIC_SECRET});
      std::vector<std::string> usages;
      for (const auto& [type, name] :
           std::vector<std::pair<CK_ATTRIBUTE_TYPE, std::string>>{
               {CKA_SIGN, "sign"},
               {CKA_VERIFY, "verify"},
               {CKA_ENCRYPT, "encrypt"},
               {CKA_DECRYPT, "decrypt"},
               {CKA_WRAP, "wrap"},
               {CKA_UNWRAP, "unwrap"},
               {CKA_DERIVE, "derive"}}) {
        if (raw::GetBool(*session, object, type).value_or(false)) {
          usages.push_back(name);
        }
      }
      EXPECT_THAT(version.usages(), ElementsAreArray(usages));
    }
  }
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
