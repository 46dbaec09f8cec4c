// Helpers for tests that read or tamper with key rings in the token. A ring
// object's value cannot be changed in place on SoftHSM2 (C_SetAttributeValue
// on CKA_VALUE of a data object is refused), so tampering writes a new data
// object under the same label and destroys the original, as a PIN holder
// would.
#ifndef IDSIGN_TESTS_INTEGRATION_KEYS_RING_TEST_UTIL_H_
#define IDSIGN_TESTS_INTEGRATION_KEYS_RING_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "hsm/data_objects.h"
#include "hsm/token.h"
#include "service/keys/ring.h"
#include "tests/integration/keys/raw_pkcs11.h"

namespace idsign::keys::test {

// Handles of the ring objects of key `name`, found with raw C_FindObjects.
inline std::vector<CK_OBJECT_HANDLE> RingObjects(hsm::Token& token,
                                                 const std::string& name) {
  std::optional<hsm::Session> session = RawSession(token);
  if (!session) return {};
  return RawFind(*session, CKO_DATA, RingLabel(name));
}

// The stored (sealed) value of the one ring object of `name`.
inline std::string RingValue(hsm::Token& token, const std::string& name) {
  std::optional<hsm::Session> session = RawSession(token);
  if (!session) return "";
  std::vector<CK_OBJECT_HANDLE> rings =
      RawFind(*session, CKO_DATA, RingLabel(name));
  EXPECT_EQ(rings.size(), 1u) << name;
  if (rings.size() != 1) return "";
  std::optional<std::string> value = RawBytes(*session, rings[0], CKA_VALUE);
  EXPECT_TRUE(value.has_value()) << name;
  return value.value_or("");
}

// Adds a ring object for `name` holding `value`, beside any existing ones.
inline void AddRingObject(hsm::Token& token, const std::string& name,
                          const std::string& value) {
  std::optional<hsm::Session> session = RawSession(token);
  if (!session) return;
  auto created =
      hsm::CreateDataObject(*session, kRingApplication, RingLabel(name), value);
  EXPECT_TRUE(created.ok()) << created.status();
}

// Replaces every ring object of `name` by one holding `value`.
inline void ReplaceRing(hsm::Token& token, const std::string& name,
                        const std::string& value) {
  std::vector<CK_OBJECT_HANDLE> old = RingObjects(token, name);
  ASSERT_FALSE(old.empty()) << name;
  AddRingObject(token, name, value);
  std::optional<hsm::Session> session = RawSession(token);
  ASSERT_TRUE(session.has_value());
  for (CK_OBJECT_HANDLE handle : old) {
    ASSERT_EQ(RawDestroy(*session, handle), CKR_OK);
  }
  ASSERT_EQ(RingObjects(token, name).size(), 1u);
}

inline std::string FlipLastByte(std::string value) {
  if (!value.empty()) value.back() ^= 0x01;
  return value;
}

}  // namespace idsign::keys::test

#endif  // IDSIGN_TESTS_INTEGRATION_KEYS_RING_TEST_UTIL_H_
