#include "service/keys/scheme.h"

#include "absl/strings/str_cat.h"

namespace idsign::keys {
namespace {

// Below the SHA-256 output size a secret offers less than 256 bits of key,
// and a short vendor secret is often a human-readable word.
constexpr size_t kShortSecretBytes = 32;

}  // namespace

const char* SchemeName(Scheme scheme) {
  switch (scheme) {
    case Scheme::kLegacySha1:
      return kLegacySha1Name;
    case Scheme::kHmacSha256:
    default:
      return kHmacSha256Name;
  }
}

std::optional<Scheme> ParseScheme(absl::string_view name) {
  if (name.empty() || name == kHmacSha256Name) return Scheme::kHmacSha256;
  if (name == kLegacySha1Name) return Scheme::kLegacySha1;
  return std::nullopt;
}

std::vector<std::string> SchemeWeaknesses(Scheme scheme,
                                          std::optional<size_t> stored_bytes) {
  std::vector<std::string> weaknesses;
  if (scheme != Scheme::kLegacySha1) return weaknesses;
  weaknesses.push_back(
      "legacy-sha1: user_hash is a plain SHA-1 of secret || data, not an "
      "HMAC; it is open to length extension (whoever sees the hash of one "
      "identity can compute, without the secret, a valid hash of that "
      "identity followed by SHA-1 padding and bytes of their choice), and "
      "SHA-1 is broken for collisions");
  if (stored_bytes.has_value() && *stored_bytes < kShortSecretBytes) {
    weaknesses.push_back(absl::StrCat("short secret: ", *stored_bytes,
                                      " bytes, below ", kShortSecretBytes));
  }
  return weaknesses;
}

}  // namespace idsign::keys
