#include "service/keys/key_admin.h"

#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "hsm/log.h"
#include "hsm/objects.h"
#include "hsm/status_macros.h"
#include "service/keys/key_name.h"

namespace idsign::keys {
namespace {

constexpr size_t kObjectIdBytes = 8;
constexpr size_t kBlockSize = 64;  // SHA-256 block: the RFC 2104 padding bound

absl::Mutex& CreationMutex() {
  static absl::Mutex mu;
  return mu;
}

// Creates version 1 of `name` with `create`, refusing to touch an existing
// name, then reads back what the token stored.
absl::StatusOr<CreatedKey> CreateFirstVersion(
    hsm::Token& token, absl::string_view name,
    const std::function<absl::StatusOr<CK_OBJECT_HANDLE>(
        hsm::Session&, const hsm::NewKey&)>& create) {
  RETURN_IF_ERROR(ValidateKeyName(name));
  if (!token.read_write()) {
    return absl::FailedPreconditionError(
        "token was opened read-only; key administration needs read/write");
  }
  absl::MutexLock creation(&CreationMutex());
  ASSIGN_OR_RETURN(hsm::Session session, token.Acquire());
  ASSIGN_OR_RETURN(Catalog catalog, LoadCatalog(session));
  for (const std::string& label : catalog.ambiguous_labels) {
    std::optional<ParsedLabel> parsed = ParseObjectLabel(label);
    if (parsed && parsed->name == name) {
      return absl::AlreadyExistsError(absl::StrCat(
          "key \"", name, "\" already exists (several objects are labelled \"",
          label, "\"); nothing was changed"));
    }
  }
  if (catalog.keys.count(std::string(name)) > 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("key \"", name, "\" already exists on token \"",
                     token.description().label, "\"; nothing was changed"));
  }
  hsm::NewKey key{ObjectLabel(name, 1), ""};
  ASSIGN_OR_RETURN(key.id, hsm::GenerateRandom(session, kObjectIdBytes));
  ASSIGN_OR_RETURN(CK_OBJECT_HANDLE handle, create(session, key));

  ASSIGN_OR_RETURN(auto same_label,
                   hsm::FindSecretKeysByLabel(session, key.label));
  if (same_label.size() != 1) {
    absl::Status undo = hsm::DestroyObject(session, handle);
    return absl::AbortedError(
        absl::StrCat("another writer created key \"", name,
                     "\" at the same time; this import was undone (",
                     undo.ok() ? "ok" : undo.ToString(), ")"));
  }
  ASSIGN_OR_RETURN(hsm::SecretKeyInfo info,
                   hsm::ReadSecretKeyInfo(session, handle));
  CreatedKey created;
  created.name = std::string(name);
  created.version = 1;
  created.label = key.label;
  created.object_id = key.id;
  created.check_value = info.check_value;
  created.stored_bytes = info.value_len.value_or(0);
  log::Info("key_created",
            absl::StrCat("key=", log::Quote(name),
                         " version=1 local=", info.local.value_or(false)));
  return created;
}

}  // namespace

absl::StatusOr<CreatedKey> ImportKey(hsm::Token& token, absl::string_view name,
                                     const hsm::SecretBytes& secret) {
  if (secret.empty()) {
    return absl::InvalidArgumentError("the secret is empty");
  }
  ASSIGN_OR_RETURN(hsm::KeySizeRange range,
                   token.MechanismKeySizes(CKM_SHA256_HMAC));
  if (range.max != 0 && secret.size() > range.max) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the secret is ", secret.size(), " bytes; token \"",
        token.description().label, "\" accepts HMAC-SHA256 keys of at most ",
        range.max, " bytes"));
  }
  if (secret.size() < range.min && range.min > kBlockSize) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the token's minimum HMAC-SHA256 key size (", range.min,
        " bytes) exceeds the SHA-256 block size; zero padding would change "
        "the MAC"));
  }
  hsm::SecretBytes stored = secret.PaddedTo(range.min);
  std::string check_value;
  auto created = CreateFirstVersion(
      token, name,
      [&](hsm::Session& session,
          const hsm::NewKey& key) -> absl::StatusOr<CK_OBJECT_HANDLE> {
        // Some tokens do not fill CKA_CHECK_VALUE: compute it in the token.
        ASSIGN_OR_RETURN(std::string sha1,
                         hsm::Digest(session, CKM_SHA_1, stored.view()));
        check_value = sha1.substr(0, 3);
        return hsm::ImportHmacKey(session, key, stored);
      });
  if (!created.ok()) return created.status();
  if (created->check_value.empty()) created->check_value = check_value;
  created->secret_bytes = secret.size();
  created->stored_bytes = stored.size();
  return created;
}

absl::StatusOr<CreatedKey> GenerateKey(hsm::Token& token,
                                       absl::string_view name, size_t bytes) {
  ASSIGN_OR_RETURN(hsm::KeySizeRange range,
                   token.MechanismKeySizes(CKM_SHA256_HMAC));
  if (bytes < range.min || (range.max != 0 && bytes > range.max)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--bytes=", bytes, " is outside the token's HMAC-SHA256 key range [",
        range.min, ", ", range.max, "]"));
  }
  auto created = CreateFirstVersion(
      token, name, [&](hsm::Session& session, const hsm::NewKey& key) {
        return hsm::GenerateHmacKey(session, key, bytes);
      });
  if (!created.ok()) return created.status();
  created->secret_bytes = bytes;
  if (created->stored_bytes == 0) created->stored_bytes = bytes;
  return created;
}

absl::StatusOr<Catalog> ReadCatalog(hsm::Token& token) {
  ASSIGN_OR_RETURN(hsm::Session session, token.Acquire());
  return LoadCatalog(session);
}

}  // namespace idsign::keys
