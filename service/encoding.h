// How MACs are written on the wire: lowercase hex (the default) or RFC 4648
// section 5 base64url without padding, and the strict base64url that JWT
// segments use.
//
// Thread safety: stateless. Ownership: none.
#ifndef IDSIGN_SERVICE_ENCODING_H_
#define IDSIGN_SERVICE_ENCODING_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "idsign/v1/signer.pb.h"

namespace idsign::service {

std::string LowerHex(std::span<const uint8_t> bytes);

// Decodes exactly `bytes` bytes of upper- or lower-case hex. INVALID_ARGUMENT
// naming `field`, the expected length and the first bad position otherwise.
absl::StatusOr<std::vector<uint8_t>> DecodeHex(absl::string_view text,
                                               size_t bytes,
                                               absl::string_view field);

// RFC 4648 section 5 base64url, without padding.
std::string Base64UrlEncode(absl::string_view bytes);
inline std::string Base64UrlEncode(std::span<const uint8_t> bytes) {
  return Base64UrlEncode(absl::string_view(
      reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

// Decodes canonical base64url without padding: only [A-Za-z0-9_-], no '=',
// no length of 4n+1, and unused trailing bits zero (so every byte string
// has exactly one accepted text). INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<std::string> Base64UrlDecode(absl::string_view text,
                                            absl::string_view field);

// `mac` in `encoding` (ENCODING_UNSPECIFIED is hex).
std::string EncodeMac(std::span<const uint8_t> mac, v1::Encoding encoding);

// The encoding EncodeMac uses for `encoding`: never ENCODING_UNSPECIFIED.
v1::Encoding EffectiveEncoding(v1::Encoding encoding);

// Decodes a user_hash by its length: 64 hex or 43 base64url characters (a
// 32-byte HMAC-SHA256), 40 hex or 27 base64url (a 20-byte legacy-sha1
// digest). Hex may be in either case. Empty gives an empty vector: the
// hash is missing, which is not an error. INVALID_ARGUMENT with the
// accepted forms otherwise; the message never repeats the value.
absl::StatusOr<std::vector<uint8_t>> DecodeUserHash(absl::string_view text);

}  // namespace idsign::service

#endif  // IDSIGN_SERVICE_ENCODING_H_
