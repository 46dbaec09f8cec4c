// Logical key names and the token object labels that carry them.
//
// A logical key such as "intercom/web/prod" has numbered versions. Version N
// is the secret key object labelled "idsign:intercom/web/prod:vN". Objects
// without the "idsign:" prefix belong to someone else and are ignored.
//
// Thread safety: stateless. Ownership: none.
#ifndef IDSIGN_SERVICE_KEYS_KEY_NAME_H_
#define IDSIGN_SERVICE_KEYS_KEY_NAME_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace idsign::keys {

inline constexpr size_t kMaxKeyNameLength = 128;

// OK for 1-128 characters of [A-Za-z0-9._-] in "/"-separated, non-empty
// segments; INVALID_ARGUMENT saying what is wrong otherwise.
absl::Status ValidateKeyName(absl::string_view name);

std::string ObjectLabel(absl::string_view name, uint32_t version);

struct ParsedLabel {
  std::string name;
  uint32_t version = 0;
};

// Inverse of ObjectLabel; nullopt for labels idsign did not write.
std::optional<ParsedLabel> ParseObjectLabel(absl::string_view label);

}  // namespace idsign::keys

#endif  // IDSIGN_SERVICE_KEYS_KEY_NAME_H_
