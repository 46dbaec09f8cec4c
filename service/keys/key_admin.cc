#include "service/keys/key_admin.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "hsm/log.h"
#include "hsm/objects.h"
#include "hsm/status_macros.h"
#include "service/keys/key_name.h"
#include "service/keys/policy.h"
#include "service/keys/ring.h"
#include "service/keys/ring_edit.h"
#include "service/keys/scheme.h"

namespace idsign::keys {
namespace {

constexpr size_t kObjectIdBytes = 8;
constexpr size_t kBlockSize = 64;  // SHA-256 block: the RFC 2104 padding bound
constexpr int kCreateAttempts = 3;

// The attributes of the object just created, if they are what was asked:
// the only object with its label, with its CKA_ID, allowed by the policy.
absl::StatusOr<hsm::SecretKeyInfo> CheckStored(hsm::Session& session,
                                               const hsm::NewKey& key,
                                               CK_OBJECT_HANDLE handle) {
  ASSIGN_OR_RETURN(auto same_label,
                   hsm::FindSecretKeysByLabel(session, key.label));
  if (same_label.size() != 1) {
    return absl::AbortedError(absl::StrCat(
        same_label.size(), " objects carry the label \"", key.label,
        "\" after creating it (another writer at the same time?)"));
  }
  ASSIGN_OR_RETURN(hsm::SecretKeyInfo info,
                   hsm::ReadSecretKeyInfo(session, handle));
  std::vector<std::string> violations = PolicyViolations(info);
  if (info.label != key.label || info.id != key.id || !violations.empty()) {
    return absl::AbortedError(
        absl::StrCat("the token stored \"", key.label,
                     "\" with other attributes than requested (",
                     violations.empty() ? "label or CKA_ID differ"
                                        : absl::StrJoin(violations, "; "),
                     ")"));
  }
  return info;
}

// Creates the key object for `version` from `source` and describes it in a
// new ring entry. The caller adds the entry to the ring.
absl::StatusOr<std::pair<CreatedKey, ring::Version>> CreateVersionObject(
    hsm::Token& token, RingEdit& edit, uint32_t version,
    const KeySource& source, absl::string_view actor) {
  hsm::Session& session = edit.session;
  ASSIGN_OR_RETURN(hsm::KeySizeRange range,
                   token.MechanismKeySizes(CKM_SHA256_HMAC));
  hsm::NewKey key{ObjectLabel(edit.state.name(), version), ""};
  ASSIGN_OR_RETURN(auto existing,
                   hsm::FindSecretKeysByLabel(session, key.label));
  if (!existing.empty()) {
    return absl::AlreadyExistsError(
        absl::StrCat("a key object labelled \"", key.label,
                     "\" already exists on the token; nothing was changed"));
  }
  ASSIGN_OR_RETURN(key.id, hsm::GenerateRandom(session, kObjectIdBytes));

  CreatedKey created;
  created.scheme = source.scheme;
  CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
  if (source.secret != nullptr) {
    const hsm::SecretBytes& secret = *source.secret;
    if (secret.empty())
      return absl::InvalidArgumentError("the secret is empty");
    if (range.max != 0 && secret.size() > range.max) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the secret is ", secret.size(), " bytes; token \"",
          token.description().label, "\" accepts HMAC-SHA256 keys of at most ",
          range.max, " bytes"));
    }
    // SHA-1(secret || data) sees every stored byte: a legacy-sha1 secret is
    // stored exactly, never padded.
    const size_t pad_to = source.scheme == Scheme::kLegacySha1 ? 0 : range.min;
    if (secret.size() < pad_to && pad_to > kBlockSize) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the token's minimum HMAC-SHA256 key size (", range.min,
          " bytes) exceeds the SHA-256 block size; zero padding would change "
          "the MAC"));
    }
    hsm::SecretBytes stored = secret.PaddedTo(pad_to);
    // Some tokens do not fill CKA_CHECK_VALUE: compute it in the token.
    ASSIGN_OR_RETURN(std::string sha1,
                     hsm::Digest(session, CKM_SHA_1, stored.view()));
    created.check_value = sha1.substr(0, 3);
    created.secret_bytes = secret.size();
    created.stored_bytes = stored.size();
    ASSIGN_OR_RETURN(handle, hsm::ImportHmacKey(session, key, stored));
  } else {
    const size_t bytes = source.generate_bytes;
    if (bytes < range.min || (range.max != 0 && bytes > range.max)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--bytes=", bytes, " is outside the token's HMAC-SHA256 key range [",
          range.min, ", ", range.max, "]"));
    }
    created.secret_bytes = bytes;
    created.stored_bytes = bytes;
    ASSIGN_OR_RETURN(handle, hsm::GenerateHmacKey(session, key, bytes));
  }

  // Read back what the token stored. Anything unexpected (a concurrent
  // writer, or a token that did not apply the template, as SoftHSM2 2.6.1
  // can under concurrent object access) undoes the object.
  absl::StatusOr<hsm::SecretKeyInfo> info = CheckStored(session, key, handle);
  if (!info.ok()) {
    absl::Status undo = hsm::DestroyObject(session, handle);
    return absl::AbortedError(absl::StrCat(
        info.status().message(), "; the new key object was ",
        undo.ok() ? "destroyed" : "NOT destroyed (" + undo.ToString() + ")"));
  }
  if (!info->check_value.empty()) created.check_value = info->check_value;
  if (info->value_len.has_value()) created.stored_bytes = *info->value_len;
  created.name = edit.state.name();
  created.version = version;
  created.label = key.label;
  created.object_id = key.id;

  ring::Version meta;
  meta.set_version(version);
  meta.set_state(ring::VERSION_STATE_ENABLED);
  meta.set_created_at_unix_ms(NowUnixMs());
  meta.set_created_by(std::string(actor));
  meta.set_origin(source.secret != nullptr ? ring::ORIGIN_IMPORTED
                                           : ring::ORIGIN_GENERATED);
  meta.set_scheme(SchemeName(source.scheme));
  meta.set_object_id(key.id);
  meta.set_check_value(created.check_value);
  return std::make_pair(std::move(created), std::move(meta));
}

// Adds `version` to the ring and commits; undoes the key object on failure.
absl::StatusOr<CreatedKey> AddVersion(hsm::Token& token, RingEdit& edit,
                                      uint32_t version, const KeySource& source,
                                      bool make_primary,
                                      absl::string_view actor) {
  // A creation the token garbled was undone; try again a few times.
  absl::StatusOr<std::pair<CreatedKey, ring::Version>> attempt;
  for (int i = 0; i < kCreateAttempts; ++i) {
    attempt = CreateVersionObject(token, edit, version, source, actor);
    if (!absl::IsAborted(attempt.status())) break;
    log::Warning("key_create_retry",
                 absl::StrCat("key=", log::Quote(edit.state.name()),
                              " version=", version, " reason=",
                              log::Quote(attempt.status().message())));
  }
  ASSIGN_OR_RETURN(auto created, std::move(attempt));
  *edit.state.add_versions() = created.second;
  if (make_primary) edit.state.set_primary_version(version);
  absl::Status committed = CommitRingEdit(edit, actor);
  if (!committed.ok()) {
    auto handles =
        hsm::FindSecretKeysByLabel(edit.session, created.first.label);
    if (handles.ok()) {
      for (CK_OBJECT_HANDLE handle : *handles) {
        (void)hsm::DestroyObject(edit.session, handle);
      }
    }
    return committed;
  }
  created.first.primary = make_primary;
  log::Info("key_version_created",
            absl::StrCat("key=", log::Quote(edit.state.name()),
                         " version=", version, " primary=", make_primary));
  return std::move(created.first);
}

// What can be refused before the token is touched.
absl::Status CheckSource(const KeySource& source) {
  if (source.secret != nullptr && source.secret->empty()) {
    return absl::InvalidArgumentError("the secret is empty");
  }
  if (source.secret == nullptr && source.scheme == Scheme::kLegacySha1) {
    return absl::InvalidArgumentError(
        "legacy-sha1 is only for importing a vendor's existing secret "
        "(--secret-file); a generated key has no reason to use the weak "
        "scheme, so generate it as hmac-sha256");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CreatedKey> CreateKey(hsm::Token& token, absl::string_view name,
                                     const KeySource& source,
                                     absl::string_view actor) {
  RETURN_IF_ERROR(CheckSource(source));
  absl::MutexLock lock(&AdminMutex());
  ASSIGN_OR_RETURN(RingEdit edit,
                   OpenRingEdit(token, name, /*must_exist=*/false));
  return AddVersion(token, edit, 1, source, /*make_primary=*/true, actor);
}

absl::StatusOr<CreatedKey> ImportKey(hsm::Token& token, absl::string_view name,
                                     const hsm::SecretBytes& secret,
                                     absl::string_view actor) {
  if (secret.empty()) return absl::InvalidArgumentError("the secret is empty");
  return CreateKey(token, name, KeySource{&secret, 0, Scheme::kHmacSha256},
                   actor);
}

absl::StatusOr<CreatedKey> GenerateKey(hsm::Token& token,
                                       absl::string_view name, size_t bytes,
                                       absl::string_view actor) {
  return CreateKey(token, name, KeySource{nullptr, bytes, Scheme::kHmacSha256},
                   actor);
}

absl::StatusOr<CreatedKey> RotateKey(hsm::Token& token, absl::string_view name,
                                     const KeySource& source, bool make_primary,
                                     absl::string_view actor) {
  RETURN_IF_ERROR(CheckSource(source));
  absl::MutexLock lock(&AdminMutex());
  ASSIGN_OR_RETURN(RingEdit edit,
                   OpenRingEdit(token, name, /*must_exist=*/true));
  uint32_t next = 1;
  for (const ring::Version& v : edit.state.versions()) {
    next = std::max(next, v.version() + 1);
  }
  return AddVersion(token, edit, next, source, make_primary, actor);
}

absl::StatusOr<Catalog> ReadCatalog(hsm::Token& token) {
  ASSIGN_OR_RETURN(hsm::Session session, token.Acquire());
  return LoadCatalog(session);
}

}  // namespace idsign::keys
