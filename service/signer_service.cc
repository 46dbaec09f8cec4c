#include "service/signer_service.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "hsm/status_macros.h"
#include "service/encoding.h"
#include "service/grpc_status.h"
#include "service/keys/key_name.h"

namespace idsign::service {
namespace {

absl::Status ValidateKey(absl::string_view key) {
  absl::Status status = keys::ValidateKeyName(key);
  if (status.ok()) return status;
  return absl::InvalidArgumentError(absl::StrCat("key: ", status.message()));
}

grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context,
                                 const absl::Status& status,
                                 absl::string_view rpc) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status, rpc));
  return reactor;
}

v1::KeyOrigin Origin(const hsm::SecretKeyInfo& object) {
  if (!object.local.has_value()) return v1::KEY_ORIGIN_UNSPECIFIED;
  return *object.local ? v1::KEY_ORIGIN_GENERATED : v1::KEY_ORIGIN_IMPORTED;
}

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

absl::Status SignerService::DoSign(const v1::SignRequest& request,
                                   v1::SignResponse* response) {
  RETURN_IF_ERROR(ValidateKey(request.key()));
  ASSIGN_OR_RETURN(SelectedIdentity identity,
                   SelectIdentity(request.identity(), limits_));
  absl::StatusOr<keys::MacResult> mac =
      store_->Sign(request.key(), identity.data);
  if (!mac.ok()) return FromKeyStore(mac.status());
  response->set_user_hash(LowerHex(mac->mac));
  response->set_key(request.key());
  response->set_key_version(mac->version);
  response->set_signed_field(identity.field);
  return absl::OkStatus();
}

absl::Status SignerService::DoBatchSign(const v1::BatchSignRequest& request,
                                        v1::BatchSignResponse* response) {
  RETURN_IF_ERROR(ValidateKey(request.key()));
  const size_t count = request.identities_size();
  if (count > limits_.max_batch) {
    return absl::InvalidArgumentError(
        absl::StrCat("the batch holds ", count, " identities; the limit is ",
                     limits_.max_batch, " (--max-batch)"));
  }
  std::vector<absl::StatusOr<SelectedIdentity>> selected;
  std::vector<absl::string_view> data;
  selected.reserve(count);
  data.reserve(count);
  for (const v1::Identity& identity : request.identities()) {
    selected.push_back(SelectIdentity(identity, limits_));
    if (selected.back().ok()) data.push_back(selected.back()->data);
  }
  absl::StatusOr<std::vector<keys::MacResult>> macs =
      store_->SignMany(request.key(), data);
  if (!macs.ok()) return FromKeyStore(macs.status());

  size_t next_mac = 0;
  for (const absl::StatusOr<SelectedIdentity>& item : selected) {
    v1::BatchSignResult* result = response->add_results();
    if (!item.ok()) {
      result->mutable_error()->set_code(static_cast<int>(item.status().code()));
      result->mutable_error()->set_message(
          std::string(item.status().message()));
      continue;
    }
    const keys::MacResult& mac = (*macs)[next_mac++];
    v1::SignResponse* signed_item = result->mutable_response();
    signed_item->set_user_hash(LowerHex(mac.mac));
    signed_item->set_key(request.key());
    signed_item->set_key_version(mac.version);
    signed_item->set_signed_field(item->field);
  }
  return absl::OkStatus();
}

absl::Status SignerService::DoVerify(const v1::VerifyRequest& request,
                                     v1::VerifyResponse* response) {
  RETURN_IF_ERROR(ValidateKey(request.key()));
  ASSIGN_OR_RETURN(SelectedIdentity identity,
                   SelectIdentity(request.identity(), limits_));
  ASSIGN_OR_RETURN(
      std::vector<uint8_t> mac,
      DecodeHex(request.user_hash(), hsm::kHmacSha256Size, "user_hash"));
  absl::StatusOr<keys::VerifyResult> result =
      store_->Verify(request.key(), identity.data, mac);
  if (!result.ok()) return FromKeyStore(result.status());
  response->set_valid(result->valid);
  response->set_key_version(result->version);
  response->set_verified_field(identity.field);
  return absl::OkStatus();
}

absl::Status SignerService::DoListKeys(v1::ListKeysResponse* response) {
  for (const keys::KeyEntry& entry : store_->List()) {
    v1::Key* key = response->add_keys();
    key->set_name(entry.name);
    key->set_primary_version(entry.primary_version);
    for (const keys::KeyVersionEntry& version : entry.versions) {
      v1::KeyVersion* out = key->add_versions();
      out->set_version(version.version);
      out->set_check_value(LowerHex(AsBytes(version.object.check_value)));
      out->set_origin(Origin(version.object));
      out->set_size_bytes(
          static_cast<uint32_t>(version.object.value_len.value_or(0)));
      out->set_object_id(LowerHex(AsBytes(version.object.id)));
    }
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* SignerService::Sign(
    grpc::CallbackServerContext* context, const v1::SignRequest* request,
    v1::SignResponse* response) {
  return Finish(context, DoSign(*request, response), "Sign");
}

grpc::ServerUnaryReactor* SignerService::BatchSign(
    grpc::CallbackServerContext* context, const v1::BatchSignRequest* request,
    v1::BatchSignResponse* response) {
  return Finish(context, DoBatchSign(*request, response), "BatchSign");
}

grpc::ServerUnaryReactor* SignerService::Verify(
    grpc::CallbackServerContext* context, const v1::VerifyRequest* request,
    v1::VerifyResponse* response) {
  return Finish(context, DoVerify(*request, response), "Verify");
}

grpc::ServerUnaryReactor* SignerService::ListKeys(
    grpc::CallbackServerContext* context, const v1::ListKeysRequest*,
    v1::ListKeysResponse* response) {
  return Finish(context, DoListKeys(response), "ListKeys");
}

}  // namespace idsign::service
