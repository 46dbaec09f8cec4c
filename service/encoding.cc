#include "service/encoding.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace idsign::service {

std::string LowerHex(std::span<const uint8_t> bytes) {
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

absl::StatusOr<std::vector<uint8_t>> DecodeHex(absl::string_view text,
                                               size_t bytes,
                                               absl::string_view field) {
  if (text.size() != 2 * bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must be ", 2 * bytes, " hex characters; got ",
                     text.size(), " characters"));
  }
  for (size_t i = 0; i < text.size(); ++i) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(text[i]))) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, " must be hex; character ", i + 1, " is not a hex digit"));
    }
  }
  std::string raw = absl::HexStringToBytes(text);
  return std::vector<uint8_t>(raw.begin(), raw.end());
}

}  // namespace idsign::service
