#include "tests/integration/service/service_fixture.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "tests/testing/softhsm_token.h"

namespace idsign::service::testing {
namespace {

using ::idsign::testing::TestToken;

void Die(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "service test setup: %s: %s\n", what.c_str(),
               status.ToString().c_str());
  std::abort();
}

// Vendor-style secrets, made up for these tests.
constexpr char kWebSecret[] = "wW3ZxqUeS3vJ8bTdvsvM1xCkpWyz9QFj6oBcH7Ln";
constexpr char kShortSecret[] = "short-secret";
constexpr char kRotatedSecretV1[] = "rot-v1-Jk2mQ9pL4sX7vB1nC8zR5tY3wE6uI0oA";
constexpr char kRotatedSecretV2[] =
    "rot-v2-Hq7LmN3bV9cX1zA5sD8fG2hJ4kL6pO0iU7yT3rE5wQ9";

}  // namespace

ServiceEnvironment& ServiceEnvironment::Get() {
  // Leaked on purpose, like TestToken: sessions must not outlive the module.
  static ServiceEnvironment* environment = new ServiceEnvironment();
  return *environment;
}

ServiceEnvironment::ServiceEnvironment() {
  token_ = TestToken::Get().Open(/*read_write=*/true, /*pool_size=*/4);
  // Ring timestamps have millisecond precision.
  created_after_ = absl::FromUnixMillis(absl::ToUnixMillis(absl::Now()));
  auto import = [&](const std::string& name, const std::string& secret) {
    hsm::SecretBytes bytes(secret.data(), secret.size());
    auto created = keys::ImportKey(*token_, name, bytes, kFixtureActor);
    if (!created.ok()) Die("import " + name, created.status());
    auto range = token_->MechanismKeySizes(CKM_SHA256_HMAC);
    if (!range.ok()) Die("key sizes", range.status());
    std::string stored = secret;
    if (stored.size() < range->min) stored.resize(range->min, '\0');
    versions_[{name, 1}] = {secret, stored, created->object_id};
  };
  import(kWebKey, kWebSecret);
  import(kShortKey, kShortSecret);
  import(kRotatedKey, kRotatedSecretV1);

  // A second version of kRotatedKey, added by a rotation that promotes it.
  {
    const std::string secret = kRotatedSecretV2;
    hsm::SecretBytes bytes(secret.data(), secret.size());
    auto created = keys::RotateKey(*token_, kRotatedKey, {&bytes},
                                   /*make_primary=*/true, kFixtureActor);
    if (!created.ok())
      Die("rotate " + std::string(kRotatedKey), created.status());
    if (created->version != 2 || !created->primary) {
      Die("rotate", absl::InternalError("version 2 is not the primary"));
    }
    versions_[{kRotatedKey, 2}] = {secret, secret, created->object_id};
  }

  auto generated = keys::GenerateKey(*token_, kGeneratedKey, kGeneratedKeyBytes,
                                     kFixtureActor);
  if (!generated.ok()) Die("generate", generated.status());
  versions_[{kGeneratedKey, 1}] = {"", "", generated->object_id};
  created_before_ = absl::Now() + absl::Milliseconds(1);

  auto store = keys::HsmKeyStore::Create(token_.get());
  if (!store.ok()) Die("key store", store.status());
  store_ = std::move(*store);
}

const KnownVersion& ServiceEnvironment::version(const std::string& key,
                                                uint32_t version) const {
  auto it = versions_.find({key, version});
  if (it == versions_.end()) {
    ADD_FAILURE() << "no known version " << version << " of " << key;
    static const KnownVersion* empty = new KnownVersion();
    return *empty;
  }
  return it->second;
}

std::unique_ptr<Server> StartServer(keys::KeyStore* store, Limits limits) {
  ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.limits = limits;
  auto server = Server::Start(config, store);
  if (!server.ok()) Die("server start", server.status());
  return std::move(*server);
}

std::shared_ptr<grpc::Channel> ChannelTo(const Server& server) {
  grpc::ChannelArguments args;
  // The client must be able to receive any response the server may send.
  args.SetMaxReceiveMessageSize(-1);
  return grpc::CreateCustomChannel(server.address(),
                                   grpc::InsecureChannelCredentials(), args);
}

void SetTestDeadline(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(60));
}

v1::Identity MakeIdentity(const std::string& user_id,
                          const std::string& email) {
  v1::Identity identity;
  identity.set_user_id(user_id);
  identity.set_email(email);
  return identity;
}

SignerClient::SignerClient(std::shared_ptr<grpc::Channel> channel)
    : stub_(v1::Signer::NewStub(channel)) {}

grpc::Status SignerClient::Sign(const v1::SignRequest& request,
                                v1::SignResponse* response) {
  grpc::ClientContext context;
  SetTestDeadline(&context);
  return stub_->Sign(&context, request, response);
}

grpc::Status SignerClient::BatchSign(const v1::BatchSignRequest& request,
                                     v1::BatchSignResponse* response) {
  grpc::ClientContext context;
  SetTestDeadline(&context);
  return stub_->BatchSign(&context, request, response);
}

grpc::Status SignerClient::Verify(const v1::VerifyRequest& request,
                                  v1::VerifyResponse* response) {
  grpc::ClientContext context;
  SetTestDeadline(&context);
  return stub_->Verify(&context, request, response);
}

grpc::Status SignerClient::ListKeys(v1::ListKeysResponse* response) {
  grpc::ClientContext context;
  SetTestDeadline(&context);
  return stub_->ListKeys(&context, v1::ListKeysRequest(), response);
}

grpc::Status SignerClient::Sign(const std::string& key,
                                const std::string& user_id,
                                const std::string& email,
                                v1::SignResponse* response) {
  v1::SignRequest request;
  request.set_key(key);
  *request.mutable_identity() = MakeIdentity(user_id, email);
  return Sign(request, response);
}

grpc::Status SignerClient::Verify(const std::string& key,
                                  const std::string& user_id,
                                  const std::string& email,
                                  const std::string& user_hash,
                                  v1::VerifyResponse* response) {
  v1::VerifyRequest request;
  request.set_key(key);
  *request.mutable_identity() = MakeIdentity(user_id, email);
  request.set_user_hash(user_hash);
  return Verify(request, response);
}

}  // namespace idsign::service::testing
