// idsign key import | generate | list: key administration on the token.
#include <iostream>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/common.h"
#include "hsm/secret.h"
#include "service/keys/key_admin.h"

namespace idsign::cli {
namespace {

std::string Hex(const std::string& raw) { return absl::BytesToHexString(raw); }

void PrintCreated(const keys::CreatedKey& key, const hsm::Token& token,
                  bool imported) {
  std::cout << (imported ? "imported" : "generated") << " key \"" << key.name
            << "\" version " << key.version << " into token \""
            << token.description().label << "\"\n"
            << "  object label: " << key.label << "\n"
            << "  object id:    " << Hex(key.object_id)
            << "  (pkcs11-tool --id " << Hex(key.object_id) << ")\n"
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

struct ImportFlags {
  TokenFlags token;
  std::string name;
  std::string secret_file;
};

int Import(const ImportFlags& flags) {
  absl::StatusOr<hsm::SecretBytes> secret =
      hsm::ReadSecretFile(flags.secret_file, "secret file");
  if (!secret.ok()) return ReportError(secret.status());
  auto access = OpenToken(flags.token, /*read_write=*/true);
  if (!access.ok()) return ReportError(access.status());
  auto created = keys::ImportKey(*access->token, flags.name, *secret);
  const size_t secret_size = secret->size();
  secret->Clear();
  if (!created.ok()) return ReportError(created.status());
  if (created->stored_bytes > secret_size) {
    std::cerr << "idsign: warning: the secret is " << secret_size
              << " bytes, below the token's minimum HMAC-SHA256 key size; it "
                 "was zero-padded to "
              << created->stored_bytes
              << " bytes. HMAC pads short keys with zeros (RFC 2104), so "
                 "user_hash values are unchanged.\n";
  }
  PrintCreated(*created, *access->token, /*imported=*/true);
  return kExitOk;
}

struct GenerateFlags {
  TokenFlags token;
  std::string name;
  uint32_t bytes = 32;
};

int Generate(const GenerateFlags& flags) {
  auto access = OpenToken(flags.token, /*read_write=*/true);
  if (!access.ok()) return ReportError(access.status());
  auto created = keys::GenerateKey(*access->token, flags.name, flags.bytes);
  if (!created.ok()) return ReportError(created.status());
  PrintCreated(*created, *access->token, /*imported=*/false);
  return kExitOk;
}

std::string YesNo(const std::optional<bool>& value) {
  if (!value.has_value()) return "?";
  return *value ? "yes" : "no";
}

int List(const TokenFlags& flags) {
  auto access = OpenToken(flags, /*read_write=*/false);
  if (!access.ok()) return ReportError(access.status());
  auto catalog = keys::ReadCatalog(*access->token);
  if (!catalog.ok()) return ReportError(catalog.status());
  std::cout << absl::StrFormat("%-32s %7s %7s %-9s %5s %-6s %-16s %s\n", "NAME",
                               "VERSION", "PRIMARY", "ORIGIN", "BYTES", "CHECK",
                               "OBJECT-ID", "SENSITIVE/EXTRACTABLE/MODIFIABLE");
  for (const auto& [name, key] : catalog->keys) {
    for (const keys::KeyVersionEntry& version : key.versions) {
      const hsm::SecretKeyInfo& o = version.object;
      std::string origin = !o.local.has_value() ? "?"
                           : *o.local           ? "generated"
                                                : "imported";
      std::string bytes =
          o.value_len.has_value() ? absl::StrCat(*o.value_len) : "?";
      std::cout << absl::StrFormat(
          "%-32s %7d %7s %-9s %5s %-6s %-16s %s/%s/%s\n", name, version.version,
          version.version == key.primary_version ? "*" : "", origin, bytes,
          Hex(o.check_value), Hex(o.id), YesNo(o.sensitive),
          YesNo(o.extractable), YesNo(o.modifiable));
    }
  }
  for (const std::string& label : catalog->ambiguous_labels) {
    std::cerr << "idsign: warning: several objects are labelled \"" << label
              << "\"; that version is ignored until the duplicates are "
                 "removed\n";
  }
  if (catalog->keys.empty()) {
    std::cerr << "idsign: no keys on token \""
              << access->token->description().label
              << "\"; add one with idsign key import\n";
  }
  return kExitOk;
}

}  // namespace

void AddKeyCommands(CLI::App* app, Action* action) {
  CLI::App* key = app->add_subcommand(
      "key", "administer keys straight on the token (no server needed)");
  key->require_subcommand(1);

  auto import_flags = std::make_shared<ImportFlags>();
  CLI::App* import =
      key->add_subcommand("import", "import a vendor secret as a new key");
  import->footer(
      "Import a vendor secret as version 1 of a new key. The secret is the "
      "file's exact bytes, minus one trailing newline. The key object is "
      "sensitive, non-extractable, non-modifiable and can only sign and "
      "verify. A secret shorter than the token's minimum HMAC key size is "
      "zero-padded, which leaves HMAC-SHA256 results unchanged (RFC 2104). "
      "An existing name is never overwritten. Prints the check value and "
      "the openssl command that reproduces it.");
  AddTokenFlags(import, &import_flags->token);
  import
      ->add_option("--name", import_flags->name,
                   "logical key name, e.g. intercom/web/prod")
      ->required();
  import
      ->add_option("--secret-file", import_flags->secret_file,
                   "file holding the vendor secret")
      ->required();
  import->callback([=] { *action = [=] { return Import(*import_flags);
};
}  // namespace idsign::cli
);

auto generate_flags = std::make_shared<GenerateFlags>();
CLI::App* generate = key->add_subcommand(
    "generate",
    "Generate a random key inside the token (CKM_GENERIC_SECRET_KEY_GEN) "
    "as version 1 of a new key. Its value never leaves the token. For "
    "schemes of your own; vendor secrets must be imported.");
AddTokenFlags(generate, &generate_flags->token);
generate->add_option("--name", generate_flags->name, "logical key name")
    ->required();
generate->add_option("--bytes", generate_flags->bytes, "key length in bytes")
    ->capture_default_str();
generate->callback([=] {
  *action = [=] { return Generate(*generate_flags); };
});

auto list_flags = std::make_shared<TokenFlags>();
CLI::App* list = key->add_subcommand(
    "list",
    "List the keys on the token: one line per version with origin "
    "(imported or generated in the token), stored size, check value, "
    "object id and protection attributes.");
AddTokenFlags(list, list_flags.get());
list->callback([=] { *action = [=] { return List(*list_flags); }; });
}

}  // namespace idsign::cli
