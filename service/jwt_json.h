// JSON for JWT headers and payloads, on nlohmann::json: strict parsing of
// one object (RFC 8259, no duplicate member names, bounded nesting), the
// payload's extra claims from a google.protobuf.Struct, and parsed values
// back into protobuf Values.
//
// Thread safety: stateless. Ownership: results are values.
#ifndef IDSIGN_SERVICE_JWT_JSON_H_
#define IDSIGN_SERVICE_JWT_JSON_H_

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"

namespace idsign::service {

// Deepest nesting of objects and arrays accepted in a parsed header or
// payload: protobuf refuses to parse messages nested much deeper, so a
// payload echoed back as a Struct must stay well inside that.
inline constexpr int kMaxJsonDepth = 16;

// Claim names SignJwt sets itself or that have a registered meaning
// (RFC 7519 section 4.1) the service does not manage.
bool IsReservedClaim(absl::string_view name);

// Parses `text` as exactly one JSON object. INVALID_ARGUMENT starting with
// `what` ("header", "payload") for anything else: bad JSON or UTF-8, another
// type, a member name repeated in one object, nesting over kMaxJsonDepth.
absl::StatusOr<nlohmann::json> ParseJsonObject(absl::string_view text,
                                               absl::string_view what);

// Appends the extra claims to `payload`, sorted by name. Values must be
// strings, finite numbers or booleans; integral numbers within +/-2^53 are
// written as integers. INVALID_ARGUMENT naming the claim for a reserved,
// empty or over-long name, or another kind of value, and naming the limit
// for too many claims.
absl::Status AppendClaims(const google::protobuf::Struct& claims,
                          size_t max_claims, size_t max_name_bytes,
                          nlohmann::ordered_json* payload);

// A parsed JSON value as a protobuf Value (numbers become doubles).
google::protobuf::Value ToProtoValue(const nlohmann::json& value);

}  // namespace idsign::service

#endif  // IDSIGN_SERVICE_JWT_JSON_H_
