// idsign key import | generate | rotate: commands that create key objects.
#include <iostream>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "cli/admin.h"
#include "cli/common.h"
#include "hsm/secret.h"
#include "service/keys/key_admin.h"
#include "service/keys/scheme.h"

namespace idsign::cli {
namespace {

std::string Hex(const std::string& raw) { return absl::BytesToHexString(raw); }

void PrintCreated(const keys::CreatedKey& key, const hsm::Token& token,
                  bool imported) {
  std::cout << (imported ? "imported" : "generated") << " key \"" << key.name
            << "\" version " << key.version << (key.primary ? " (primary)" : "")
            << " into token \"" << token.description().label << "\"\n"
            << "  object label: " << key.label << "\n"
            << "  object id:    " << Hex(key.object_id)
            << "  (pkcs11-tool --id " << Hex(key.object_id) << ")\n"
            << "  scheme:       " << keys::SchemeName(key.scheme) << "\n"
            << "  stored bytes: " << key.stored_bytes << "\n"
            << "  check value:  " << Hex(key.check_value) << "\n";
  if (!imported) return;
  const size_t pad = key.stored_bytes - key.secret_bytes;
  std::cout << "Compare the check value with the first 6 hex digits of:\n";
  if (pad == 0) {
    std::cout << "  printf %s \"$SECRET\" | openssl sha1\n";
  } else {
    std::cout << "  { printf %s \"$SECRET\"; head -c " << pad
              << " /dev/zero; } | openssl sha1\n";
  }
}

void WarnIfPadded(const keys::CreatedKey& key) {
  if (key.stored_bytes <= key.secret_bytes) return;
  std::cerr << "idsign: warning: the secret is " << key.secret_bytes
            << " bytes, below the token's minimum HMAC-SHA256 key size; it "
               "was zero-padded to "
            << key.stored_bytes
            << " bytes. HMAC pads short keys with zeros (RFC 2104), so "
               "user_hash values are unchanged.\n";
}

// legacy-sha1 is an explicit opt-in; the operator must not miss what it
// costs.
void WarnIfLegacy(const keys::CreatedKey& key) {
  if (key.scheme != keys::Scheme::kLegacySha1) return;
  std::cerr
      << "idsign: WARNING: key \"" << key.name << "\" version " << key.version
      << " uses the WEAK legacy-sha1 scheme: user_hash = hex(SHA1(secret || "
         "data)), a plain hash, not an HMAC. Whoever sees one user_hash can "
         "compute valid hashes for that identity extended with SHA-1 padding "
         "and chosen bytes (length extension), and SHA-1 is broken for "
         "collisions. Use it only to keep verifying an old vendor "
         "integration, and move to hmac-sha256 (key rotate) as soon as the "
         "vendor allows. The custody report flags this version as weak.\n";
  if (key.secret_bytes < 32) {
    std::cerr << "idsign: WARNING: the secret is only " << key.secret_bytes
              << " bytes; it is stored exactly as given (legacy-sha1 is "
                 "never padded).\n";
  }
}

struct CreateFlags {
  AdminFlags admin;
  std::string name;
  std::string secret_file;
  std::string scheme = keys::kHmacSha256Name;
  uint32_t bytes = 32;
  bool generate = false;
  bool make_primary = false;
};

// Runs one creating command: import/generate a new key, or rotate.
int Create(const CreateFlags& flags, const char* operation, bool rotate) {
  const keys::Scheme scheme =
      keys::ParseScheme(flags.scheme).value_or(keys::Scheme::kHmacSha256);
  const bool importing = !flags.secret_file.empty();
  if (!importing && scheme == keys::Scheme::kLegacySha1) {
    return UsageError(
        "--scheme=legacy-sha1 is only for importing a vendor's existing "
        "secret with --secret-file; a key generated in the token must use "
        "hmac-sha256");
  }
  hsm::SecretBytes secret;
  if (importing) {
    auto read = hsm::ReadSecretFile(flags.secret_file, "secret file");
    if (!read.ok()) return ReportError(read.status());
    secret = std::move(*read);
  }
  auto access = OpenToken(flags.admin.token, /*read_write=*/true);
  if (!access.ok()) return ReportError(access.status());
  keys::KeySource source{importing ? &secret : nullptr, flags.bytes, scheme};
  const std::string actor = Actor();
  absl::StatusOr<keys::CreatedKey> created =
      rotate ? keys::RotateKey(*access->token, flags.name, source,
                               flags.make_primary, actor)
             : keys::CreateKey(*access->token, flags.name, source, actor);
  secret.Clear();
  LifecycleEvent event{operation, flags.name};
  if (created.ok()) {
    event.versions = {created->version};
    event.details = {{"origin", importing ? "imported" : "generated"},
                     {"primary", created->primary ? "true" : "false"},
                     {"scheme", keys::SchemeName(created->scheme)},
                     {"check_value", Hex(created->check_value)}};
  }
  int audit_exit =
      RecordLifecycle(flags.admin, *access->token, event, created.status());
  if (!created.ok()) return ReportError(created.status());
  if (importing) {
    WarnIfPadded(*created);
    WarnIfLegacy(*created);
  }
  PrintCreated(*created, *access->token, importing);
  return audit_exit;
}

void AddSchemeOption(CLI::App* command, CreateFlags* flags) {
  command
      ->add_option("--scheme", flags->scheme,
                   "user_hash scheme: hmac-sha256, or legacy-sha1 "
                   "(SHA-1(secret || data); weak, import only)")
      ->check(CLI::IsMember({keys::kHmacSha256Name, keys::kLegacySha1Name}))
      ->capture_default_str();
}

}  // namespace

void AddKeyCreateCommands(CLI::App* key, Action* action) {
  auto import_flags = std::make_shared<CreateFlags>();
  CLI::App* import =
      key->add_subcommand("import", "import a vendor secret as a new key");
  import->footer(
      "Import a vendor secret as version 1 (primary) of a new key. The "
      "secret is the file's exact bytes, minus one trailing newline. The key "
      "object is sensitive, non-extractable, non-modifiable and can only "
      "sign and verify. A secret shorter than the token's minimum HMAC key "
      "size is zero-padded, which leaves HMAC-SHA256 results unchanged (RFC "
      "2104). An existing name is never overwritten. Prints the check value "
      "and the openssl command that reproduces it.\n"
      "--scheme=legacy-sha1 imports an old vendor secret (e.g. an 8-character "
      "one) for the 2012 \"secure mode\": user_hash = hex(SHA1(secret || "
      "data)), digested inside the token. The secret is stored exactly, "
      "never padded. The scheme is weak (length extension, SHA-1): the "
      "import warns and the custody report flags the version. JWTs refuse "
      "it, and some HSMs cannot digest a key at all (CKR_KEY_INDIGESTIBLE).");
  AddAdminFlags(import, &import_flags->admin);
  import
      ->add_option("--name", import_flags->name,
                   "logical key name, e.g. intercom/web/prod")
      ->required();
  import
      ->add_option("--secret-file", import_flags->secret_file,
                   "file holding the vendor secret")
      ->required();
  AddSchemeOption(import, import_flags.get());
  import->callback([=] {
    *action = [=] { return Create(*import_flags, "key.import", false);
};
}  // namespace idsign::cli
);

auto generate_flags = std::make_shared<CreateFlags>();
CLI::App* generate =
    key->add_subcommand("generate", "generate a new key inside the token");
generate->footer(
    "Generate a random key inside the token (CKM_GENERIC_SECRET_KEY_GEN) "
    "as version 1 (primary) of a new key. Its value never leaves the "
    "token. For schemes of your own; vendor secrets must be imported. "
    "Always hmac-sha256: legacy-sha1 is refused.");
AddAdminFlags(generate, &generate_flags->admin);
generate->add_option("--name", generate_flags->name, "logical key name")
    ->required();
generate->add_option("--bytes", generate_flags->bytes, "key length in bytes")
    ->capture_default_str();
AddSchemeOption(generate, generate_flags.get());
generate->callback([=] {
  *action = [=] { return Create(*generate_flags, "key.generate", false); };
});

auto rotate_flags = std::make_shared<CreateFlags>();
CLI::App* rotate =
    key->add_subcommand("rotate", "add a new version to an existing key");
rotate->footer(
    "Add the next version of key NAME, from a new vendor secret "
    "(--secret-file) or generated in the token (--generate). The new "
    "version verifies at once; it signs only after --make-primary or "
    "`idsign key promote`. Vendor rotation: import the new secret, roll it "
    "out, promote it, raise the minimum verify version, then destroy the "
    "old version. --scheme=legacy-sha1 (weak; see `idsign key import "
    "--help`) needs --secret-file; versions of both schemes can live in "
    "one key.");
AddAdminFlags(rotate, &rotate_flags->admin);
rotate->add_option("--name", rotate_flags->name, "logical key name")
    ->required();
CLI::Option* secret = rotate->add_option(
    "--secret-file", rotate_flags->secret_file, "file holding the new secret");
CLI::Option* gen = rotate->add_flag("--generate", rotate_flags->generate,
                                    "generate the new version in the token");
secret->excludes(gen);
rotate
    ->add_option("--bytes", rotate_flags->bytes,
                 "key length in bytes with --generate")
    ->capture_default_str();
rotate->add_flag("--make-primary", rotate_flags->make_primary,
                 "make the new version primary at once");
AddSchemeOption(rotate, rotate_flags.get());
rotate->callback([=] {
  *action = [=] {
    if (rotate_flags->secret_file.empty() && !rotate_flags->generate) {
      return UsageError("give --secret-file=F or --generate");
    }
    return Create(*rotate_flags, "key.rotate", true);
  };
});
}

}  // namespace idsign::cli
