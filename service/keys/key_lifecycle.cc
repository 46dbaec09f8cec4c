// Key state changes: promote, minimum verify version, rollout mode,
// disable/enable, destroy. Declared in key_admin.h.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "hsm/log.h"
#include "hsm/objects.h"
#include "hsm/status_macros.h"
#include "service/keys/key_admin.h"
#include "service/keys/key_name.h"
#include "service/keys/policy.h"
#include "service/keys/ring_edit.h"

namespace idsign::keys {
namespace {

absl::Status Refuse(const ring::State& state, uint32_t version,
                    absl::string_view why) {
  return absl::FailedPreconditionError(
      absl::StrCat("version ", version, " of key \"", state.name(), "\" ", why,
                   "; nothing was changed"));
}

void LogChange(absl::string_view event, const ring::State& state,
               uint32_t version) {
  log::Info(event, absl::StrCat("key=", log::Quote(state.name()), " version=",
                                version, " generation=", state.generation()));
}

// The version's key object, checked against the ring entry and the policy.
absl::Status CheckUsable(RingEdit& edit, const ring::Version& entry) {
  ASSIGN_OR_RETURN(
      auto handles,
      hsm::FindSecretKeysByLabel(
          edit.session, ObjectLabel(edit.state.name(), entry.version())));
  if (handles.size() != 1) {
    return Refuse(edit.state, entry.version(),
                  "has no single key object on the token");
  }
  ASSIGN_OR_RETURN(hsm::SecretKeyInfo info,
                   hsm::ReadSecretKeyInfo(edit.session, handles.front()));
  if (info.id != entry.object_id()) {
    return Refuse(edit.state, entry.version(),
                  "has a key object the ring did not record");
  }
  std::vector<std::string> violations = PolicyViolations(info);
  if (!violations.empty()) {
    return Refuse(edit.state, entry.version(),
                  absl::StrCat("breaks the custody policy (",
                               absl::StrJoin(violations, "; "), ")"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status PromoteVersion(hsm::Token& token, absl::string_view name,
                            uint32_t version, absl::string_view actor) {
  absl::MutexLock lock(&AdminMutex());
  ASSIGN_OR_RETURN(RingEdit edit, OpenRingEdit(token, name, true));
  ASSIGN_OR_RETURN(ring::Version * entry, FindVersion(edit.state, version));
  if (entry->state() != ring::VERSION_STATE_ENABLED) {
    return Refuse(edit.state, version, "is not enabled");
  }
  if (version < edit.state.min_verify_version()) {
    return Refuse(edit.state, version,
                  absl::StrCat("is below the minimum verify version ",
                               edit.state.min_verify_version()));
  }
  RETURN_IF_ERROR(CheckUsable(edit, *entry));
  edit.state.set_primary_version(version);
  RETURN_IF_ERROR(CommitRingEdit(edit, actor));
  LogChange("key_promoted", edit.state, version);
  return absl::OkStatus();
}

absl::Status SetMinVerifyVersion(hsm::Token& token, absl::string_view name,
                                 uint32_t version, absl::string_view actor) {
  absl::MutexLock lock(&AdminMutex());
  ASSIGN_OR_RETURN(RingEdit edit, OpenRingEdit(token, name, true));
  RETURN_IF_ERROR(FindVersion(edit.state, version).status());
  if (version > edit.state.primary_version()) {
    return Refuse(edit.state, version,
                  absl::StrCat("is above the primary version ",
                               edit.state.primary_version(),
                               ": fresh signatures would not verify"));
  }
  edit.state.set_min_verify_version(version);
  RETURN_IF_ERROR(CommitRingEdit(edit, actor));
  LogChange("key_min_verify_set", edit.state, version);
  return absl::OkStatus();
}

absl::Status SetRolloutMode(hsm::Token& token, absl::string_view name,
                            RolloutMode mode, absl::string_view actor) {
  absl::MutexLock lock(&AdminMutex());
  ASSIGN_OR_RETURN(RingEdit edit, OpenRingEdit(token, name, true));
  // Written even when unchanged, so the ring (and the audit log) show who
  // last confirmed the mode.
  edit.state.set_rollout_mode(mode == RolloutMode::kMonitor
                                  ? ring::ROLLOUT_MODE_MONITOR
                                  : ring::ROLLOUT_MODE_ENFORCE);
  RETURN_IF_ERROR(CommitRingEdit(edit, actor));
  log::Info("key_rollout_set",
            absl::StrCat("key=", log::Quote(edit.state.name()), " mode=",
                         mode == RolloutMode::kMonitor ? "monitor" : "enforce",
                         " generation=", edit.state.generation()));
  return absl::OkStatus();
}

absl::Status DisableVersion(hsm::Token& token, absl::string_view name,
                            uint32_t version, absl::string_view actor) {
  absl::MutexLock lock(&AdminMutex());
  ASSIGN_OR_RETURN(RingEdit edit, OpenRingEdit(token, name, true));
  ASSIGN_OR_RETURN(ring::Version * entry, FindVersion(edit.state, version));
  if (version == edit.state.primary_version()) {
    return Refuse(edit.state, version,
                  "is the primary; promote another version first");
  }
  if (entry->state() != ring::VERSION_STATE_ENABLED) {
    return Refuse(edit.state, version, "is not enabled");
  }
  entry->set_state(ring::VERSION_STATE_DISABLED);
  RETURN_IF_ERROR(CommitRingEdit(edit, actor));
  LogChange("key_version_disabled", edit.state, version);
  return absl::OkStatus();
}

absl::Status EnableVersion(hsm::Token& token, absl::string_view name,
                           uint32_t version, absl::string_view actor) {
  absl::MutexLock lock(&AdminMutex());
  ASSIGN_OR_RETURN(RingEdit edit, OpenRingEdit(token, name, true));
  ASSIGN_OR_RETURN(ring::Version * entry, FindVersion(edit.state, version));
  if (entry->state() != ring::VERSION_STATE_DISABLED) {
    return Refuse(edit.state, version, "is not disabled");
  }
  RETURN_IF_ERROR(CheckUsable(edit, *entry));
  entry->set_state(ring::VERSION_STATE_ENABLED);
  RETURN_IF_ERROR(CommitRingEdit(edit, actor));
  LogChange("key_version_enabled", edit.state, version);
  return absl::OkStatus();
}

absl::Status DestroyVersion(hsm::Token& token, absl::string_view name,
                            uint32_t version, absl::string_view actor) {
  absl::MutexLock lock(&AdminMutex());
  ASSIGN_OR_RETURN(RingEdit edit, OpenRingEdit(token, name, true));
  ASSIGN_OR_RETURN(ring::Version * entry, FindVersion(edit.state, version));
  if (version == edit.state.primary_version()) {
    return Refuse(edit.state, version,
                  "is the primary; promote another version first");
  }
  if (entry->state() == ring::VERSION_STATE_DESTROYED) {
    return Refuse(edit.state, version, "is already destroyed");
  }
  // Record the destruction first: a ring that says "destroyed" while the
  // object lingers is refused and visible; the reverse would hide a loss.
  entry->set_state(ring::VERSION_STATE_DESTROYED);
  RETURN_IF_ERROR(CommitRingEdit(edit, actor));
  ASSIGN_OR_RETURN(auto handles, hsm::FindSecretKeysByLabel(
                                     edit.session, ObjectLabel(name, version)));
  for (CK_OBJECT_HANDLE handle : handles) {
    RETURN_IF_ERROR(hsm::DestroyObject(edit.session, handle));
  }
  LogChange("key_version_destroyed", edit.state, version);
  return absl::OkStatus();
}

}  // namespace idsign::keys
