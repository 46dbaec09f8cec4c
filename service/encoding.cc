#include "service/encoding.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace idsign::service {
namespace {

bool IsBase64UrlChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
         c == '_';
}

std::vector<uint8_t> ToVector(absl::string_view bytes) {
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

}  // namespace

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
  return ToVector(absl::HexStringToBytes(text));
}

std::string Base64UrlEncode(absl::string_view bytes) {
  // absl's web-safe escape omits the padding.
  return absl::WebSafeBase64Escape(bytes);
}

absl::StatusOr<std::string> Base64UrlDecode(absl::string_view text,
                                            absl::string_view field) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (!IsBase64UrlChar(text[i])) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, " must be base64url without padding; character ", i + 1,
          text[i] == '=' ? " is padding"
                         : " is not in the base64url alphabet"));
    }
  }
  std::string decoded;
  // The re-encode catches the lengths and trailing bits that absl accepts
  // but that have another canonical spelling.
  if (text.size() % 4 == 1 || !absl::WebSafeBase64Unescape(text, &decoded) ||
      absl::WebSafeBase64Escape(decoded) != text) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is not canonical base64url (length ", text.size(),
                     " or its last character is impossible)"));
  }
  return decoded;
}

v1::Encoding EffectiveEncoding(v1::Encoding encoding) {
  return encoding == v1::ENCODING_BASE64URL ? v1::ENCODING_BASE64URL
                                            : v1::ENCODING_HEX;
}

std::string EncodeMac(std::span<const uint8_t> mac, v1::Encoding encoding) {
  return EffectiveEncoding(encoding) == v1::ENCODING_BASE64URL
             ? Base64UrlEncode(mac)
             : LowerHex(mac);
}

absl::StatusOr<std::vector<uint8_t>> DecodeUserHash(absl::string_view text) {
  switch (text.size()) {
    case 0:
      return std::vector<uint8_t>();
    case 64:
      return DecodeHex(text, 32, "user_hash");
    case 40:
      return DecodeHex(text, 20, "user_hash");
    case 43:
    case 27: {
      absl::StatusOr<std::string> raw = Base64UrlDecode(text, "user_hash");
      if (!raw.ok()) return raw.status();
      return ToVector(*raw);
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "user_hash has ", text.size(),
          " characters; expected 64 hex or 43 base64url characters "
          "(HMAC-SHA256), 40 hex or 27 base64url (legacy-sha1), or empty "
          "for a missing hash"));
  }
}

}  // namespace idsign::service
