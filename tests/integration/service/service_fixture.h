// Shared setup for the service integration tests: the binary's SoftHSM2
// token with a fixed set of keys, an HsmKeyStore over it, servers on
// 127.0.0.1:0 and typed clients that talk to them over real channels.
//
// Keys on the token (secrets are known to the tests, so OpenSSL can compute
// the expected MACs):
//   kWebKey      imported, 40-byte secret
//   kShortKey    imported, 12-byte secret (zero-padded to the token minimum)
//   kRotatedKey  version 1 imported, version 2 rotated in as primary
//   kGeneratedKey generated inside the token (secret unknown)
//
// Thread safety: Get() is thread-safe; tests use the environment from one
// thread. Ownership: the environment lives until the process exits.
#ifndef IDSIGN_TESTS_INTEGRATION_SERVICE_SERVICE_FIXTURE_H_
#define IDSIGN_TESTS_INTEGRATION_SERVICE_SERVICE_FIXTURE_H_

#include <map>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "hsm/token.h"
#include "idsign/v1/signer.grpc.pb.h"
#include "service/identity.h"
#include "service/keys/hsm_key_store.h"
#include "service/keys/key_admin.h"
#include "service/server.h"

namespace idsign::service::testing {

inline constexpr char kWebKey[] = "intercom/web/prod";
inline constexpr char kShortKey[] = "intercom/ios/test";
inline constexpr char kRotatedKey[] = "rotated/key";
inline constexpr char kGeneratedKey[] = "own/generated";
inline constexpr size_t kGeneratedKeyBytes = 48;
// Recorded as created_by of every key version the fixture creates.
inline constexpr char kFixtureActor[] = "service-fixture@test-host";

// What the tests know about one key version on the token.
struct KnownVersion {
  std::string secret;     // as the vendor issued it; empty if generated
  std::string stored;     // the bytes in the token (after padding)
  std::string object_id;  // raw CKA_ID
};

class ServiceEnvironment {
 public:
  static ServiceEnvironment& Get();

  hsm::Token& token() { return *token_; }
  keys::HsmKeyStore& store() { return *store_; }
  // The secret of `key` version `version`; fails the test if unknown.
  const KnownVersion& version(const std::string& key, uint32_t version) const;
  const std::string& secret(const std::string& key,
                            uint32_t version = 1) const {
    return this->version(key, version).secret;
  }
  // Every fixture key version was created within [created_after,
  // created_before].
  absl::Time created_after() const { return created_after_; }
  absl::Time created_before() const { return created_before_; }

 private:
  ServiceEnvironment();

  std::unique_ptr<hsm::Token> token_;
  std::unique_ptr<keys::HsmKeyStore> store_;
  std::map<std::pair<std::string, uint32_t>, KnownVersion> versions_;
  absl::Time created_after_;
  absl::Time created_before_;
};

// Starts a plaintext server on 127.0.0.1:0 over `store`; aborts the test
// binary if that fails.
std::unique_ptr<Server> StartServer(keys::KeyStore* store, Limits limits = {});

std::shared_ptr<grpc::Channel> ChannelTo(const Server& server);

// A typed idsign.v1.Signer client; every call has a generous deadline so a
// hung server fails the test instead of the run.
class SignerClient {
 public:
  explicit SignerClient(std::shared_ptr<grpc::Channel> channel);
  explicit SignerClient(const Server& server)
      : SignerClient(ChannelTo(server)) {}

  grpc::Status Sign(const v1::SignRequest& request, v1::SignResponse* response);
  grpc::Status BatchSign(const v1::BatchSignRequest& request,
                         v1::BatchSignResponse* response);
  grpc::Status Verify(const v1::VerifyRequest& request,
                      v1::VerifyResponse* response);
  grpc::Status ListKeys(v1::ListKeysResponse* response);

  // Shorthands that build the request.
  grpc::Status Sign(const std::string& key, const std::string& user_id,
                    const std::string& email, v1::SignResponse* response);
  grpc::Status Verify(const std::string& key, const std::string& user_id,
                      const std::string& email, const std::string& user_hash,
                      v1::VerifyResponse* response);

 private:
  std::unique_ptr<v1::Signer::Stub> stub_;
};

v1::Identity MakeIdentity(const std::string& user_id, const std::string& email);

// Gives `context` the deadline every test call uses.
void SetTestDeadline(grpc::ClientContext* context);

}  // namespace idsign::service::testing

#endif  // IDSIGN_TESTS_INTEGRATION_SERVICE_SERVICE_FIXTURE_H_
