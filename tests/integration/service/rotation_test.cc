// Key rotation while a client signs: a client thread signs and verifies in a
// loop against an in-process Server over an HsmKeyStore, while the main
// thread rotates the key, reloads, promotes the new version, reloads and
// raises the minimum verify version. No call may fail, and every user_hash
// must equal OpenSSL's HMAC under the secret of the version the response
// names. Also: Verify across versions, disable/enable/destroy, and the
// reload a request for an unknown key triggers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "service/keys/hsm_key_store.h"
#include "service/keys/key_admin.h"
#include "tests/integration/service/service_fixture.h"
#include "tests/testing/oracle.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::service::testing {
namespace {

using ::idsign::testing::IsOk;
using ::idsign::testing::OpenSslHmacSha256Hex;
using ::idsign::testing::TestToken;

const std::map<uint32_t, std::string> kSecrets = {
    {1, "rotation-v1-secret-Qw8eR7tY6uI5oP4aS3dF2gH1"},
    {2, "rotation-v2-secret-Zx1cV2bN3mL4kJ5hG6fD7sA8pO9iU0yT"},
    {3, "rotation-v3-secret-Mn4bV5cX6zL7kJ8hG9fD0sA1"}};

hsm::SecretBytes Secret(uint32_t version) {
  const std::string& secret = kSecrets.at(version);
  return hsm::SecretBytes(secret.data(), secret.size());
}

// What the main thread has done so far; the client stamps each request with
// the phase it saw before sending it.
enum Phase : int {
  kInitial = 0,
  kRotated,            // v2 added (not primary), store not reloaded
  kRotatedReloaded,    // the store knows v2; v1 still signs
  kPromoted,           // v2 primary in the token, store not reloaded
  kPromotedReloaded,   // the store signs with v2
  kMinVerifyRaised,    // min verify version 2 in the token
  kMinVerifyReloaded,  // the store verifies only v2
};

struct Observation {
  int phase = 0;
  std::string user_id;
  grpc::Status sign_status;
  v1::SignResponse signed_response;
  grpc::Status verify_status;
  v1::VerifyResponse verified;
};

class RotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_ = TestToken::Get().Open(/*read_write=*/true, /*pool_size=*/6);
    ASSERT_NE(token_, nullptr);
  }
  void TearDown() override {
    StopClient();
    server_.reset();
    store_.reset();
    token_.reset();
  }

  void StartServing() {
    auto store = keys::HsmKeyStore::Create(token_.get());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    server_ = StartServer(store_.get());
  }

  void StartClient(const std::string& key) {
    client_thread_ = std::thread([this, key] {
      SignerClient client(*server_);
      for (int i = 0; !stop_.load(); ++i) {
        Observation seen;
        seen.phase = phase_.load();
        seen.user_id = absl::StrCat("user-", i);
        seen.sign_status =
            client.Sign(key, seen.user_id, "", &seen.signed_response);
        if (seen.sign_status.ok()) {
          seen.verify_status =
              client.Verify(key, seen.user_id, "",
                            seen.signed_response.user_hash(), &seen.verified);
        }
        absl::MutexLock lock(&mu_);
        observations_.push_back(std::move(seen));
      }
    });
  }

  void StopClient() {
    stop_.store(true);
    if (client_thread_.joinable()) client_thread_.join();
  }

  // Waits (at most 60 s) until the client has completed `count` calls issued
  // in the current phase or later.
  ::testing::AssertionResult AwaitCallsInPhase(int count) {
    const int phase = phase_.load();
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      int seen = 0;
      for (const Observation& o : observations_) seen += o.phase >= phase;
      return seen >= count;
    };
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(60))) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << "the client completed fewer than " << count << " calls in phase "
           << phase << " within 60 s";
  }

  std::vector<Observation> observations() {
    absl::MutexLock lock(&mu_);
    return observations_;
  }

  std::unique_ptr<hsm::Token> token_;
  std::unique_ptr<keys::HsmKeyStore> store_;
  std::unique_ptr<Server> server_;
  std::atomic<int> phase_{kInitial};
  std::atomic<bool> stop_{false};
  std::thread client_thread_;
  absl::Mutex mu_;
  std::vector<Observation> observations_ ABSL_GUARDED_BY(mu_);
};

TEST_F(RotationTest, RotatePromoteAndRaiseMinVerifyWhileSigning) {
  constexpr char kKey[] = "rotation/live/prod";
  constexpr int kCallsPerPhase = 25;
  const hsm::SecretBytes v1_secret = Secret(1), v2_secret = Secret(2);
  ASSERT_THAT(keys::ImportKey(*token_, kKey, v1_secret), IsOk());
  StartServing();
  StartClient(kKey);
  ASSERT_TRUE(AwaitCallsInPhase(kCallsPerPhase));

  auto rotated = keys::RotateKey(*token_, kKey, {&v2_secret},
                                 /*make_primary=*/false);
  ASSERT_THAT(rotated, IsOk());
  EXPECT_EQ(rotated->version, 2u);
  EXPECT_FALSE(rotated->primary);
  phase_ = kRotated;
  ASSERT_TRUE(AwaitCallsInPhase(kCallsPerPhase));

  ASSERT_THAT(store_->Reload(), IsOk());
  phase_ = kRotatedReloaded;
  ASSERT_TRUE(AwaitCallsInPhase(kCallsPerPhase));
  {
    // The new version verifies at once, before it signs.
    SignerClient client(*server_);
    v1::VerifyResponse verified;
    ASSERT_TRUE(client
                    .Verify(kKey, "early", "",
                            OpenSslHmacSha256Hex(kSecrets.at(2), "early"),
                            &verified)
                    .ok());
    EXPECT_TRUE(verified.valid());
    EXPECT_EQ(verified.key_version(), 2u);
  }

  ASSERT_THAT(keys::PromoteVersion(*token_, kKey, 2), IsOk());
  phase_ = kPromoted;
  ASSERT_TRUE(AwaitCallsInPhase(kCallsPerPhase));

  ASSERT_THAT(store_->Reload(), IsOk());
  phase_ = kPromotedReloaded;
  ASSERT_TRUE(AwaitCallsInPhase(kCallsPerPhase));

  ASSERT_THAT(keys::SetMinVerifyVersion(*token_, kKey, 2), IsOk());
  phase_ = kMinVerifyRaised;
  ASSERT_TRUE(AwaitCallsInPhase(kCallsPerPhase));

  ASSERT_THAT(store_->Reload(), IsOk());
  phase_ = kMinVerifyReloaded;
  ASSERT_TRUE(AwaitCallsInPhase(kCallsPerPhase));
  StopClient();

  std::map<uint32_t, int> by_version;
  uint32_t last_version = 0;
  for (const Observation& o : observations()) {
    SCOPED_TRACE(absl::StrCat("phase ", o.phase, ", ", o.user_id));
    ASSERT_TRUE(o.sign_status.ok()) << o.sign_status.error_message();
    ASSERT_TRUE(o.verify_status.ok()) << o.verify_status.error_message();
    const uint32_t version = o.signed_response.key_version();
    ASSERT_TRUE(kSecrets.count(version)) << version;
    EXPECT_EQ(o.signed_response.user_hash(),
              OpenSslHmacSha256Hex(kSecrets.at(version), o.user_id));
    EXPECT_TRUE(o.verified.valid());
    EXPECT_EQ(o.verified.key_version(), version);
    // Signing switches once, at the reload after the promotion.
    if (o.phase <= kRotatedReloaded) EXPECT_EQ(version, 1u);
    if (o.phase >= kPromotedReloaded) EXPECT_EQ(version, 2u);
    EXPECT_GE(version, last_version) << "went back to an older version";
    last_version = version;
    ++by_version[version];
  }
  EXPECT_GE(by_version[1], 3 * kCallsPerPhase);
  EXPECT_GE(by_version[2], 3 * kCallsPerPhase);

  // After the minimum verify version is raised, a v1 hash no longer
  // verifies, and a v2 hash names version 2.
  SignerClient client(*server_);
  v1::VerifyResponse verified;
  ASSERT_TRUE(client
                  .Verify(kKey, "late", "",
                          OpenSslHmacSha256Hex(kSecrets.at(1), "late"),
                          &verified)
                  .ok());
  EXPECT_FALSE(verified.valid());
  EXPECT_EQ(verified.key_version(), 0u);
  ASSERT_TRUE(client
                  .Verify(kKey, "late", "",
                          OpenSslHmacSha256Hex(kSecrets.at(2), "late"),
                          &verified)
                  .ok());
  EXPECT_TRUE(verified.valid());
  EXPECT_EQ(verified.key_version(), 2u);
}

// Verify names the version that matched; a disabled version neither signs
// nor verifies; a destroyed one is gone for good and shows so in ListKeys.
TEST_F(RotationTest, VerifyAcrossVersionsDisableEnableDestroy) {
  constexpr char kKey[] = "rotation/states/prod";
  const hsm::SecretBytes s1 = Secret(1), s2 = Secret(2), s3 = Secret(3);
  ASSERT_THAT(keys::ImportKey(*token_, kKey, s1), IsOk());
  ASSERT_THAT(keys::RotateKey(*token_, kKey, {&s2}, false), IsOk());
  ASSERT_THAT(keys::RotateKey(*token_, kKey, {&s3}, true), IsOk());
  StartServing();
  SignerClient client(*server_);

  auto verify_version = [&](uint32_t version) {
    v1::VerifyResponse response;
    grpc::Status status = client.Verify(
        kKey, "u-9", "", OpenSslHmacSha256Hex(kSecrets.at(version), "u-9"),
        &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.valid() ? response.key_version() : 0u;
  };
  EXPECT_EQ(verify_version(1), 1u);
  EXPECT_EQ(verify_version(2), 2u);
  EXPECT_EQ(verify_version(3), 3u);
  v1::SignResponse signed_response;
  ASSERT_TRUE(client.Sign(kKey, "u-9", "", &signed_response).ok());
  EXPECT_EQ(signed_response.key_version(), 3u);
  EXPECT_EQ(signed_response.user_hash(),
            OpenSslHmacSha256Hex(kSecrets.at(3), "u-9"));

  // The primary can be neither disabled nor destroyed.
  EXPECT_FALSE(keys::DisableVersion(*token_, kKey, 3).ok());
  EXPECT_FALSE(keys::DestroyVersion(*token_, kKey, 3).ok());

  ASSERT_THAT(keys::DisableVersion(*token_, kKey, 2), IsOk());
  ASSERT_THAT(store_->Reload(), IsOk());
  EXPECT_EQ(verify_version(2), 0u);
  EXPECT_EQ(verify_version(1), 1u);
  // A disabled version cannot be promoted.
  EXPECT_FALSE(keys::PromoteVersion(*token_, kKey, 2).ok());

  ASSERT_THAT(keys::EnableVersion(*token_, kKey, 2), IsOk());
  ASSERT_THAT(store_->Reload(), IsOk());
  EXPECT_EQ(verify_version(2), 2u);

  ASSERT_THAT(keys::DestroyVersion(*token_, kKey, 1), IsOk());
  ASSERT_THAT(store_->Reload(), IsOk());
  EXPECT_EQ(verify_version(1), 0u);
  EXPECT_EQ(verify_version(2), 2u);
  EXPECT_FALSE(keys::PromoteVersion(*token_, kKey, 1).ok());

  v1::ListKeysResponse listed;
  ASSERT_TRUE(client.ListKeys(&listed).ok());
  const v1::Key* key = nullptr;
  for (const v1::Key& k : listed.keys()) {
    if (k.name() == kKey) key = &k;
  }
  ASSERT_NE(key, nullptr);
  EXPECT_TRUE(key->usable());
  EXPECT_EQ(key->primary_version(), 3u);
  ASSERT_EQ(key->versions_size(), 3);
  EXPECT_EQ(key->versions(0).state(), v1::KEY_VERSION_STATE_DESTROYED);
  EXPECT_EQ(key->versions(1).state(), v1::KEY_VERSION_STATE_ENABLED);
  EXPECT_EQ(key->versions(2).state(), v1::KEY_VERSION_STATE_ENABLED);
  EXPECT_TRUE(key->versions(2).primary());
  // Signing is unaffected throughout.
  ASSERT_TRUE(client.Sign(kKey, "u-10", "", &signed_response).ok());
  EXPECT_EQ(signed_response.key_version(), 3u);
  EXPECT_EQ(signed_response.user_hash(),
            OpenSslHmacSha256Hex(kSecrets.at(3), "u-10"));
}

// A key created after the store loaded is found by the reload that the
// first request naming it triggers.
TEST_F(RotationTest, UnknownKeyTriggersAReload) {
  StartServing();
  constexpr char kKey[] = "rotation/late/prod";
  const hsm::SecretBytes secret = Secret(1);
  ASSERT_THAT(keys::ImportKey(*token_, kKey, secret), IsOk());
  SignerClient client(*server_);
  v1::SignResponse response;
  grpc::Status status = client.Sign(kKey, "u-1", "", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.key_version(), 1u);
  EXPECT_EQ(response.user_hash(), OpenSslHmacSha256Hex(kSecrets.at(1), "u-1"));
}

}  // namespace
}  // namespace idsign::service::testing
