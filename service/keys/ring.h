// Key rings in the token: the sealed state of each logical key.
//
// Key objects are not modifiable, so a key's state (versions, primary,
// minimum verify version, disabled versions, provenance) lives in a private
// data object labelled "idsign-ring:<name>" beside them. Every replica that
// shares the token reads the same ring. The ring is sealed with an
// HMAC-SHA256 computed in the token by a dedicated ring key; a ring whose
// seal does not verify is refused. Each version entry also records the
// CKA_ID and check value of its key object, so a key object swapped behind
// idsign's back is detected.
//
// Thread safety: stateless functions; each uses the Session it is given.
// Ownership: none.
#ifndef IDSIGN_SERVICE_KEYS_RING_H_
#define IDSIGN_SERVICE_KEYS_RING_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hsm/session_pool.h"
#include "service/keys/ring.pb.h"

namespace idsign::keys {

inline constexpr char kRingApplication[] = "idsign";
inline constexpr char kRingMacKeyLabel[] = "idsign-system:ring-mac:v1";

std::string RingLabel(absl::string_view name);

// The ring key's handle. NOT_FOUND if the token has none yet;
// FAILED_PRECONDITION if several objects carry its label.
absl::StatusOr<CK_OBJECT_HANDLE> FindRingKey(hsm::Session& session);

// FindRingKey, generating the key first if the token has none (needs a
// read/write session). FAILED_PRECONDITION instead if the token holds rings
// but not their key: it was lost, and a new one would not verify them.
absl::StatusOr<CK_OBJECT_HANDLE> EnsureRingKey(hsm::Session& session);

// A ring data object as read from the token, before its seal is checked.
struct StoredRing {
  CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
  std::string name;
  std::string sealed;
};

absl::StatusOr<std::vector<StoredRing>> ListRings(hsm::Session& session);

// Checks the seal in the token and parses the state. FAILED_PRECONDITION
// saying the ring has been tampered with if the seal does not verify, the
// data does not parse, or the state names another key.
absl::StatusOr<ring::State> Unseal(hsm::Session& session,
                                   CK_OBJECT_HANDLE ring_key,
                                   const StoredRing& stored);

// The current ring of one key, chosen among the ring objects carrying its
// name: the one with the highest generation whose seal verifies. Several
// objects exist briefly while a change is written (a data object's value
// cannot be changed in place on every token), or after a failed clean-up.
struct CurrentRing {
  CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
  ring::State state;
  std::vector<CK_OBJECT_HANDLE> superseded;  // older ring objects
};

// FAILED_PRECONDITION (tampered) if no candidate's seal verifies.
absl::StatusOr<CurrentRing> SelectRing(
    hsm::Session& session, CK_OBJECT_HANDLE ring_key,
    const std::vector<const StoredRing*>& candidates);

// Seals `state` into a new ring object, then destroys `replaced` (the
// previous ring objects). Readers see the old or the new state, never none.
// Once the new object exists the change is committed: a previous object
// that cannot be destroyed is logged and left for the next change.
absl::Status WriteRing(hsm::Session& session, CK_OBJECT_HANDLE ring_key,
                       const ring::State& state,
                       const std::vector<CK_OBJECT_HANDLE>& replaced);

}  // namespace idsign::keys

#endif  // IDSIGN_SERVICE_KEYS_RING_H_
