#include "service/keys/key_name.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace idsign::keys {
namespace {

constexpr absl::string_view kLabelPrefix = "idsign:";

bool IsNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
         c == '_' || c == '-';
}

}  // namespace

absl::Status ValidateKeyName(absl::string_view name) {
  if (name.empty()) {
    return absl::InvalidArgumentError(
        "key name is empty; name a key such as \"intercom/web/prod\"");
  }
  if (name.size() > kMaxKeyNameLength) {
    return absl::InvalidArgumentError(absl::StrCat("key name is ", name.size(),
                                                   " characters; the limit is ",
                                                   kMaxKeyNameLength));
  }
  bool segment_empty = true;
  for (char c : name) {
    if (c == '/') {
      if (segment_empty) {
        return absl::InvalidArgumentError(
            "key name has an empty segment; use names like "
            "\"intercom/web/prod\"");
      }
      segment_empty = true;
    } else if (IsNameChar(c)) {
      segment_empty = false;
    } else {
      return absl::InvalidArgumentError(
          "key name may hold only letters, digits, '.', '_', '-' and '/'");
    }
  }
  if (segment_empty) {
    return absl::InvalidArgumentError("key name must not end with '/'");
  }
  return absl::OkStatus();
}

std::string ObjectLabel(absl::string_view name, uint32_t version) {
  return absl::StrCat(kLabelPrefix, name, ":v", version);
}

std::optional<ParsedLabel> ParseObjectLabel(absl::string_view label) {
  if (!absl::ConsumePrefix(&label, kLabelPrefix)) return std::nullopt;
  size_t colon = label.rfind(":v");
  if (colon == absl::string_view::npos) return std::nullopt;
  ParsedLabel parsed;
  parsed.name = std::string(label.substr(0, colon));
  absl::string_view digits = label.substr(colon + 2);
  // Only the canonical form ObjectLabel writes: SimpleAtoi alone would also
  // take a sign or surrounding whitespace, letting two labels name one
  // version.
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
  }
  if (digits.empty() || digits.front() == '0' ||
      !absl::SimpleAtoi(digits, &parsed.version) || parsed.version == 0) {
    return std::nullopt;
  }
  if (!ValidateKeyName(parsed.name).ok()) return std::nullopt;
  return parsed;
}

}  // namespace idsign::keys
