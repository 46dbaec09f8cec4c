// RingEdit: one read-modify-write of a key's sealed ring, shared by the
// administration functions in key_admin.h. Internal to idsign::keys.
//
// Thread safety: callers hold AdminMutex() for the whole edit. Ownership:
// a RingEdit owns the session it borrowed from the Token.
#ifndef IDSIGN_SERVICE_KEYS_RING_EDIT_H_
#define IDSIGN_SERVICE_KEYS_RING_EDIT_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "hsm/token.h"
#include "service/keys/ring.pb.h"

namespace idsign::keys {

// Serialises key administration (and object creation) in this process.
absl::Mutex& AdminMutex();

struct RingEdit {
  hsm::Session session;
  CK_OBJECT_HANDLE ring_key = CK_INVALID_HANDLE;
  // The ring objects the next commit replaces; empty for a new key.
  std::vector<CK_OBJECT_HANDLE> ring_objects;
  ring::State state;
};

// Borrows a read/write session and finds the ring key (creating it if
// needed). With `must_exist`, loads and unseals the ring of `name`:
// NOT_FOUND if the key has none, FAILED_PRECONDITION if it was tampered with.
absl::StatusOr<RingEdit> OpenRingEdit(hsm::Token& token, absl::string_view name,
                                      bool must_exist);

// Bumps the generation, stamps the change and seals the ring back.
absl::Status CommitRingEdit(RingEdit& edit, absl::string_view actor);

// The entry for `version`; NOT_FOUND naming the key and its versions.
absl::StatusOr<ring::Version*> FindVersion(ring::State& state,
                                           uint32_t version);

int64_t NowUnixMs();

}  // namespace idsign::keys

#endif  // IDSIGN_SERVICE_KEYS_RING_EDIT_H_
