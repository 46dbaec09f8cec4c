#include "service/audited_call.h"

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "hsm/log.h"
#include "service/caller_identity.h"

namespace idsign::service {
namespace {

constexpr size_t kMaxRequestId = 64;
constexpr size_t kMaxCaller = 256;

bool IsRequestIdChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
         c == ':' || c == '_' || c == '-';
}

std::string RequestId(grpc::CallbackServerContext* context) {
  const auto& metadata = context->client_metadata();
  auto it = metadata.find("x-request-id");
  if (it != metadata.end() && !it->second.empty() &&
      it->second.size() <= kMaxRequestId) {
    std::string id(it->second.data(), it->second.size());
    bool clean = true;
    for (char c : id) clean = clean && IsRequestIdChar(c);
    if (clean) return id;
  }
  static thread_local absl::BitGen bitgen;
  return absl::StrFormat("%016x", absl::Uniform<uint64_t>(bitgen));
}

}  // namespace

AuditedCall::AuditedCall(grpc::CallbackServerContext* context,
                         audit::AuditLog* log, absl::string_view operation,
                         absl::string_view key)
    : log_(log), start_(log != nullptr ? absl::Now() : absl::InfinitePast()) {
  // Without an audit log there is nothing to record or correlate, and the
  // request id and peer cost measurable time per call.
  if (log_ == nullptr) return;
  record_.time = start_;
  record_.request_id = RequestId(context);
  record_.caller = CallerIdentity(*context).substr(0, kMaxCaller);
  record_.operation = std::string(operation);
  record_.key = std::string(key.substr(0, 256));
  context->AddInitialMetadata("x-request-id", record_.request_id);
}

absl::Status AuditedCall::Precheck() const {
  return log_ == nullptr ? absl::OkStatus() : log_->Health();
}

absl::Status AuditedCall::Finish(absl::Status status) {
  if (log_ == nullptr) return status;
  record_.outcome = status.code();
  record_.latency_us = absl::ToInt64Microseconds(absl::Now() - start_);
  absl::Status appended = log_->Append(std::move(record_));
  if (!appended.ok()) {
    log::Error("audit_record_refused",
               absl::StrCat("request_id=", record_.request_id,
                            " reason=", log::Quote(appended.message())));
    return absl::UnavailableError(
        absl::StrCat("the audit log cannot record this call (",
                     appended.message(), "); retry later"));
  }
  return status;
}

}  // namespace idsign::service
