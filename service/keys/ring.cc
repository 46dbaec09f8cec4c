#include "service/keys/ring.h"

#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "hsm/data_objects.h"
#include "hsm/log.h"
#include "hsm/mac.h"
#include "hsm/objects.h"
#include "hsm/status_macros.h"

namespace idsign::keys {
namespace {

constexpr absl::string_view kRingLabelPrefix = "idsign-ring:";
constexpr size_t kRingKeyBytes = 32;

std::string SealInput(absl::string_view name, absl::string_view state) {
  return absl::StrCat("idsign-ring-v1", absl::string_view("\0", 1), name,
                      absl::string_view("\0", 1), state);
}

absl::Status Tampered(absl::string_view name, absl::string_view why) {
  return absl::FailedPreconditionError(
      absl::StrCat("the key ring of \"", name, "\" has been tampered with (",
                   why, "); refusing to use it"));
}

}  // namespace

std::string RingLabel(absl::string_view name) {
  return absl::StrCat(kRingLabelPrefix, name);
}

absl::StatusOr<CK_OBJECT_HANDLE> FindRingKey(hsm::Session& session) {
  ASSIGN_OR_RETURN(auto handles,
                   hsm::FindSecretKeysByLabel(session, kRingMacKeyLabel));
  if (handles.empty()) {
    return absl::NotFoundError(
        absl::StrCat("the token has no ring key (", kRingMacKeyLabel,
                     "); create a key with idsign key import or generate"));
  }
  if (handles.size() > 1) {
    return absl::FailedPreconditionError(
        absl::StrCat(handles.size(), " objects are labelled ", kRingMacKeyLabel,
                     "; remove the ones idsign did not "
                     "create"));
  }
  return handles.front();
}

absl::StatusOr<CK_OBJECT_HANDLE> EnsureRingKey(hsm::Session& session) {
  absl::StatusOr<CK_OBJECT_HANDLE> found = FindRingKey(session);
  if (!absl::IsNotFound(found.status())) return found;
  // Rings without their key: a new ring key would make every existing ring
  // look tampered with and hide that the key was lost.
  ASSIGN_OR_RETURN(std::vector<StoredRing> rings, ListRings(session));
  if (!rings.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the token holds ", rings.size(), " key ring(s) but not the ring key ",
        kRingMacKeyLabel,
        " that sealed them; they cannot be checked, and no new ring key is "
        "created in its place"));
  }
  hsm::NewKey key{kRingMacKeyLabel, ""};
  ASSIGN_OR_RETURN(key.id, hsm::GenerateRandom(session, 8));
  return hsm::GenerateHmacKey(session, key, kRingKeyBytes);
}

absl::StatusOr<std::vector<StoredRing>> ListRings(hsm::Session& session) {
  ASSIGN_OR_RETURN(std::vector<hsm::DataObject> objects,
                   hsm::ListDataObjects(session, kRingApplication));
  std::vector<StoredRing> rings;
  for (hsm::DataObject& object : objects) {
    absl::string_view name = object.label;
    if (!absl::ConsumePrefix(&name, kRingLabelPrefix)) continue;
    rings.push_back(
        {object.handle, std::string(name), std::move(object.value)});
  }
  return rings;
}

absl::StatusOr<ring::State> Unseal(hsm::Session& session,
                                   CK_OBJECT_HANDLE ring_key,
                                   const StoredRing& stored) {
  ring::Sealed sealed;
  if (!sealed.ParseFromString(stored.sealed)) {
    return Tampered(stored.name, "the ring object does not parse");
  }
  const std::string& mac = sealed.mac();
  ASSIGN_OR_RETURN(
      bool valid,
      hsm::VerifyHmacSha256(
          session, ring_key, SealInput(stored.name, sealed.state()),
          {reinterpret_cast<const uint8_t*>(mac.data()), mac.size()}));
  if (!valid) return Tampered(stored.name, "its seal does not verify");
  ring::State state;
  if (!state.ParseFromString(sealed.state())) {
    return Tampered(stored.name, "the sealed state does not parse");
  }
  if (state.name() != stored.name) {
    return Tampered(stored.name, absl::StrCat("it holds the state of \"",
                                              state.name(), "\""));
  }
  return state;
}

absl::StatusOr<CurrentRing> SelectRing(
    hsm::Session& session, CK_OBJECT_HANDLE ring_key,
    const std::vector<const StoredRing*>& candidates) {
  std::optional<CurrentRing> best;
  absl::Status last_error = absl::NotFoundError("no ring object");
  std::vector<CK_OBJECT_HANDLE> all;
  for (const StoredRing* stored : candidates) {
    all.push_back(stored->handle);
    absl::StatusOr<ring::State> state = Unseal(session, ring_key, *stored);
    if (!state.ok()) {
      if (!absl::IsFailedPrecondition(state.status())) return state.status();
      last_error = state.status();
      continue;
    }
    if (!best || state->generation() > best->state.generation()) {
      best = CurrentRing{stored->handle, std::move(*state), {}};
    }
  }
  if (!best) return last_error;
  for (CK_OBJECT_HANDLE handle : all) {
    if (handle != best->handle) best->superseded.push_back(handle);
  }
  return *std::move(best);
}

absl::Status WriteRing(hsm::Session& session, CK_OBJECT_HANDLE ring_key,
                       const ring::State& state,
                       const std::vector<CK_OBJECT_HANDLE>& replaced) {
  ring::Sealed sealed;
  if (!state.SerializeToString(sealed.mutable_state())) {
    return absl::InternalError("cannot serialise the key ring");
  }
  ASSIGN_OR_RETURN(hsm::HmacSha256Mac mac,
                   hsm::HmacSha256(session, ring_key,
                                   SealInput(state.name(), sealed.state())));
  sealed.set_mac(std::string(mac.begin(), mac.end()));
  RETURN_IF_ERROR(hsm::CreateDataObject(session, kRingApplication,
                                        RingLabel(state.name()),
                                        sealed.SerializeAsString())
                      .status());
  // The new ring is in place and, with the higher generation, is the one
  // readers select: the change is committed. An old object that cannot be
  // removed is left for the next change to clean up, not reported as a
  // failure, which would make the caller undo a committed change.
  for (CK_OBJECT_HANDLE handle : replaced) {
    absl::Status destroyed = hsm::DestroyObject(session, handle);
    if (!destroyed.ok()) {
      log::Warning("key_ring_cleanup_failed",
                   absl::StrCat("key=", log::Quote(state.name()),
                                " reason=", log::Quote(destroyed.message())));
    }
  }
  return absl::OkStatus();
}

}  // namespace idsign::keys
