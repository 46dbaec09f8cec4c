// The custody policy over gRPC: key objects created behind idsign's back
// with raw PKCS#11 and weak attributes (extractable, not sensitive,
// modifiable, allowed to derive, encrypt, decrypt, wrap and unwrap) are
// refused with FAILED_PRECONDITION naming the violations, ListKeys reports
// the verdict, and health marks those keys NOT_SERVING while the server and
// the good keys stay SERVING.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "grpc/health/v1/health.grpc.pb.h"
#include "service/keys/hsm_key_store.h"
#include "service/keys/key_admin.h"
#include "service/maintenance.h"
#include "tests/integration/service/service_fixture.h"
#include "tests/testing/oracle.h"
#include "tests/testing/raw_pkcs11.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::service::testing {
namespace {

using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::idsign::testing::IsOk;
using ::idsign::testing::OpenSslHmacSha256Hex;
using ::idsign::testing::TestToken;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;

namespace raw = ::idsign::testing::raw;

constexpr char kGoodKey[] = "policy/good";
constexpr char kGoodSecret[] = "policy-good-secret-Aa1Bb2Cc3Dd4Ee5Ff6Gg7Hh8";
// A key object with no ring, labelled as idsign labels version 1.
constexpr char kRinglessKey[] = "weak/key";
// A ringed key whose version-1 object was replaced by a weak copy with the
// same CKA_ID and value, so only the policy can tell.
constexpr char kSwappedKey[] = "weak/swapped";
constexpr char kWeakSecret[] = "policy-weak-secret-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2";

// The reasons the policy gives for raw::CreateWeakSecretKey's attributes.
const std::vector<std::string> kViolations = {
    "CKA_SENSITIVE is false", "CKA_EXTRACTABLE is true",
    "CKA_MODIFIABLE is true", "CKA_DERIVE is true",
    "CKA_ENCRYPT is true",    "CKA_DECRYPT is true",
    "CKA_WRAP is true",       "CKA_UNWRAP is true"};

class PolicyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::unique_ptr<hsm::Token> token = TestToken::Get().Open(true, 2);
    hsm::SecretBytes good(kGoodSecret, sizeof(kGoodSecret) - 1);
    ASSERT_THAT(keys::ImportKey(*token, kGoodKey, good), IsOk());
    const std::string weak = kWeakSecret;
    auto session = token->Acquire();
    ASSERT_TRUE(session.ok()) << session.status();
    CK_RV rv = CKR_OK;
    ASSERT_NE(raw::CreateWeakSecretKey(*session, "idsign:weak/key:v1",
                                       "weak-id", weak, &rv),
              CK_INVALID_HANDLE)
        << rv;

    hsm::SecretBytes swapped(weak.data(), weak.size());
    auto created = keys::ImportKey(*token, kSwappedKey, swapped);
    ASSERT_THAT(created, IsOk());
    std::vector<CK_OBJECT_HANDLE> objects =
        raw::FindSecretKeys(*session, created->label);
    ASSERT_EQ(objects.size(), 1u);
    ASSERT_EQ(raw::DestroyObject(*session, objects[0]), CKR_OK);
    ASSERT_NE(raw::CreateWeakSecretKey(*session, created->label,
                                       created->object_id, weak, &rv),
              CK_INVALID_HANDLE)
        << rv;
  }

  void SetUp() override {
    token_ = TestToken::Get().Open(/*read_write=*/false);
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

  HealthCheckResponse::ServingStatus Health(const std::string& service) {
    auto stub = grpc::health::v1::Health::NewStub(ChannelTo(*server_));
    grpc::ClientContext context;
    SetTestDeadline(&context);
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    grpc::Status status = stub->Check(&context, request, &response);
    EXPECT_TRUE(status.ok()) << service << ": " << status.error_message();
    return response.status();
  }

  const v1::Key* Listed(const v1::ListKeysResponse& response,
                        const std::string& name) {
    for (const v1::Key& key : response.keys()) {
      if (key.name() == name) return &key;
    }
    return nullptr;
  }

  std::unique_ptr<hsm::Token> token_;
  std::unique_ptr<keys::HsmKeyStore> store_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<SignerClient> client_;
};

TEST_F(PolicyTest, GoodKeyStillSigns) {
  v1::SignResponse response;
  grpc::Status status = client_->Sign(kGoodKey, "u-1", "", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.user_hash(), OpenSslHmacSha256Hex(kGoodSecret, "u-1"));
}

TEST_F(PolicyTest, WeakKeysAreRefusedNamingTheViolations) {
  for (const char* key : {kRinglessKey, kSwappedKey}) {
    SCOPED_TRACE(key);
    v1::SignResponse response;
    grpc::Status status = client_->Sign(key, "u-1", "", &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    for (const std::string& violation : kViolations) {
      EXPECT_THAT(status.error_message(), HasSubstr(violation));
    }
    EXPECT_TRUE(response.user_hash().empty());

    v1::VerifyResponse verified;
    status = client_->Verify(
        key, "u-1", "", OpenSslHmacSha256Hex(kWeakSecret, "u-1"), &verified);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_FALSE(verified.valid());

    v1::BatchSignRequest batch;
    batch.set_key(key);
    *batch.add_identities() = MakeIdentity("u-1", "");
    v1::BatchSignResponse batch_response;
    status = client_->BatchSign(batch, &batch_response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_EQ(batch_response.results_size(), 0);
  }
}

TEST_F(PolicyTest, RinglessKeyIsAlsoRefusedForHavingNoRing) {
  v1::SignResponse response;
  grpc::Status status = client_->Sign(kRinglessKey, "u-1", "", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(),
              AllOf(HasSubstr(kRinglessKey), HasSubstr("no key ring")));
}

TEST_F(PolicyTest, ListKeysShowsTheVerdict) {
  v1::ListKeysResponse listed;
  ASSERT_TRUE(client_->ListKeys(&listed).ok());
  ASSERT_EQ(listed.keys_size(), 3);

  const v1::Key* good = Listed(listed, kGoodKey);
  ASSERT_NE(good, nullptr);
  EXPECT_TRUE(good->usable());
  ASSERT_EQ(good->versions_size(), 1);
  EXPECT_TRUE(good->versions(0).policy().allowed());

  for (const char* name : {kRinglessKey, kSwappedKey}) {
    SCOPED_TRACE(name);
    const v1::Key* key = Listed(listed, name);
    ASSERT_NE(key, nullptr);
    EXPECT_FALSE(key->usable());
    ASSERT_EQ(key->versions_size(), 1);
    const v1::KeyVersion& version = key->versions(0);
    EXPECT_EQ(version.version(), 1u);
    EXPECT_FALSE(version.policy().allowed());
    EXPECT_THAT(version.policy().reasons(), IsSupersetOf(kViolations));
    const v1::KeyAttributes& a = version.attributes();
    EXPECT_TRUE(a.has_extractable() && a.extractable());
    EXPECT_TRUE(a.has_sensitive() && !a.sensitive());
    EXPECT_TRUE(a.has_modifiable() && a.modifiable());
    for (const char* usage :
         {"sign", "verify", "encrypt", "decrypt", "wrap", "unwrap", "derive"}) {
      EXPECT_THAT(version.usages(), Contains(usage));
    }
  }
  const v1::Key* ringless = Listed(listed, kRinglessKey);
  EXPECT_THAT(ringless->problem(), HasSubstr("no key ring"));
  EXPECT_EQ(ringless->primary_version(), 0u);
  EXPECT_THAT(ringless->versions(0).policy().reasons(),
              Contains(HasSubstr("ring does not list it")));

  // The swapped key's ring is intact: only the policy refuses it.
  const v1::Key* swapped = Listed(listed, kSwappedKey);
  EXPECT_EQ(swapped->problem(), "");
  EXPECT_EQ(swapped->primary_version(), 1u);
  EXPECT_TRUE(swapped->versions(0).primary());
  EXPECT_EQ(swapped->versions(0).policy().reasons_size(),
            static_cast<int>(kViolations.size()));
}

// Maintenance sets one health entry per key. Setting the overall status
// must not overwrite the per-key ones.
TEST_F(PolicyTest, HealthPerKey) {
  Maintenance maintenance(token_.get(), store_.get(), server_.get(), {});
  ASSERT_TRUE(maintenance.CheckHealth());
  EXPECT_EQ(Health(""), HealthCheckResponse::SERVING);
  EXPECT_EQ(Health("idsign.v1.Signer"), HealthCheckResponse::SERVING);
  EXPECT_EQ(Health(std::string("idsign.v1.Signer/") + kGoodKey),
            HealthCheckResponse::SERVING);
  EXPECT_EQ(Health(std::string("idsign.v1.Signer/") + kRinglessKey),
            HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Health(std::string("idsign.v1.Signer/") + kSwappedKey),
            HealthCheckResponse::NOT_SERVING);

  // A reload re-applies the same verdicts.
  maintenance.Reload("test");
  EXPECT_EQ(Health(""), HealthCheckResponse::SERVING);
  EXPECT_EQ(Health(std::string("idsign.v1.Signer/") + kGoodKey),
            HealthCheckResponse::SERVING);
  EXPECT_EQ(Health(std::string("idsign.v1.Signer/") + kSwappedKey),
            HealthCheckResponse::NOT_SERVING);
}

}  // namespace
}  // namespace idsign::service::testing
