// The identity rule and request limits shared by every signing RPC.
//
// The signed data is the exact bytes of identity.user_id when it is
// non-empty, otherwise of identity.email: no trimming, case folding or
// normalisation. An identity with neither is "unidentified" and cannot be
// signed.
//
// Thread safety: stateless. Ownership: SelectIdentity's result points into
// the Identity it was given.
#ifndef IDSIGN_SERVICE_IDENTITY_H_
#define IDSIGN_SERVICE_IDENTITY_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "idsign/v1/signer.pb.h"
#include "service/jwt.h"

namespace idsign::service {

struct Limits {
  // Longest user_id or email, in bytes (--max-identifier-bytes).
  size_t max_identifier_bytes = 1024;
  // Most identities in one BatchSign (--max-batch).
  size_t max_batch = 1000;
  // SignJwt and VerifyJwt: ttl, leeway and size limits.
  JwtLimits jwt;
};

struct SelectedIdentity {
  v1::IdentityField field = v1::IDENTITY_FIELD_UNSPECIFIED;
  absl::string_view data;
};

// Applies the identity rule. INVALID_ARGUMENT for an unidentified user or a
// field longer than limits.max_identifier_bytes; the message names the field
// and the limit but never the identifier itself.
absl::StatusOr<SelectedIdentity> SelectIdentity(const v1::Identity& identity,
                                                const Limits& limits);

// The gRPC receive limit that fits a full batch of maximal identities.
size_t MaxRequestBytes(const Limits& limits);

}  // namespace idsign::service

#endif  // IDSIGN_SERVICE_IDENTITY_H_
