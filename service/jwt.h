// HS256 JSON Web Tokens (RFC 7519) in compact JWS form (RFC 7515), without
// the MAC: SignJwt and VerifyJwt get that from the key store, so these are
// pure functions of their arguments.
//
// A token is b64url(header) "." b64url(payload) "." b64url(HMAC-SHA256 over
// the first two parts), base64url without padding. The header is always
// {"alg":"HS256","typ":"JWT"}; the payload holds user_id, email (when
// given), iat, exp, then the caller's extra claims sorted by name.
//
// Parsing is strict, because a token that two readers could read
// differently must not verify: exactly three segments of canonical
// base64url, header and payload JSON objects with no repeated member names,
// alg exactly "HS256", no "crit", typ "JWT" when present.
//
// Thread safety: stateless. Ownership: a ParsedJwt points into the text it
// was parsed from.
#ifndef IDSIGN_SERVICE_JWT_H_
#define IDSIGN_SERVICE_JWT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/struct.pb.h"

namespace idsign::service {

struct JwtLimits {
  // Lifetime when SignJwt gives no ttl (capped at max_ttl).
  absl::Duration default_ttl = absl::Hours(1);
  // Longest ttl SignJwt accepts (--jwt-max-ttl).
  absl::Duration max_ttl = absl::Hours(24);
  // Clock skew allowed on exp, nbf and iat (--jwt-leeway).
  absl::Duration leeway = absl::Seconds(60);
  // Most extra claims in one SignJwt.
  size_t max_claims = 32;
  // Longest extra claim name, in bytes.
  size_t max_claim_name_bytes = 64;
  // Longest token SignJwt issues or VerifyJwt reads, in bytes.
  size_t max_jwt_bytes = 8192;
};

// The header every token carries, as JSON.
inline constexpr absl::string_view kJwtHeader =
    R"({"alg":"HS256","typ":"JWT"})";

// What SignJwt puts into a payload.
struct JwtContent {
  absl::string_view user_id;  // the identity rule's choice
  absl::string_view email;    // left out when empty
  int64_t issued_at = 0;      // seconds since the Unix epoch
  int64_t expires_at = 0;
  const google::protobuf::Struct* claims = nullptr;  // may be null
};

// The token's lifetime: default_ttl when `ttl` is null, else `ttl`, which
// must be whole seconds, at least 1s and at most max_ttl.
// INVALID_ARGUMENT naming the limit otherwise.
absl::StatusOr<absl::Duration> JwtTtl(const google::protobuf::Duration* ttl,
                                      const JwtLimits& limits);

// b64url(header) "." b64url(payload): the bytes the MAC covers.
// INVALID_ARGUMENT for a refused claim, or when the finished token would
// be longer than max_jwt_bytes.
absl::StatusOr<std::string> JwtSigningInput(const JwtContent& content,
                                            const JwtLimits& limits);

// header.payload.signature from a signing input and its 32-byte MAC.
std::string AssembleJwt(absl::string_view signing_input, absl::string_view mac);

struct ParsedJwt {
  absl::string_view signing_input;  // header.payload, as received
  std::string signature;            // 32 bytes
  google::protobuf::Struct payload;
  std::optional<double> expires_at;  // exp; nullopt when absent
  std::optional<double> not_before;  // nbf
  std::optional<double> issued_at;   // iat
  std::string user_id;               // empty when absent
  std::string email;
};

// Parses and checks the form of a token (not its MAC, not its times).
// INVALID_ARGUMENT with a message for people ("alg none is refused",
// "payload: member \"exp\" appears more than once", ...) otherwise.
absl::StatusOr<ParsedJwt> ParseJwt(absl::string_view jwt,
                                   const JwtLimits& limits);

// exp is required and must be after now - leeway; nbf, when present, at
// most now + leeway; iat, when present, at most now + leeway.
// INVALID_ARGUMENT ("expired", ...) otherwise.
absl::Status CheckJwtTimes(const ParsedJwt& jwt, absl::Time now,
                           absl::Duration leeway);

}  // namespace idsign::service

#endif  // IDSIGN_SERVICE_JWT_H_
