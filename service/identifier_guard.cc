#include "service/identifier_guard.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace idsign::service {
namespace {

enum class Alphabet { kBoth, kUrl, kStandard };

// The 6-bit value of `c`, or -1 for a character this decoder skips.
int SextetOf(char c, Alphabet alphabet) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  const bool url = alphabet != Alphabet::kStandard;
  const bool standard = alphabet != Alphabet::kUrl;
  if ((c == '-' && url) || (c == '+' && standard)) return 62;
  if ((c == '_' && url) || (c == '/' && standard)) return 63;
  return -1;
}

// Decodes like a lenient decoder: characters outside the alphabet are
// skipped; '=' is skipped too, or ends the current group when
// `restart_at_padding` (a decoder that stops at '=' yields a prefix of
// that).
std::string LenientDecode(absl::string_view text, Alphabet alphabet,
                          bool restart_at_padding) {
  std::string out;
  uint32_t bits = 0;
  int bit_count = 0;
  for (char c : text) {
    if (c == '=' && restart_at_padding) {
      bits = 0;
      bit_count = 0;
      continue;
    }
    const int sextet = SextetOf(c, alphabet);
    if (sextet < 0) continue;
    bits = (bits << 6) | static_cast<uint32_t>(sextet);
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      out.push_back(static_cast<char>((bits >> bit_count) & 0xff));
    }
  }
  return out;
}

bool IsInsignificant(unsigned char byte) {
  // JSON whitespace, and NUL: the other half of a UTF-16 or UTF-32 code
  // unit of an ASCII character.
  return byte == 0x00 || byte == 0x09 || byte == 0x0a || byte == 0x0d ||
         byte == 0x20;
}

// Skips insignificant bytes and byte-order marks (UTF-8 EF BB BF; UTF-16
// and UTF-32 FE FF and FF FE, their NULs skipped as above).
size_t SkipLeading(absl::string_view bytes, size_t i) {
  while (i < bytes.size()) {
    const absl::string_view rest = bytes.substr(i);
    if (IsInsignificant(static_cast<unsigned char>(rest[0]))) {
      ++i;
    } else if (absl::StartsWith(rest, "\xef\xbb\xbf")) {
      i += 3;
    } else if (absl::StartsWith(rest, "\xfe\xff") ||
               absl::StartsWith(rest, "\xff\xfe")) {
      i += 2;
    } else {
      break;
    }
  }
  return i;
}

// RFC 8259: an object is '{', whitespace, then '}' or a member, whose name
// starts with '"' and is followed by ':'; the object ends with '}'. A JWS
// header must have a member (alg, RFC 7515 section 4.1.1), so '{}' is not
// a header. Bytes are compared as ASCII, with NULs skipped so that UTF-16
// and UTF-32 match too.
bool CouldBeJwsHeader(absl::string_view bytes) {
  size_t i = SkipLeading(bytes, 0);
  if (i == bytes.size() || bytes[i] != '{') return false;
  ++i;
  while (i < bytes.size() &&
         IsInsignificant(static_cast<unsigned char>(bytes[i]))) {
    ++i;
  }
  if (i == bytes.size() || bytes[i] != '"') return false;
  const size_t colon = bytes.find(':', i + 1);
  return colon != absl::string_view::npos &&
         bytes.find('}', colon + 1) != absl::string_view::npos;
}

}  // namespace

bool LooksLikeJwsSigningInput(absl::string_view identifier) {
  const size_t dot = identifier.find('.');
  if (dot == absl::string_view::npos) return false;
  const absl::string_view header = identifier.substr(0, dot);
  for (Alphabet alphabet :
       {Alphabet::kBoth, Alphabet::kUrl, Alphabet::kStandard}) {
    for (bool restart : {false, true}) {
      if (CouldBeJwsHeader(LenientDecode(header, alphabet, restart))) {
        return true;
      }
    }
  }
  return false;
}

absl::Status CheckIdentifierNotJws(absl::string_view identifier,
                                   absl::string_view field) {
  if (!LooksLikeJwsSigningInput(identifier)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      field,
      " has the form of a JWT signing input (base64url of a JSON object, "
      "'.', more text) and is refused: its user_hash would be a valid JWT "
      "signature for this key. Issue JWTs with SignJwt; if this really is "
      "a user's identifier, sign the identity's other field"));
}

}  // namespace idsign::service
