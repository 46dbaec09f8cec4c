#include "service/jwt.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "service/encoding.h"
#include "service/jwt_json.h"

namespace idsign::service {
namespace {

constexpr size_t kHs256Bytes = 32;
// 9999-12-31T23:59:59Z, the last second a google.protobuf.Timestamp holds.
constexpr double kMaxNumericDate = 253402300799.0;

std::string Echo(absl::string_view text) {
  return absl::StrCat("\"", text.substr(0, 32), text.size() > 32 ? "..." : "",
                      "\"");
}

// Reads a NumericDate member (RFC 7519 section 2) if present.
absl::Status ReadTime(const nlohmann::json& payload, const char* name,
                      std::optional<double>* out) {
  auto it = payload.find(name);
  if (it == payload.end()) return absl::OkStatus();
  if (!it->is_number()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " is not a number of seconds"));
  }
  const double value = it->get<double>();
  if (!(value >= 0 && value <= kMaxNumericDate)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " is out of range for a date"));
  }
  *out = value;
  return absl::OkStatus();
}

absl::Status ReadString(const nlohmann::json& payload, const char* name,
                        std::string* out) {
  auto it = payload.find(name);
  if (it == payload.end()) return absl::OkStatus();
  if (!it->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(name, " is not a string"));
  }
  *out = it->get<std::string>();
  return absl::OkStatus();
}

absl::Status CheckHeader(const nlohmann::json& header) {
  auto alg = header.find("alg");
  if (alg == header.end()) {
    return absl::InvalidArgumentError("the header has no alg");
  }
  if (!alg->is_string()) {
    return absl::InvalidArgumentError("the header's alg is not a string");
  }
  const std::string name = alg->get<std::string>();
  if (absl::AsciiStrToLower(name) == "none") {
    return absl::InvalidArgumentError("alg none is refused");
  }
  if (name != "HS256") {
    return absl::InvalidArgumentError(absl::StrCat(
        "alg ", Echo(name), " is refused; only HS256 is accepted"));
  }
  if (header.contains("crit")) {
    return absl::InvalidArgumentError(
        "the header has crit; no critical extension is supported");
  }
  auto typ = header.find("typ");
  if (typ != header.end() &&
      !(typ->is_string() && typ->get<std::string>() == "JWT")) {
    return absl::InvalidArgumentError("the header's typ is not \"JWT\"");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<absl::Duration> JwtTtl(const google::protobuf::Duration* ttl,
                                      const JwtLimits& limits) {
  if (ttl == nullptr) return std::min(limits.default_ttl, limits.max_ttl);
  if (ttl->nanos() != 0) {
    return absl::InvalidArgumentError(
        "ttl must be a whole number of seconds (exp is in seconds)");
  }
  const absl::Duration value = absl::Seconds(ttl->seconds());
  if (value < absl::Seconds(1)) {
    return absl::InvalidArgumentError("ttl must be at least 1s");
  }
  if (value > limits.max_ttl) {
    return absl::InvalidArgumentError(
        absl::StrCat("ttl is ", absl::FormatDuration(value), "; the limit is ",
                     absl::FormatDuration(limits.max_ttl), " (--jwt-max-ttl)"));
  }
  return value;
}

absl::StatusOr<std::string> JwtSigningInput(const JwtContent& content,
                                            const JwtLimits& limits) {
  nlohmann::ordered_json payload = nlohmann::ordered_json::object();
  payload["user_id"] = std::string(content.user_id);
  if (!content.email.empty()) payload["email"] = std::string(content.email);
  payload["iat"] = content.issued_at;
  payload["exp"] = content.expires_at;
  if (content.claims != nullptr) {
    absl::Status claims = AppendClaims(*content.claims, limits.max_claims,
                                       limits.max_claim_name_bytes, &payload);
    if (!claims.ok()) return claims;
  }
  std::string json;
  try {
    json = payload.dump(-1, ' ', /*ensure_ascii=*/false,
                        nlohmann::ordered_json::error_handler_t::strict);
  } catch (const nlohmann::json::exception&) {
    // Only reachable when a caller hands in bytes that are not UTF-8, which
    // protobuf's parser already refuses on the wire.
    return absl::InvalidArgumentError(
        "the identity or a claim is not valid UTF-8");
  }
  std::string input =
      absl::StrCat(Base64UrlEncode(kJwtHeader), ".", Base64UrlEncode(json));
  // The finished token adds "." and 43 characters of signature.
  const size_t token_bytes = input.size() + 44;
  if (token_bytes > limits.max_jwt_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the token would be ", token_bytes, " bytes; the limit is ",
        limits.max_jwt_bytes, " bytes (fewer or shorter claims)"));
  }
  return input;
}

std::string AssembleJwt(absl::string_view signing_input,
                        absl::string_view mac) {
  return absl::StrCat(signing_input, ".", Base64UrlEncode(mac));
}

absl::StatusOr<ParsedJwt> ParseJwt(absl::string_view jwt,
                                   const JwtLimits& limits) {
  if (jwt.size() > limits.max_jwt_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the token is ", jwt.size(), " bytes; the limit is ",
                     limits.max_jwt_bytes, " bytes"));
  }
  std::vector<absl::string_view> segments = absl::StrSplit(jwt, '.');
  if (segments.size() != 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("a JWT has 3 segments separated by '.'; this one has ",
                     segments.size()));
  }
  absl::StatusOr<std::string> header_text =
      Base64UrlDecode(segments[0], "the header");
  if (!header_text.ok()) return header_text.status();
  absl::StatusOr<nlohmann::json> header =
      ParseJsonObject(*header_text, "the header");
  if (!header.ok()) return header.status();
  if (absl::Status checked = CheckHeader(*header); !checked.ok()) {
    return checked;
  }

  absl::StatusOr<std::string> payload_text =
      Base64UrlDecode(segments[1], "the payload");
  if (!payload_text.ok()) return payload_text.status();
  absl::StatusOr<nlohmann::json> payload =
      ParseJsonObject(*payload_text, "the payload");
  if (!payload.ok()) return payload.status();

  absl::StatusOr<std::string> signature =
      Base64UrlDecode(segments[2], "the signature");
  if (!signature.ok()) return signature.status();
  if (signature->size() != kHs256Bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the signature is ", signature->size(),
                     " bytes; an HS256 signature is 32"));
  }

  ParsedJwt parsed;
  parsed.signing_input =
      jwt.substr(0, segments[0].size() + 1 + segments[1].size());
  parsed.signature = std::move(*signature);
  for (absl::Status status : {ReadTime(*payload, "exp", &parsed.expires_at),
                              ReadTime(*payload, "nbf", &parsed.not_before),
                              ReadTime(*payload, "iat", &parsed.issued_at),
                              ReadString(*payload, "user_id", &parsed.user_id),
                              ReadString(*payload, "email", &parsed.email)}) {
    if (!status.ok()) return status;
  }
  *parsed.payload.mutable_fields() =
      ToProtoValue(*payload).struct_value().fields();
  return parsed;
}

absl::Status CheckJwtTimes(const ParsedJwt& jwt, absl::Time now,
                           absl::Duration leeway) {
  const double now_seconds = absl::ToUnixMicros(now) / 1e6;
  const double slack = absl::ToDoubleSeconds(leeway);
  if (!jwt.expires_at.has_value()) {
    return absl::InvalidArgumentError("exp is missing");
  }
  if (now_seconds >= *jwt.expires_at + slack) {
    return absl::InvalidArgumentError("expired");
  }
  if (jwt.not_before.has_value() && *jwt.not_before > now_seconds + slack) {
    return absl::InvalidArgumentError("not valid yet (nbf is in the future)");
  }
  if (jwt.issued_at.has_value() && *jwt.issued_at > now_seconds + slack) {
    return absl::InvalidArgumentError("issued in the future (iat)");
  }
  return absl::OkStatus();
}

}  // namespace idsign::service
