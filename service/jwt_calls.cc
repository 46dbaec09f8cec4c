// SignerService's SignJwt, VerifyJwt and GetRolloutStatus, without gRPC
// plumbing (see signer_service.h).
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "hsm/status_macros.h"
#include "service/grpc_status.h"
#include "service/jwt.h"
#include "service/signer_internal.h"
#include "service/signer_service.h"

namespace idsign::service {
namespace {

constexpr size_t kHs256Bytes = 32;

google::protobuf::Timestamp ToTimestamp(int64_t unix_seconds) {
  return google::protobuf::util::TimeUtil::SecondsToTimestamp(unix_seconds);
}

absl::string_view AsChars(const std::vector<uint8_t>& bytes) {
  return absl::string_view(reinterpret_cast<const char*>(bytes.data()),
                           bytes.size());
}

std::span<const uint8_t> AsBytes(absl::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

}  // namespace

absl::Status SignerService::DoSignJwt(const v1::SignJwtRequest& request,
                                      v1::SignJwtResponse* response) {
  RETURN_IF_ERROR(ValidateKeyArgument(request.key()));
  ASSIGN_OR_RETURN(SelectedIdentity identity,
                   SelectIdentity(request.identity(), limits_));
  ASSIGN_OR_RETURN(
      absl::Duration ttl,
      JwtTtl(request.has_ttl() ? &request.ttl() : nullptr, limits_.jwt));
  const int64_t issued_at = absl::ToUnixSeconds(absl::Now());
  const int64_t expires_at = issued_at + absl::ToInt64Seconds(ttl);
  ASSIGN_OR_RETURN(std::string signing_input,
                   JwtSigningInput({.user_id = identity.data,
                                    .email = request.identity().email(),
                                    .issued_at = issued_at,
                                    .expires_at = expires_at,
                                    .claims = &request.claims()},
                                   limits_.jwt));
  absl::StatusOr<keys::MacResult> mac =
      store_->Sign(request.key(), signing_input, keys::MacUse::kJwt);
  if (!mac.ok()) return FromKeyStore(mac.status());
  if (mac->scheme != keys::Scheme::kHmacSha256 ||
      mac->mac.size() != kHs256Bytes) {
    // The store refuses kJwt for legacy-sha1 keys; this is the backstop.
    return absl::FailedPreconditionError(
        absl::StrCat("key \"", request.key(), "\" version ", mac->version,
                     " is not HMAC-SHA256 and cannot sign an HS256 JWT"));
  }
  response->set_jwt(AssembleJwt(signing_input, AsChars(mac->mac)));
  response->set_key(request.key());
  response->set_key_version(mac->version);
  *response->mutable_issued_at() = ToTimestamp(issued_at);
  *response->mutable_expires_at() = ToTimestamp(expires_at);
  response->set_signed_field(identity.field);
  return absl::OkStatus();
}

absl::Status SignerService::DoVerifyJwt(const v1::VerifyJwtRequest& request,
                                        v1::VerifyJwtResponse* response) {
  RETURN_IF_ERROR(ValidateKeyArgument(request.key()));
  v1::VerifyReason reason = v1::VERIFY_REASON_INVALID;
  std::string detail;
  keys::RolloutMode mode = keys::RolloutMode::kEnforce;
  uint32_t version = 0;
  absl::StatusOr<ParsedJwt> parsed = absl::InvalidArgumentError("missing");
  if (!request.jwt().empty()) parsed = ParseJwt(request.jwt(), limits_.jwt);
  if (!parsed.ok()) {
    // Nothing to check in the token, but the decision needs the key's
    // mode: an empty MAC asks for it without touching the token's data.
    absl::StatusOr<keys::VerifyResult> result =
        store_->Verify(request.key(), "", {}, keys::MacUse::kJwt);
    if (!result.ok()) return FromKeyStore(result.status());
    mode = result->mode;
    if (request.jwt().empty()) {
      reason = v1::VERIFY_REASON_MISSING;
      detail = "no token";
    } else {
      detail = std::string(parsed.status().message());
    }
  } else {
    absl::StatusOr<keys::VerifyResult> result =
        store_->Verify(request.key(), parsed->signing_input,
                       AsBytes(parsed->signature), keys::MacUse::kJwt);
    if (!result.ok()) return FromKeyStore(result.status());
    mode = result->mode;
    absl::Status times =
        CheckJwtTimes(*parsed, absl::Now(), limits_.jwt.leeway);
    if (!result->valid) {
      detail = "bad signature";
    } else if (!times.ok()) {
      detail = std::string(times.message());
    } else {
      reason = v1::VERIFY_REASON_VALID;
      version = result->version;
    }
  }
  const v1::Decision decision = Decide(reason, mode);
  counters_.Record(request.key(), VerifiedKind::kJwt, reason, decision);
  response->set_valid(reason == v1::VERIFY_REASON_VALID);
  response->set_key_version(version);
  response->set_decision(decision);
  response->set_reason(reason);
  response->set_detail(detail);
  response->set_mode(ToProto(mode));
  if (reason == v1::VERIFY_REASON_VALID) {
    *response->mutable_claims() = std::move(parsed->payload);
    response->set_user_id(parsed->user_id);
    response->set_email(parsed->email);
    *response->mutable_expires_at() =
        ToTimestamp(static_cast<int64_t>(*parsed->expires_at));
  }
  return absl::OkStatus();
}

absl::Status SignerService::DoGetRolloutStatus(
    const v1::GetRolloutStatusRequest& request,
    v1::GetRolloutStatusResponse* response,
    const std::function<bool(absl::string_view key)>& visible) {
  if (!request.key().empty()) {
    RETURN_IF_ERROR(ValidateKeyArgument(request.key()));
  }
  bool found = false;
  for (const keys::KeyEntry& entry : store_->List()) {
    if (!request.key().empty() && entry.name != request.key()) continue;
    if (request.key().empty() && visible && !visible(entry.name)) continue;
    found = true;
    v1::KeyRolloutStatus* status = response->add_keys();
    status->set_key(entry.name);
    status->set_mode(ToProto(entry.rollout_mode));
    counters_.Read(entry.name, status);
  }
  if (!request.key().empty() && !found) {
    return absl::NotFoundError(
        absl::StrCat("key \"", request.key(), "\" not found on the token"));
  }
  *response->mutable_counting_since() =
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
          absl::ToUnixMicros(counters_.since()));
  return absl::OkStatus();
}

}  // namespace idsign::service
