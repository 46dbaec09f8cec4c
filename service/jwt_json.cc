#include "service/jwt_json.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"

namespace idsign::service {
namespace {

constexpr absl::string_view kReservedClaims[] = {
    "user_id", "email", "iat", "exp", "nbf", "iss", "sub", "aud", "jti"};

// Doubles represent every integer up to 2^53 exactly.
constexpr double kMaxExactInteger = 9007199254740992.0;

// Claim names are the caller's own text; echo a bounded prefix.
std::string Quoted(absl::string_view name) {
  return absl::StrCat("\"", name.substr(0, 64), name.size() > 64 ? "..." : "",
                      "\"");
}

}  // namespace

bool IsReservedClaim(absl::string_view name) {
  return std::find(std::begin(kReservedClaims), std::end(kReservedClaims),
                   name) != std::end(kReservedClaims);
}

absl::StatusOr<nlohmann::json> ParseJsonObject(absl::string_view text,
                                               absl::string_view what) {
  // nlohmann keeps the last of repeated members; a JWT whose readers could
  // disagree on a claim must be refused, so the names of each open object
  // are tracked here.
  std::vector<std::set<std::string>> open_objects;
  std::string problem;
  auto callback = [&](int depth, nlohmann::json::parse_event_t event,
                      nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (!problem.empty()) return false;
    switch (event) {
      case Event::object_start:
      case Event::array_start:
        if (depth >= kMaxJsonDepth) {
          problem =
              absl::StrCat("nested deeper than ", kMaxJsonDepth, " levels");
        }
        if (event == Event::object_start) open_objects.emplace_back();
        break;
      case Event::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case Event::key:
        if (!open_objects.empty() &&
            !open_objects.back().insert(parsed.get<std::string>()).second) {
          problem = absl::StrCat("member ", Quoted(parsed.get<std::string>()),
                                 " appears more than once");
        }
        break;
      default:
        break;
    }
    return true;
  };
  // nlohmann::json takes a NUL byte for the end of its input; JSON text
  // never holds one, and the bytes after it must not be ignored.
  if (text.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is not valid JSON (it holds a NUL byte)"));
  }
  nlohmann::json parsed = nlohmann::json::parse(
      text.begin(), text.end(), callback, /*allow_exceptions=*/false);
  if (!problem.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", problem));
  }
  if (parsed.is_discarded()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is not valid JSON (or not UTF-8)"));
  }
  if (!parsed.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is not a JSON object"));
  }
  return parsed;
}

absl::Status AppendClaims(const google::protobuf::Struct& claims,
                          size_t max_claims, size_t max_name_bytes,
                          nlohmann::ordered_json* payload) {
  if (static_cast<size_t>(claims.fields_size()) > max_claims) {
    return absl::InvalidArgumentError(
        absl::StrCat("claims has ", claims.fields_size(),
                     " members; the limit is ", max_claims, " claims"));
  }
  // A protobuf map has no order; sorting makes equal requests give equal
  // tokens.
  std::vector<std::string> names;
  names.reserve(claims.fields_size());
  for (const auto& [name, value] : claims.fields()) names.push_back(name);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    if (name.empty()) {
      return absl::InvalidArgumentError("claims: a claim name is empty");
    }
    if (name.size() > max_name_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("claims: the name ", Quoted(name), " is ", name.size(),
                       " bytes; the limit is ", max_name_bytes, " bytes"));
    }
    if (IsReservedClaim(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "claims: ", Quoted(name),
          " is reserved (user_id, email, iat, exp, nbf, iss, sub, aud and "
          "jti are set by the server or not supported)"));
    }
    const google::protobuf::Value& value = claims.fields().at(name);
    switch (value.kind_case()) {
      case google::protobuf::Value::kStringValue:
        (*payload)[name] = value.string_value();
        break;
      case google::protobuf::Value::kBoolValue:
        (*payload)[name] = value.bool_value();
        break;
      case google::protobuf::Value::kNumberValue: {
        const double number = value.number_value();
        if (!std::isfinite(number)) {
          return absl::InvalidArgumentError(
              absl::StrCat("claims: ", Quoted(name),
                           " is not a finite number (NaN and infinities "
                           "have no JSON form)"));
        }
        if (number == std::trunc(number) &&
            std::fabs(number) <= kMaxExactInteger) {
          (*payload)[name] = static_cast<int64_t>(number);
        } else {
          (*payload)[name] = number;
        }
        break;
      }
      default:
        return absl::InvalidArgumentError(absl::StrCat(
            "claims: ", Quoted(name),
            " must be a string, number or boolean (null, lists and objects "
            "are not accepted)"));
    }
  }
  return absl::OkStatus();
}

google::protobuf::Value ToProtoValue(const nlohmann::json& value) {
  google::protobuf::Value out;
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      out.set_null_value(google::protobuf::NULL_VALUE);
      break;
    case nlohmann::json::value_t::boolean:
      out.set_bool_value(value.get<bool>());
      break;
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float:
      out.set_number_value(value.get<double>());
      break;
    case nlohmann::json::value_t::string:
      out.set_string_value(value.get<std::string>());
      break;
    case nlohmann::json::value_t::array: {
      google::protobuf::ListValue* list = out.mutable_list_value();
      for (const nlohmann::json& item : value) {
        *list->add_values() = ToProtoValue(item);
      }
      break;
    }
    case nlohmann::json::value_t::object: {
      google::protobuf::Struct* object = out.mutable_struct_value();
      for (const auto& [name, item] : value.items()) {
        (*object->mutable_fields())[name] = ToProtoValue(item);
      }
      break;
    }
    default:
      out.set_null_value(google::protobuf::NULL_VALUE);
      break;
  }
  return out;
}

}  // namespace idsign::service
