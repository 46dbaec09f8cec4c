// Names of the user_hash schemes as the ring, the CLI and the custody report
// spell them, and what the report says about weak ones.
//
// Thread safety: stateless. Ownership: none.
#ifndef IDSIGN_SERVICE_KEYS_SCHEME_H_
#define IDSIGN_SERVICE_KEYS_SCHEME_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "service/keys/key_types.h"

namespace idsign::keys {

inline constexpr char kHmacSha256Name[] = "hmac-sha256";
inline constexpr char kLegacySha1Name[] = "legacy-sha1";

// "hmac-sha256" or "legacy-sha1".
const char* SchemeName(Scheme scheme);

// The scheme a name denotes. A ring entry written before schemes existed
// has none: empty means hmac-sha256. nullopt for any other name.
std::optional<Scheme> ParseScheme(absl::string_view name);

// Why a key version of `scheme` whose stored key has `stored_bytes` bytes
// (nullopt: unknown) is weak; empty when it is not. legacy-sha1 versions
// are allowed (an explicit opt-in) but always weak.
std::vector<std::string> SchemeWeaknesses(Scheme scheme,
                                          std::optional<size_t> stored_bytes);

}  // namespace idsign::keys

#endif  // IDSIGN_SERVICE_KEYS_SCHEME_H_
