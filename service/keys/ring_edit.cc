#include "service/keys/ring_edit.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "hsm/status_macros.h"
#include "service/keys/key_name.h"
#include "service/keys/ring.h"

namespace idsign::keys {

absl::Mutex& AdminMutex() {
  static absl::Mutex mu;
  return mu;
}

int64_t NowUnixMs() { return absl::ToUnixMillis(absl::Now()); }

absl::StatusOr<RingEdit> OpenRingEdit(hsm::Token& token, absl::string_view name,
                                      bool must_exist) {
  RETURN_IF_ERROR(ValidateKeyName(name));
  if (!token.read_write()) {
    return absl::FailedPreconditionError(
        "token was opened read-only; key administration needs read/write");
  }
  ASSIGN_OR_RETURN(hsm::Session session, token.Acquire());
  RingEdit edit{std::move(session)};
  ASSIGN_OR_RETURN(edit.ring_key, EnsureRingKey(edit.session));
  ASSIGN_OR_RETURN(std::vector<StoredRing> rings, ListRings(edit.session));
  std::vector<const StoredRing*> found;
  for (const StoredRing& stored : rings) {
    if (stored.name == name) found.push_back(&stored);
  }
  if (found.empty()) {
    if (must_exist) {
      return absl::NotFoundError(absl::StrCat(
          "key \"", name, "\" not found; idsign key list shows the keys"));
    }
    edit.state.set_name(std::string(name));
    edit.state.set_min_verify_version(1);
    return edit;
  }
  if (!must_exist) {
    return absl::AlreadyExistsError(
        absl::StrCat("key \"", name, "\" already exists on token \"",
                     token.description().label, "\"; nothing was changed"));
  }
  ASSIGN_OR_RETURN(CurrentRing current,
                   SelectRing(edit.session, edit.ring_key, found));
  edit.state = std::move(current.state);
  edit.ring_objects = std::move(current.superseded);
  edit.ring_objects.push_back(current.handle);
  return edit;
}

absl::Status CommitRingEdit(RingEdit& edit, absl::string_view actor) {
  edit.state.set_generation(edit.state.generation() + 1);
  edit.state.set_updated_at_unix_ms(NowUnixMs());
  edit.state.set_updated_by(std::string(actor));
  return WriteRing(edit.session, edit.ring_key, edit.state, edit.ring_objects);
}

absl::StatusOr<ring::Version*> FindVersion(ring::State& state,
                                           uint32_t version) {
  std::string known;
  for (ring::Version& entry : *state.mutable_versions()) {
    if (entry.version() == version) return &entry;
    absl::StrAppend(&known, known.empty() ? "" : ", ", entry.version());
  }
  return absl::NotFoundError(absl::StrCat("key \"", state.name(),
                                          "\" has no version ", version,
                                          " (versions: ", known, ")"));
}

}  // namespace idsign::keys
