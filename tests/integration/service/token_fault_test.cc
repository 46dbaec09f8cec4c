// The service when the token fails: the PKCS#11 module is tests/shim's fault
// injector in front of SoftHSM2, armed through a file. Token failures reach
// callers as UNAVAILABLE (or the code DESIGN.md's table gives the CK_RV),
// and signing recovers once the token is back.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "hsm/module.h"
#include "hsm/token.h"
#include "tests/integration/service/service_fixture.h"
#include "tests/testing/oracle.h"
#include "tests/testing/softhsm_token.h"

namespace idsign::service::testing {
namespace {

using ::idsign::testing::OpenSslHmacSha256Hex;
using ::idsign::testing::TestToken;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kKey[] = "fault/web";
constexpr char kSecret[] = "fault-test-secret-ABCDEFGHIJKLMNOPQRSTUVWX";

class TokenFaultTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    TestToken& test_token = TestToken::Get();  // sets SOFTHSM2_CONF first
    fault_file_ = new std::string(test_token.dir() + "/fault");
    ::setenv("IDSIGN_SHIM_TARGET", TestToken::module_path().c_str(), 1);
    ::setenv("IDSIGN_SHIM_FAULT_FILE", fault_file_->c_str(), 1);
    auto module = hsm::Module::Load(IDSIGN_TEST_FAULT_SHIM);
    ASSERT_TRUE(module.ok()) << module.status();
    hsm::TokenOptions options;
    options.read_write = true;
    options.pool_size = 2;
    const std::string& pin = test_token.pin();
    auto token =
        hsm::Token::Open(*module, test_token.label(),
                         hsm::SecretBytes(pin.data(), pin.size()), options);
    ASSERT_TRUE(token.ok()) << token.status();
    token_ = token->release();
    hsm::SecretBytes secret(kSecret, sizeof(kSecret) - 1);
    auto created = keys::ImportKey(*token_, kKey, secret);
    ASSERT_TRUE(created.ok()) << created.status();
    auto store = keys::HsmKeyStore::Create(token_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = store->release();
    server_ = StartServer(store_).release();
  }

  void SetUp() override {
    Arm("");
    client_ = std::make_unique<SignerClient>(*server_);
  }
  void TearDown() override { Arm(""); }

  static void Arm(const std::string& fault) {
    std::ofstream(*fault_file_, std::ios::trunc) << fault;
  }

  grpc::Status Sign(const std::string& user_id, v1::SignResponse* response) {
    return client_->Sign(kKey, user_id, "", response);
  }
  grpc::Status Verify(const std::string& user_id,
                      v1::VerifyResponse* response) {
    return client_->Verify(kKey, user_id, "",
                           OpenSslHmacSha256Hex(kSecret, user_id), response);
  }
  grpc::Status BatchSign(v1::BatchSignResponse* response) {
    v1::BatchSignRequest request;
    request.set_key(kKey);
    *request.add_identities() = MakeIdentity("user-1", "");
    *request.add_identities() = MakeIdentity("", "two@example.com");
    return client_->BatchSign(request, response);
  }

  // Every token RPC works and matches OpenSSL.
  void ExpectHealthy() {
    v1::SignResponse signed_response;
    grpc::Status status = Sign("user-1", &signed_response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(signed_response.user_hash(),
              OpenSslHmacSha256Hex(kSecret, "user-1"));
    v1::VerifyResponse verified;
    status = Verify("user-1", &verified);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(verified.valid());
    v1::BatchSignResponse batch;
    status = BatchSign(&batch);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(batch.results_size(), 2);
    EXPECT_EQ(batch.results(1).response().user_hash(),
              OpenSslHmacSha256Hex(kSecret, "two@example.com"));
  }

  static std::string* fault_file_;
  static hsm::Token* token_;
  static keys::HsmKeyStore* store_;
  static Server* server_;
  std::unique_ptr<SignerClient> client_;
};

std::string* TokenFaultTest::fault_file_ = nullptr;
hsm::Token* TokenFaultTest::token_ = nullptr;
keys::HsmKeyStore* TokenFaultTest::store_ = nullptr;
Server* TokenFaultTest::server_ = nullptr;

TEST_F(TokenFaultTest, HealthyBeforeAnyFault) { ExpectHealthy(); }

TEST_F(TokenFaultTest, RemovedDeviceMakesTokenRpcsUnavailable) {
  Arm("CKR_DEVICE_REMOVED");
  // Each call may fail on a pooled session or on opening a new one.
  for (int i = 0; i < 3; ++i) {
    v1::SignResponse signed_response;
    grpc::Status status = Sign("user-1", &signed_response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_THAT(status.error_message(),
                AllOf(HasSubstr("token"), HasSubstr("CKR_DEVICE_REMOVED"),
                      HasSubstr("retry"), Not(HasSubstr("user-1"))));
    EXPECT_TRUE(signed_response.user_hash().empty());

    v1::VerifyResponse verified;
    status = Verify("user-1", &verified);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_THAT(status.error_message(), HasSubstr("CKR_DEVICE_REMOVED"));
    EXPECT_FALSE(verified.valid());

    v1::BatchSignResponse batch;
    status = BatchSign(&batch);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_THAT(status.error_message(), HasSubstr("CKR_DEVICE_REMOVED"));
    EXPECT_EQ(batch.results_size(), 0);
  }
  // The catalog is cached: ListKeys does not touch the token.
  v1::ListKeysResponse keys;
  ASSERT_TRUE(client_->ListKeys(&keys).ok());
  EXPECT_EQ(keys.keys_size(), 1);

  Arm("");
  ExpectHealthy();
}

// Sessions that saw the fault are dead for good (the shim keeps them dead),
// so signing works afterwards only if the pool replaced them.
TEST_F(TokenFaultTest, BrokenSessionsAreReplaced) {
  Arm("CKR_DEVICE_ERROR C_SignInit C_Sign C_VerifyInit C_Verify");
  for (int i = 0; i < 4; ++i) {
    v1::SignResponse signed_response;
    EXPECT_EQ(Sign("user-1", &signed_response).error_code(),
              grpc::StatusCode::UNAVAILABLE);
    v1::VerifyResponse verified;
    EXPECT_EQ(Verify("user-1", &verified).error_code(),
              grpc::StatusCode::UNAVAILABLE);
  }
  Arm("");
  for (int i = 0; i < 4; ++i) ExpectHealthy();
}

TEST_F(TokenFaultTest, EachSigningStepCanFail) {
  for (const std::string function : {"C_SignInit", "C_Sign"}) {
    Arm("CKR_DEVICE_ERROR " + function);
    v1::SignResponse signed_response;
    grpc::Status status = Sign("user-1", &signed_response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << function;
    EXPECT_THAT(status.error_message(), HasSubstr(function + ": "));
    v1::BatchSignResponse batch;
    EXPECT_EQ(BatchSign(&batch).error_code(), grpc::StatusCode::UNAVAILABLE);
    // Verify does not use the failing function.
    v1::VerifyResponse verified;
    ASSERT_TRUE(Verify("user-1", &verified).ok()) << function;
    EXPECT_TRUE(verified.valid());
  }
  for (const std::string function : {"C_VerifyInit", "C_Verify"}) {
    Arm("CKR_DEVICE_ERROR " + function);
    v1::VerifyResponse verified;
    grpc::Status status = Verify("user-1", &verified);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << function;
    EXPECT_THAT(status.error_message(), HasSubstr(function + ": "));
    v1::SignResponse signed_response;
    EXPECT_TRUE(Sign("user-1", &signed_response).ok()) << function;
  }
  Arm("");
  ExpectHealthy();
}

// Other token return values reach callers with the code DESIGN.md's table
// gives them.
TEST_F(TokenFaultTest, TokenReturnValuesMapToStatusCodes) {
  struct Case {
    std::string fault;
    grpc::StatusCode code;
    std::string message;
  };
  for (const Case& c : {
           Case{"CKR_PIN_EXPIRED", grpc::StatusCode::UNAVAILABLE, "login lost"},
           Case{"CKR_USER_NOT_LOGGED_IN", grpc::StatusCode::UNAVAILABLE,
                "CKR_USER_NOT_LOGGED_IN"},
           Case{"CKR_ACTION_PROHIBITED", grpc::StatusCode::FAILED_PRECONDITION,
                "refused"},
           Case{"CKR_KEY_FUNCTION_NOT_PERMITTED",
                grpc::StatusCode::FAILED_PRECONDITION,
                "CKR_KEY_FUNCTION_NOT_PERMITTED"},
           Case{"CKR_HOST_MEMORY", grpc::StatusCode::RESOURCE_EXHAUSTED,
                "CKR_HOST_MEMORY"},
           Case{"CKR_GENERAL_ERROR", grpc::StatusCode::INTERNAL, "incident"},
       }) {
    Arm(c.fault + " C_SignInit");
    v1::SignResponse signed_response;
    grpc::Status status = Sign("user-1", &signed_response);
    EXPECT_EQ(status.error_code(), c.code) << c.fault;
    EXPECT_THAT(status.error_message(), HasSubstr(c.message)) << c.fault;
    EXPECT_TRUE(signed_response.user_hash().empty());
  }
  Arm("");
  ExpectHealthy();
}

// A full outage while the token's login is checked: the anchor session is
// lost, re-login fails until the device is back, then everything recovers
// (object handles may change, which the key store handles by reloading).
TEST_F(TokenFaultTest, RecoversAfterLoginCheckDuringOutage) {
  Arm("CKR_DEVICE_REMOVED");
  absl::Status login = token_->EnsureLoggedIn();
  EXPECT_EQ(login.code(), absl::StatusCode::kUnavailable) << login;
  EXPECT_THAT(std::string(login.message()), HasSubstr("CKR_DEVICE_REMOVED"));
  v1::SignResponse signed_response;
  EXPECT_EQ(Sign("user-1", &signed_response).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  Arm("");
  ASSERT_TRUE(token_->EnsureLoggedIn().ok());
  ExpectHealthy();
}

}  // namespace
}  // namespace idsign::service::testing
