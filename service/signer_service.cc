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
#include "service/identifier_guard.h"
#include "service/key_report.h"
#include "service/keys/key_name.h"
#include "service/keys/scheme.h"
#include "service/signer_internal.h"

namespace idsign::service {
namespace {

absl::Status ValidateEncoding(v1::Encoding encoding) {
  if (v1::Encoding_IsValid(encoding)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("encoding ", static_cast<int>(encoding),
                   " is unknown; use ENCODING_HEX or ENCODING_BASE64URL"));
}

// The identity rule, then the identifier guard on the field that is signed.
absl::StatusOr<SelectedIdentity> SelectSignableIdentity(
    const v1::Identity& identity, const Limits& limits) {
  absl::StatusOr<SelectedIdentity> selected = SelectIdentity(identity, limits);
  if (!selected.ok()) return selected;
  RETURN_IF_ERROR(CheckIdentifierNotJws(
      selected->data, selected->field == v1::IDENTITY_FIELD_USER_ID
                          ? "identity.user_id"
                          : "identity.email"));
  return selected;
}

void FillSignResponse(absl::string_view key, v1::IdentityField field,
                      const keys::MacResult& mac, v1::Encoding encoding,
                      v1::SignResponse* response) {
  response->set_user_hash(EncodeMac(mac.mac, encoding));
  response->set_key(std::string(key));
  response->set_key_version(mac.version);
  response->set_signed_field(field);
  response->set_scheme(std::string(keys::SchemeName(mac.scheme)));
  response->set_encoding(EffectiveEncoding(encoding));
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
    // Without a policy nobody decides which remote caller may do what, so
    // only plaintext callers, which are local (loopback or the unix
    // socket), are served.
    if (guards.policy == nullptr && IsTlsCall(*context)) {
      status_ = absl::PermissionDeniedError(
          "idsignd runs without --policy, so it serves only plaintext "
          "callers on loopback or its unix socket; start it with "
          "--policy=FILE to serve callers over TLS");
      return;
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

absl::Status ValidateKeyArgument(absl::string_view key) {
  absl::Status status = keys::ValidateKeyName(key);
  if (status.ok()) return status;
  return absl::InvalidArgumentError(absl::StrCat("key: ", status.message()));
}

absl::Status SignerService::DoSign(const v1::SignRequest& request,
                                   v1::SignResponse* response) {
  RETURN_IF_ERROR(ValidateKeyArgument(request.key()));
  RETURN_IF_ERROR(ValidateEncoding(request.encoding()));
  ASSIGN_OR_RETURN(SelectedIdentity identity,
                   SelectSignableIdentity(request.identity(), limits_));
  absl::StatusOr<keys::MacResult> mac =
      store_->Sign(request.key(), identity.data);
  if (!mac.ok()) return FromKeyStore(mac.status());
  FillSignResponse(request.key(), identity.field, *mac, request.encoding(),
                   response);
  return absl::OkStatus();
}

absl::Status SignerService::DoBatchSign(const v1::BatchSignRequest& request,
                                        v1::BatchSignResponse* response) {
  RETURN_IF_ERROR(ValidateKeyArgument(request.key()));
  RETURN_IF_ERROR(ValidateEncoding(request.encoding()));
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
    selected.push_back(SelectSignableIdentity(identity, limits_));
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
    FillSignResponse(request.key(), item->field, (*macs)[next_mac++],
                     request.encoding(), result->mutable_response());
  }
  return absl::OkStatus();
}

absl::Status SignerService::DoVerify(const v1::VerifyRequest& request,
                                     v1::VerifyResponse* response) {
  RETURN_IF_ERROR(ValidateKeyArgument(request.key()));
  ASSIGN_OR_RETURN(SelectedIdentity identity,
                   SelectIdentity(request.identity(), limits_));
  ASSIGN_OR_RETURN(std::vector<uint8_t> mac,
                   DecodeUserHash(request.user_hash()));
  absl::StatusOr<keys::VerifyResult> result =
      store_->Verify(request.key(), identity.data, mac);
  if (!result.ok()) return FromKeyStore(result.status());
  const v1::VerifyReason reason = mac.empty()     ? v1::VERIFY_REASON_MISSING
                                  : result->valid ? v1::VERIFY_REASON_VALID
                                                  : v1::VERIFY_REASON_INVALID;
  const v1::Decision decision = Decide(reason, result->mode);
  counters_.Record(request.key(), VerifiedKind::kUserHash, reason, decision);
  const bool valid = reason == v1::VERIFY_REASON_VALID;
  response->set_valid(valid);
  response->set_key_version(valid ? result->version : 0);
  response->set_verified_field(identity.field);
  response->set_decision(decision);
  response->set_reason(reason);
  response->set_mode(ToProto(result->mode));
  return absl::OkStatus();
}

absl::Status SignerService::DoListKeys(v1::ListKeysResponse* response) {
  *response = BuildKeyReport(store_->List(), store_->token_description());
  return absl::OkStatus();
}

template <typename Body>
grpc::ServerUnaryReactor* SignerService::Serve(
    grpc::CallbackServerContext* context, Operation operation,
    absl::string_view key, absl::string_view rpc, Body body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto admission =
      std::make_unique<Admission>(guards_, context, operation, key);
  const bool admitted_now = admission->status().ok();
  auto run = [reactor, context, rpc, body = std::move(body),
              admission = std::move(admission)]() mutable {
    absl::Status admitted = admission->status();
    // A call that waited past its deadline gets no token work.
    if (admitted.ok() &&
        context->deadline() <= std::chrono::system_clock::now()) {
      admitted = absl::DeadlineExceededError(
          "the deadline passed while the call waited for the token");
    }
    absl::Status status = body(admitted);
    admission.reset();  // free the in-flight slot before the answer leaves
    reactor->Finish(ToGrpcStatus(status, rpc));
  };
  if (workers_ == nullptr || !admitted_now) {
    run();
  } else {
    workers_->Run(std::move(run));
  }
  return reactor;
}

grpc::ServerUnaryReactor* SignerService::Sign(
    grpc::CallbackServerContext* context, const v1::SignRequest* request,
    v1::SignResponse* response) {
  auto call =
      std::make_unique<AuditedCall>(context, audit_, "Sign", request->key());
  return Serve(
      context, Operation::kSign, request->key(), "Sign",
      [this, request, response, call = std::move(call)](absl::Status status) {
        if (status.ok()) status = call->Precheck();
        if (status.ok()) status = DoSign(*request, response);
        if (status.ok()) call->set_versions({response->key_version()});
        call->set_items(1, status.ok() ? 0 : 1);
        return call->Finish(status);
      });
}

grpc::ServerUnaryReactor* SignerService::BatchSign(
    grpc::CallbackServerContext* context, const v1::BatchSignRequest* request,
    v1::BatchSignResponse* response) {
  auto call = std::make_unique<AuditedCall>(context, audit_, "BatchSign",
                                            request->key());
  return Serve(
      context, Operation::kBatchSign, request->key(), "BatchSign",
      [this, request, response, call = std::move(call)](absl::Status status) {
        if (status.ok()) status = call->Precheck();
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
        call->set_versions(std::move(versions));
        call->set_items(request->identities_size(), failed);
        return call->Finish(status);
      });
}

grpc::ServerUnaryReactor* SignerService::Verify(
    grpc::CallbackServerContext* context, const v1::VerifyRequest* request,
    v1::VerifyResponse* response) {
  auto call =
      std::make_unique<AuditedCall>(context, audit_, "Verify", request->key());
  return Serve(
      context, Operation::kVerify, request->key(), "Verify",
      [this, request, response, call = std::move(call)](absl::Status status) {
        if (status.ok()) status = call->Precheck();
        if (status.ok()) status = DoVerify(*request, response);
        if (status.ok() && response->valid()) {
          call->set_versions({response->key_version()});
        }
        call->set_items(1, status.ok() && response->valid() ? 0 : 1);
        return call->Finish(status);
      });
}

grpc::ServerUnaryReactor* SignerService::ListKeys(
    grpc::CallbackServerContext* context, const v1::ListKeysRequest*,
    v1::ListKeysResponse* response) {
  Admission admission(guards_, context, Operation::kListKeys, "");
  absl::Status status = admission.status();
  if (status.ok()) status = DoListKeys(response);
  return Finish(context, status, "ListKeys");
}

grpc::ServerUnaryReactor* SignerService::SignJwt(
    grpc::CallbackServerContext* context, const v1::SignJwtRequest* request,
    v1::SignJwtResponse* response) {
  auto call =
      std::make_unique<AuditedCall>(context, audit_, "SignJwt", request->key());
  return Serve(
      context, Operation::kSignJwt, request->key(), "SignJwt",
      [this, request, response, call = std::move(call)](absl::Status status) {
        if (status.ok()) status = call->Precheck();
        if (status.ok()) status = DoSignJwt(*request, response);
        if (status.ok()) call->set_versions({response->key_version()});
        call->set_items(1, status.ok() ? 0 : 1);
        return call->Finish(status);
      });
}

grpc::ServerUnaryReactor* SignerService::VerifyJwt(
    grpc::CallbackServerContext* context, const v1::VerifyJwtRequest* request,
    v1::VerifyJwtResponse* response) {
  auto call = std::make_unique<AuditedCall>(context, audit_, "VerifyJwt",
                                            request->key());
  return Serve(
      context, Operation::kVerifyJwt, request->key(), "VerifyJwt",
      [this, request, response, call = std::move(call)](absl::Status status) {
        if (status.ok()) status = call->Precheck();
        if (status.ok()) status = DoVerifyJwt(*request, response);
        if (status.ok() && response->valid()) {
          call->set_versions({response->key_version()});
        }
        call->set_items(1, status.ok() && response->valid() ? 0 : 1);
        return call->Finish(status);
      });
}

grpc::ServerUnaryReactor* SignerService::GetRolloutStatus(
    grpc::CallbackServerContext* context,
    const v1::GetRolloutStatusRequest* request,
    v1::GetRolloutStatusResponse* response) {
  Admission admission(guards_, context, Operation::kRolloutStatus,
                      request->key());
  absl::Status status = admission.status();
  std::function<bool(absl::string_view)> visible;
  if (guards_.policy != nullptr && request->key().empty()) {
    visible = [policy = guards_.policy, caller = AuthenticatedIdentity(
                                            *context)](absl::string_view key) {
      return policy->Check(caller, Operation::kRolloutStatus, key).ok();
    };
  }
  if (status.ok()) status = DoGetRolloutStatus(*request, response, visible);
  return Finish(context, status, "GetRolloutStatus");
}

}  // namespace idsign::service
