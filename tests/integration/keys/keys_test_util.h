// Small helpers shared by the keys integration tests.
#ifndef IDSIGN_TESTS_INTEGRATION_KEYS_KEYS_TEST_UTIL_H_
#define IDSIGN_TESTS_INTEGRATION_KEYS_KEYS_TEST_UTIL_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "hsm/mac.h"
#include "hsm/objects.h"
#include "hsm/secret.h"
#include "hsm/token.h"

namespace idsign::keys::test {

inline hsm::SecretBytes Secret(absl::string_view text) {
  return hsm::SecretBytes(text.data(), text.size());
}

inline std::string AsString(std::span<const uint8_t> mac) {
  return std::string(reinterpret_cast<const char*>(mac.data()), mac.size());
}

inline std::vector<uint8_t> Bytes(absl::string_view text) {
  return std::vector<uint8_t>(text.begin(), text.end());
}

// Handles of the secret key objects labelled `label`; empty on any error.
inline std::vector<CK_OBJECT_HANDLE> ObjectsLabelled(hsm::Token& token,
                                                     absl::string_view label) {
  auto session = token.Acquire();
  if (!session.ok()) return {};
  auto found = hsm::FindSecretKeysByLabel(*session, label);
  return found.ok() ? *found : std::vector<CK_OBJECT_HANDLE>{};
}

}  // namespace idsign::keys::test

#endif  // IDSIGN_TESTS_INTEGRATION_KEYS_KEYS_TEST_UTIL_H_
