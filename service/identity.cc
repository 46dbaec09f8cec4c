#include "service/identity.h"

#include "absl/strings/str_cat.h"

namespace idsign::service {
namespace {

absl::Status CheckLength(absl::string_view field, absl::string_view value,
                         const Limits& limits) {
  if (value.size() > limits.max_identifier_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "identity.", field, " is ", value.size(), " bytes; the limit is ",
        limits.max_identifier_bytes, " bytes (--max-identifier-bytes)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SelectedIdentity> SelectIdentity(const v1::Identity& identity,
                                                const Limits& limits) {
  absl::Status status = CheckLength("user_id", identity.user_id(), limits);
  if (!status.ok()) return status;
  status = CheckLength("email", identity.email(), limits);
  if (!status.ok()) return status;
  if (!identity.user_id().empty()) {
    return SelectedIdentity{v1::IDENTITY_FIELD_USER_ID, identity.user_id()};
  }
  if (!identity.email().empty()) {
    return SelectedIdentity{v1::IDENTITY_FIELD_EMAIL, identity.email()};
  }
  return absl::InvalidArgumentError(
      "unidentified users cannot be verified: set identity.user_id or "
      "identity.email");
}

size_t MaxRequestBytes(const Limits& limits) {
  // Per identity: two length-delimited fields plus tags and length prefixes
  // (at most 1 + 5 bytes each), wrapped in a length-delimited Identity.
  const size_t per_identity = 2 * (limits.max_identifier_bytes + 6) + 6;
  return limits.max_batch * per_identity + 64 * 1024;
}

}  // namespace idsign::service
