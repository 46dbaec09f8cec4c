// Encodings on Sign, BatchSign and Verify; Verify's decision, reason and
// mode; the rollout counters and GetRolloutStatus; the identifier guard;
// monitor and enforce mode as set in a key's sealed ring with the keys
// library and read by the real HsmKeyStore on reload. All against the
// SoftHSM2 token, MACs checked with OpenSSL.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "hsm/secret.h"
#include "service/keys/key_admin.h"
#include "service/signer_service.h"
#include "tests/integration/service/jwt_test_util.h"
#include "tests/integration/service/service_fixture.h"
#include "tests/testing/oracle.h"
#include "tests/testing/status_matchers.h"

namespace idsign::service::testing {
namespace {

using ::idsign::testing::IsOk;
using ::idsign::testing::OpenSslHmacSha256;
using ::idsign::testing::OpenSslHmacSha256Hex;
using ::testing::HasSubstr;

// The secret of the keys the rollout tests create for themselves, so that
// changing a key's mode never touches the fixture keys other tests use.
constexpr char kRolloutSecret[] =
    "rollout-svc-Vb8nM2qW5eR7tY1uI3oP6aS9dF4gH0jK";

class RolloutServiceTest : public ::testing::Test {
 protected:
  static ServiceEnvironment& env() { return ServiceEnvironment::Get(); }
  static const std::string& secret() { return env().secret(kWebKey); }

  static v1::VerifyResponse Verify(SignerService& service,
                                   const std::string& key,
                                   const std::string& user_id,
                                   const std::string& user_hash) {
    v1::VerifyRequest request;
    request.set_key(key);
    *request.mutable_identity() = MakeIdentity(user_id, "");
    request.set_user_hash(user_hash);
    v1::VerifyResponse response;
    absl::Status status = service.DoVerify(request, &response);
    EXPECT_TRUE(status.ok()) << status;
    return response;
  }

  static v1::VerifyJwtResponse VerifyJwt(SignerService& service,
                                         const std::string& key,
                                         const std::string& jwt) {
    v1::VerifyJwtRequest request;
    request.set_key(key);
    request.set_jwt(jwt);
    v1::VerifyJwtResponse response;
    absl::Status status = service.DoVerifyJwt(request, &response);
    EXPECT_TRUE(status.ok()) << status;
    return response;
  }

  static v1::KeyRolloutStatus RolloutOf(SignerService& service,
                                        const std::string& key) {
    v1::GetRolloutStatusRequest request;
    request.set_key(key);
    v1::GetRolloutStatusResponse response;
    absl::Status status = service.DoGetRolloutStatus(request, &response);
    EXPECT_TRUE(status.ok()) << status;
    EXPECT_EQ(response.keys_size(), 1);
    return response.keys_size() == 1 ? response.keys(0)
                                     : v1::KeyRolloutStatus();
  }

  // Imports `name` with kRolloutSecret, in enforce mode as every new key.
  static void CreateKey(const std::string& name) {
    hsm::SecretBytes secret(kRolloutSecret, sizeof(kRolloutSecret) - 1);
    ASSERT_THAT(keys::ImportKey(env().token(), name, secret, kFixtureActor),
                IsOk());
    ASSERT_THAT(env().store().Reload(), IsOk());
  }

  // Sets `name`'s rollout mode in its sealed ring, as `idsign key rollout`
  // does, checks the ring holds it, and reloads the shared store so that it
  // reads the mode from the ring.
  static void SetModeAndReload(const std::string& name,
                               keys::RolloutMode mode) {
    ASSERT_THAT(keys::SetRolloutMode(env().token(), name, mode, kFixtureActor),
                IsOk());
    absl::StatusOr<keys::Catalog> catalog = keys::ReadCatalog(env().token());
    ASSERT_THAT(catalog, IsOk());
    ASSERT_EQ(catalog->keys.count(name), 1u);
    ASSERT_EQ(catalog->keys.at(name).rollout_mode, mode);
    ASSERT_THAT(env().store().Reload(), IsOk());
  }

  // The mode the service's ListKeys reports for `name`.
  static v1::RolloutMode ListedMode(SignerService& service,
                                    const std::string& name) {
    v1::ListKeysResponse response;
    EXPECT_TRUE(service.DoListKeys(&response).ok());
    for (const auto& key : response.keys()) {
      if (key.name() == name) return key.rollout_mode();
    }
    ADD_FAILURE() << "ListKeys has no " << name;
    return v1::ROLLOUT_MODE_UNSPECIFIED;
  }

  SignerService service_{&env().store(), Limits{}};
};

TEST_F(RolloutServiceTest, SignEncodings) {
  const std::string mac = OpenSslHmacSha256(secret(), "user-42");
  for (v1::Encoding encoding :
       {v1::ENCODING_UNSPECIFIED, v1::ENCODING_HEX, v1::ENCODING_BASE64URL}) {
    v1::SignRequest request;
    request.set_key(kWebKey);
    *request.mutable_identity() = MakeIdentity("user-42", "");
    request.set_encoding(encoding);
    v1::SignResponse response;
    ASSERT_TRUE(service_.DoSign(request, &response).ok());
    if (encoding == v1::ENCODING_BASE64URL) {
      EXPECT_EQ(response.user_hash(), B64Url(mac));
      EXPECT_EQ(response.user_hash().size(), 43u);
      EXPECT_EQ(response.encoding(), v1::ENCODING_BASE64URL);
    } else {
      EXPECT_EQ(response.user_hash(),
                OpenSslHmacSha256Hex(secret(), "user-42"));
      EXPECT_EQ(response.encoding(), v1::ENCODING_HEX);
    }
    EXPECT_EQ(response.scheme(), "hmac-sha256");
  }
  v1::SignRequest request;
  request.set_key(kWebKey);
  *request.mutable_identity() = MakeIdentity("user-42", "");
  request.set_encoding(static_cast<v1::Encoding>(7));
  v1::SignResponse response;
  absl::Status status = service_.DoSign(request, &response);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("encoding 7 is unknown"));
}

TEST_F(RolloutServiceTest, BatchSignEncodings) {
  v1::BatchSignRequest request;
  request.set_key(kWebKey);
  request.set_encoding(v1::ENCODING_BASE64URL);
  *request.add_identities() = MakeIdentity("a", "");
  *request.add_identities() = MakeIdentity("", "b@example.com");
  v1::BatchSignResponse response;
  ASSERT_TRUE(service_.DoBatchSign(request, &response).ok());
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_EQ(response.results(0).response().user_hash(),
            B64Url(OpenSslHmacSha256(secret(), "a")));
  EXPECT_EQ(response.results(1).response().user_hash(),
            B64Url(OpenSslHmacSha256(secret(), "b@example.com")));
  EXPECT_EQ(response.results(1).response().encoding(), v1::ENCODING_BASE64URL);
  EXPECT_EQ(response.results(1).response().scheme(), "hmac-sha256");
}

TEST_F(RolloutServiceTest, VerifyAcceptsEitherEncodingAndReportsTheDecision) {
  const std::string mac = OpenSslHmacSha256(secret(), "user-42");
  const std::string hex = OpenSslHmacSha256Hex(secret(), "user-42");
  for (const std::string& user_hash :
       {hex, absl::AsciiStrToUpper(hex), B64Url(mac)}) {
    v1::VerifyResponse response =
        Verify(service_, kWebKey, "user-42", user_hash);
    EXPECT_TRUE(response.valid()) << user_hash;
    EXPECT_EQ(response.key_version(), 1u);
    EXPECT_EQ(response.reason(), v1::VERIFY_REASON_VALID);
    EXPECT_EQ(response.decision(), v1::DECISION_ALLOW);
    EXPECT_EQ(response.mode(), v1::ROLLOUT_MODE_ENFORCE);
  }
  v1::VerifyResponse invalid =
      Verify(service_, kWebKey, "user-43", B64Url(mac));
  EXPECT_FALSE(invalid.valid());
  EXPECT_EQ(invalid.key_version(), 0u);
  EXPECT_EQ(invalid.reason(), v1::VERIFY_REASON_INVALID);
  EXPECT_EQ(invalid.decision(), v1::DECISION_DENY);
  v1::VerifyResponse missing = Verify(service_, kWebKey, "user-42", "");
  EXPECT_FALSE(missing.valid());
  EXPECT_EQ(missing.reason(), v1::VERIFY_REASON_MISSING);
  EXPECT_EQ(missing.decision(), v1::DECISION_DENY);
  EXPECT_EQ(missing.mode(), v1::ROLLOUT_MODE_ENFORCE);

  v1::VerifyRequest request;
  request.set_key(kWebKey);
  *request.mutable_identity() = MakeIdentity("user-42", "");
  request.set_user_hash(B64Url(mac) + "=");
  v1::VerifyResponse response;
  absl::Status status = service_.DoVerify(request, &response);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("43 base64url"));
}

TEST_F(RolloutServiceTest, CountersCountEveryOutcomeOfKnownKeysOnly) {
  SignerService service(&env().store(), Limits{});
  const std::string hex = OpenSslHmacSha256Hex(secret(), "user-42");
  Verify(service, kWebKey, "user-42", hex);
  Verify(service, kWebKey, "user-42", hex);
  Verify(service, kWebKey, "user-43", hex);
  Verify(service, kWebKey, "user-42", "");
  v1::VerifyJwtRequest jwt_request;
  jwt_request.set_key(kWebKey);
  v1::VerifyJwtResponse jwt_response;
  ASSERT_TRUE(service.DoVerifyJwt(jwt_request, &jwt_response).ok());
  jwt_request.set_jwt("garbage");
  ASSERT_TRUE(service.DoVerifyJwt(jwt_request, &jwt_response).ok());
  // Unknown keys are refused and not counted.
  v1::VerifyRequest unknown;
  unknown.set_key("no/such/key");
  *unknown.mutable_identity() = MakeIdentity("u", "");
  v1::VerifyResponse response;
  EXPECT_EQ(service.DoVerify(unknown, &response).code(),
            absl::StatusCode::kNotFound);

  const v1::KeyRolloutStatus status = RolloutOf(service, kWebKey);
  EXPECT_EQ(status.key(), kWebKey);
  EXPECT_EQ(status.mode(), v1::ROLLOUT_MODE_ENFORCE);
  EXPECT_EQ(status.user_hash().valid(), 2u);
  EXPECT_EQ(status.user_hash().invalid(), 1u);
  EXPECT_EQ(status.user_hash().missing(), 1u);
  EXPECT_EQ(status.user_hash().denied(), 2u);
  EXPECT_EQ(status.jwt().valid(), 0u);
  EXPECT_EQ(status.jwt().invalid(), 1u);
  EXPECT_EQ(status.jwt().missing(), 1u);
  EXPECT_EQ(status.jwt().denied(), 2u);

  v1::GetRolloutStatusRequest all;
  v1::GetRolloutStatusResponse every_key;
  ASSERT_TRUE(service.DoGetRolloutStatus(all, &every_key).ok());
  EXPECT_GE(every_key.keys_size(), 4);
  EXPECT_GT(every_key.counting_since().seconds(), 0);
  for (const v1::KeyRolloutStatus& key : every_key.keys()) {
    if (key.key() != kWebKey) {
      EXPECT_EQ(key.user_hash().valid(), 0u);
    }
  }
  // The policy's view: only the keys the caller may see.
  v1::GetRolloutStatusResponse filtered;
  ASSERT_TRUE(service
                  .DoGetRolloutStatus(
                      all, &filtered,
                      [](absl::string_view key) { return key == kShortKey; })
                  .ok());
  ASSERT_EQ(filtered.keys_size(), 1);
  EXPECT_EQ(filtered.keys(0).key(), kShortKey);

  v1::GetRolloutStatusRequest missing_key;
  missing_key.set_key("no/such/key");
  v1::GetRolloutStatusResponse none;
  EXPECT_EQ(service.DoGetRolloutStatus(missing_key, &none).code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RolloutServiceTest, MonitorModeFromTheRingAllowsButCounts) {
  const std::string key = "rollout/monitor";
  ASSERT_NO_FATAL_FAILURE(CreateKey(key));
  SignerService service(&env().store(), Limits{});
  const std::string hex = OpenSslHmacSha256Hex(kRolloutSecret, "user-42");
  // A new key enforces until its ring says otherwise.
  v1::VerifyResponse before = Verify(service, key, "user-43", hex);
  EXPECT_EQ(before.decision(), v1::DECISION_DENY);
  EXPECT_EQ(before.mode(), v1::ROLLOUT_MODE_ENFORCE);

  ASSERT_NO_FATAL_FAILURE(SetModeAndReload(key, keys::RolloutMode::kMonitor));
  EXPECT_EQ(ListedMode(service, key), v1::ROLLOUT_MODE_MONITOR);
  v1::VerifyResponse valid = Verify(service, key, "user-42", hex);
  EXPECT_TRUE(valid.valid());
  EXPECT_EQ(valid.key_version(), 1u);
  EXPECT_EQ(valid.decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(valid.mode(), v1::ROLLOUT_MODE_MONITOR);
  v1::VerifyResponse invalid = Verify(service, key, "user-43", hex);
  EXPECT_FALSE(invalid.valid());
  EXPECT_EQ(invalid.reason(), v1::VERIFY_REASON_INVALID);
  EXPECT_EQ(invalid.decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(invalid.mode(), v1::ROLLOUT_MODE_MONITOR);
  v1::VerifyResponse missing = Verify(service, key, "user-42", "");
  EXPECT_FALSE(missing.valid());
  EXPECT_EQ(missing.reason(), v1::VERIFY_REASON_MISSING);
  EXPECT_EQ(missing.decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(missing.mode(), v1::ROLLOUT_MODE_MONITOR);

  v1::VerifyJwtResponse jwt =
      VerifyJwt(service, key,
                OracleJwt(kRolloutSecret, R"({"alg":"none"})", R"({"exp":1})"));
  EXPECT_FALSE(jwt.valid());
  EXPECT_EQ(jwt.reason(), v1::VERIFY_REASON_INVALID);
  EXPECT_EQ(jwt.decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(jwt.mode(), v1::ROLLOUT_MODE_MONITOR);
  EXPECT_EQ(jwt.detail(), "alg none is refused");
  v1::VerifyJwtResponse no_jwt = VerifyJwt(service, key, "");
  EXPECT_EQ(no_jwt.reason(), v1::VERIFY_REASON_MISSING);
  EXPECT_EQ(no_jwt.decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(no_jwt.mode(), v1::ROLLOUT_MODE_MONITOR);

  const v1::KeyRolloutStatus status = RolloutOf(service, key);
  EXPECT_EQ(status.mode(), v1::ROLLOUT_MODE_MONITOR);
  EXPECT_EQ(status.user_hash().valid(), 1u);
  EXPECT_EQ(status.user_hash().invalid(), 2u);  // one before the change
  EXPECT_EQ(status.user_hash().missing(), 1u);
  EXPECT_EQ(status.user_hash().denied(), 1u);  // only the one enforced
  EXPECT_EQ(status.jwt().invalid(), 1u);
  EXPECT_EQ(status.jwt().missing(), 1u);
  EXPECT_EQ(status.jwt().denied(), 0u);
  // The fixture keys keep enforcing.
  EXPECT_EQ(RolloutOf(service, kWebKey).mode(), v1::ROLLOUT_MODE_ENFORCE);
  EXPECT_EQ(Verify(service, kWebKey, "user-43",
                   OpenSslHmacSha256Hex(secret(), "user-42"))
                .decision(),
            v1::DECISION_DENY);
}

TEST_F(RolloutServiceTest, BackToEnforceDeniesAfterReload) {
  const std::string key = "rollout/back-to-enforce";
  ASSERT_NO_FATAL_FAILURE(CreateKey(key));
  ASSERT_NO_FATAL_FAILURE(SetModeAndReload(key, keys::RolloutMode::kMonitor));
  SignerService service(&env().store(), Limits{});
  const std::string hex = OpenSslHmacSha256Hex(kRolloutSecret, "user-42");
  const std::string jwt =
      OracleJwt(kRolloutSecret, R"({"alg":"HS256","typ":"JWT"})",
                R"({"user_id":"user-42","exp":1})");  // long expired
  EXPECT_EQ(Verify(service, key, "user-43", hex).decision(),
            v1::DECISION_ALLOW);
  EXPECT_EQ(Verify(service, key, "user-42", "").decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(VerifyJwt(service, key, jwt).decision(), v1::DECISION_ALLOW);

  ASSERT_THAT(keys::SetRolloutMode(env().token(), key,
                                   keys::RolloutMode::kEnforce, kFixtureActor),
              IsOk());
  // The store keeps the mode it read until it reloads.
  EXPECT_EQ(Verify(service, key, "user-43", hex).decision(),
            v1::DECISION_ALLOW);
  ASSERT_THAT(env().store().Reload(), IsOk());
  EXPECT_EQ(ListedMode(service, key), v1::ROLLOUT_MODE_ENFORCE);

  v1::VerifyResponse valid = Verify(service, key, "user-42", hex);
  EXPECT_TRUE(valid.valid());
  EXPECT_EQ(valid.decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(valid.mode(), v1::ROLLOUT_MODE_ENFORCE);
  v1::VerifyResponse invalid = Verify(service, key, "user-43", hex);
  EXPECT_FALSE(invalid.valid());
  EXPECT_EQ(invalid.reason(), v1::VERIFY_REASON_INVALID);
  EXPECT_EQ(invalid.decision(), v1::DECISION_DENY);
  EXPECT_EQ(invalid.mode(), v1::ROLLOUT_MODE_ENFORCE);
  v1::VerifyResponse missing = Verify(service, key, "user-42", "");
  EXPECT_EQ(missing.reason(), v1::VERIFY_REASON_MISSING);
  EXPECT_EQ(missing.decision(), v1::DECISION_DENY);
  EXPECT_EQ(missing.mode(), v1::ROLLOUT_MODE_ENFORCE);
  v1::VerifyJwtResponse expired = VerifyJwt(service, key, jwt);
  EXPECT_EQ(expired.reason(), v1::VERIFY_REASON_INVALID);
  EXPECT_EQ(expired.decision(), v1::DECISION_DENY);
  EXPECT_EQ(expired.mode(), v1::ROLLOUT_MODE_ENFORCE);

  // Counters span the change; only the enforced outcomes are denials.
  const v1::KeyRolloutStatus status = RolloutOf(service, key);
  EXPECT_EQ(status.mode(), v1::ROLLOUT_MODE_ENFORCE);
  EXPECT_EQ(status.user_hash().valid(), 1u);
  EXPECT_EQ(status.user_hash().invalid(), 3u);
  EXPECT_EQ(status.user_hash().missing(), 2u);
  EXPECT_EQ(status.user_hash().denied(), 2u);
  EXPECT_EQ(status.jwt().invalid(), 2u);
  EXPECT_EQ(status.jwt().denied(), 1u);
}

TEST_F(RolloutServiceTest, SignRefusesJwsSigningInputs) {
  const std::string input =
      absl::StrCat(B64Url(R"({"alg":"HS256","typ":"JWT"})"), ".",
                   B64Url(R"({"user_id":"admin","exp":99999999999})"));
  for (const v1::Identity& identity :
       {MakeIdentity(input, ""), MakeIdentity("", input),
        MakeIdentity("", absl::StrCat(input.substr(0, input.find('.')),
                                      "@ICAg.example.com"))}) {
    v1::SignRequest request;
    request.set_key(kWebKey);
    *request.mutable_identity() = identity;
    v1::SignResponse response;
    absl::Status status = service_.DoSign(request, &response);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr("JWT signing input"));
    EXPECT_THAT(status.message(), ::testing::Not(HasSubstr(input)));
    EXPECT_TRUE(response.user_hash().empty());
  }
  // In a batch, only the offending item fails.
  v1::BatchSignRequest batch;
  batch.set_key(kWebKey);
  *batch.add_identities() = MakeIdentity("ok-1", "");
  *batch.add_identities() = MakeIdentity(input, "");
  *batch.add_identities() = MakeIdentity("john.smith", "");
  v1::BatchSignResponse response;
  ASSERT_TRUE(service_.DoBatchSign(batch, &response).ok());
  ASSERT_EQ(response.results_size(), 3);
  EXPECT_EQ(response.results(0).response().user_hash(),
            OpenSslHmacSha256Hex(secret(), "ok-1"));
  EXPECT_EQ(response.results(1).error().code(), 3);
  EXPECT_THAT(response.results(1).error().message(),
              HasSubstr("identity.user_id"));
  EXPECT_EQ(response.results(2).response().user_hash(),
            OpenSslHmacSha256Hex(secret(), "john.smith"));
}

}  // namespace
}  // namespace idsign::service::testing
