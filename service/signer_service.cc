#include "service/signer_service.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "hsm/status_macros.h"
#include "service/audited_call.h"
#include "service/caller_identity.h"
#include "service/encoding.h"
#include "service/grpc_status.h"
#include "service/key_report.h"
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

// The peer address without its port, so that a plaintext caller's
// connections share one rate-limit bucket.
std::string PeerHost(const grpc::CallbackServerContext& context) {
  std::string peer = context.peer();
  if (absl::StartsWith(peer, "ipv4:") || absl::StartsWith(peer, "ipv6:")) {
    const size_t colon = peer.rfind(':');
    if (colon > 5) peer.resize(colon);
  }
  return peer;
}

// One call's admission through the CallGuards; holds its in-flight slot
// until destroyed.
class Admission {
 public:
  Admission(const CallGuards& guards, grpc::CallbackServerContext* context,
            Operation operation, absl::string_view key) {
    if (guards.limiter != nullptr) {
      status_ = guards.limiter->Enter();
      if (!status_.ok()) return;
      limiter_ = guards.limiter;
    }
    const bool rate_limited =
        guards.limiter != nullptr && guards.limiter->limits_rate();
    if (guards.policy == nullptr && !rate_limited) return;
    const std::string identity = AuthenticatedIdentity(*context);
    if (guards.policy != nullptr) {
      status_ = guards.policy->Check(identity, operation, key);
      if (!status_.ok()) return;
    }
    if (rate_limited) {
      status_ = guards.limiter->TakeToken(identity.empty() ? PeerHost(*context)
                                                           : identity);
    }
  }
  ~Admission() {
    if (limiter_ != nullptr) limiter_->Exit();
  }
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;

  const absl::Status& status() const { return status_; }

 private:
  CallLimiter* limiter_ = nullptr;
  absl::Status status_;
};

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
  *response = BuildKeyReport(store_->List(), store_->token_description());
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* SignerService::Sign(
    grpc::CallbackServerContext* context, const v1::SignRequest* request,
    v1::SignResponse* response) {
  AuditedCall call(context, audit_, "Sign", request->key());
  Admission admission(guards_, context, Operation::kSign, request->key());
  absl::Status status = admission.status();
  if (status.ok()) status = call.Precheck();
  if (status.ok()) status = DoSign(*request, response);
  if (status.ok()) call.set_versions({response->key_version()});
  call.set_items(1, status.ok() ? 0 : 1);
  return Finish(context, call.Finish(status), "Sign");
}

grpc::ServerUnaryReactor* SignerService::BatchSign(
    grpc::CallbackServerContext* context, const v1::BatchSignRequest* request,
    v1::BatchSignResponse* response) {
  AuditedCall call(context, audit_, "BatchSign", request->key());
  Admission admission(guards_, context, Operation::kBatchSign, request->key());
  absl::Status status = admission.status();
  if (status.ok()) status = call.Precheck();
  if (status.ok()) status = DoBatchSign(*request, response);
  uint64_t failed = 0;
  std::vector<uint32_t> versions;
  for (const v1::BatchSignResult& result : response->results()) {
    if (result.has_error()) {
      ++failed;
    } else if (versions.empty()) {
      versions.push_back(result.response().key_version());
    }
  }
  if (!status.ok()) failed = request->identities_size();
  call.set_versions(std::move(versions));
  call.set_items(request->identities_size(), failed);
  return Finish(context, call.Finish(status), "BatchSign");
}

grpc::ServerUnaryReactor* SignerService::Verify(
    grpc::CallbackServerContext* context, const v1::VerifyRequest* request,
    v1::VerifyResponse* response) {
  AuditedCall call(context, audit_, "Verify", request->key());
  Admission admission(guards_, context, Operation::kVerify, request->key());
  absl::Status status = admission.status();
  if (status.ok()) status = call.Precheck();
  if (status.ok()) status = DoVerify(*request, response);
  if (status.ok() && response->valid()) {
    call.set_versions({response->key_version()});
  }
  call.set_items(1, status.ok() && response->valid() ? 0 : 1);
  return Finish(context, call.Finish(status), "Verify");
}

grpc::ServerUnaryReactor* SignerService::ListKeys(
    grpc::CallbackServerContext* context, const v1::ListKeysRequest*,
    v1::ListKeysResponse* response) {
  Admission admission(guards_, context, Operation::kListKeys, "");
  absl::Status status = admission.status();
  if (status.ok()) status = DoListKeys(response);
  return Finish(context, status, "ListKeys");
}

}  // namespace idsign::service
