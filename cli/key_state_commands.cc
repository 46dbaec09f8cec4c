// idsign key list | promote | set-min-verify | rollout | disable | enable |
// destroy.
#include <functional>
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/admin.h"
#include "cli/common.h"
#include "service/key_report.h"
#include "service/keys/key_admin.h"
#include "service/rollout.h"

namespace idsign::cli {
namespace {

std::string StateName(v1::KeyVersionState state) {
  switch (state) {
    case v1::KEY_VERSION_STATE_ENABLED:
      return "enabled";
    case v1::KEY_VERSION_STATE_DISABLED:
      return "disabled";
    case v1::KEY_VERSION_STATE_DESTROYED:
      return "destroyed";
    default:
      return "unknown";
  }
}

std::string OriginName(v1::KeyOrigin origin) {
  switch (origin) {
    case v1::KEY_ORIGIN_IMPORTED:
      return "imported";
    case v1::KEY_ORIGIN_GENERATED:
      return "generated";
    default:
      return "?";
  }
}

int List(const TokenFlags& flags) {
  auto access = OpenToken(flags, /*read_write=*/false);
  if (!access.ok()) return ReportError(access.status());
  auto catalog = keys::ReadCatalog(*access->token);
  if (!catalog.ok()) return ReportError(catalog.status());
  std::vector<keys::KeyEntry> entries;
  for (const auto& [name, key] : catalog->keys) entries.push_back(key);
  v1::ListKeysResponse report =
      service::BuildKeyReport(entries, access->token->description());
  std::cout << absl::StrFormat(
      "%-28s %4s %-3s %-9s %-9s %5s %-6s %-16s %-12s %s\n", "NAME", "VER",
      "PRI", "STATE", "ORIGIN", "BYTES", "CHECK", "OBJECT-ID", "SCHEME",
      "POLICY");
  for (const v1::Key& key : report.keys()) {
    for (const v1::KeyVersion& v : key.versions()) {
      std::string policy = v.policy().allowed()
                               ? "ok"
                               : absl::StrJoin(v.policy().reasons(), "; ");
      std::cout << absl::StrFormat(
          "%-28s %4d %-3s %-9s %-9s %5d %-6s %-16s %-12s %s\n", key.name(),
          v.version(), v.primary() ? "*" : "", StateName(v.state()),
          OriginName(v.origin()), v.size_bytes(), v.check_value(),
          v.object_id(), v.scheme().empty() ? "?" : v.scheme(), policy);
      if (v.weak()) {
        std::cout << absl::StrFormat("%-28s WEAK v%d: %s\n", "", v.version(),
                                     absl::StrJoin(v.weaknesses(), "; "));
      }
    }
    std::cout << absl::StrFormat(
        "%-28s min verify version %d, rollout %s%s\n", "",
        key.min_verify_version(), service::RolloutModeName(key.rollout_mode()),
        key.problem().empty() ? ""
                              : absl::StrCat("; REFUSED: ", key.problem()));
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

struct VersionFlags {
  AdminFlags admin;
  std::string name;
  uint32_t version = 0;
  bool confirm = false;
};

using VersionChange = std::function<absl::Status(hsm::Token&, absl::string_view,
                                                 uint32_t, absl::string_view)>;

int Change(const VersionFlags& flags, const char* operation,
           const VersionChange& change, const char* done) {
  auto access = OpenToken(flags.admin.token, /*read_write=*/true);
  if (!access.ok()) return ReportError(access.status());
  absl::Status status =
      change(*access->token, flags.name, flags.version, Actor());
  int audit_exit =
      RecordLifecycle(flags.admin, *access->token,
                      {operation, flags.name, {flags.version}, {}}, status);
  if (!status.ok()) return ReportError(status);
  std::cout << "key \"" << flags.name << "\" version " << flags.version << " "
            << done << "\n";
  return audit_exit;
}

struct RolloutFlags {
  AdminFlags admin;
  std::string name;
  std::string mode;
};

int Rollout(const RolloutFlags& flags) {
  const keys::RolloutMode mode = flags.mode == "monitor"
                                     ? keys::RolloutMode::kMonitor
                                     : keys::RolloutMode::kEnforce;
  auto access = OpenToken(flags.admin.token, /*read_write=*/true);
  if (!access.ok()) return ReportError(access.status());
  absl::Status status =
      keys::SetRolloutMode(*access->token, flags.name, mode, Actor());
  int audit_exit = RecordLifecycle(
      flags.admin, *access->token,
      {"key.rollout", flags.name, {}, {{"mode", flags.mode}}}, status);
  if (!status.ok()) return ReportError(status);
  std::cout << "key \"" << flags.name << "\" rollout mode is now " << flags.mode
            << "\n";
  return audit_exit;
}

void AddRolloutCommand(CLI::App* key, Action* action) {
  auto flags = std::make_shared<RolloutFlags>();
  CLI::App* command = key->add_subcommand(
      "rollout", "set a key's verification rollout mode (monitor, enforce)");
  command->footer(
      "Set how verifiers treat an invalid or missing user_hash or JWT for key "
      "NAME. monitor: count the failures (GetRolloutStatus) and deny "
      "nothing, to see what enforcement would break; enforce: deny them. "
      "A key whose mode was never set enforces. The mode is kept in the "
      "key's sealed ring, so every idsignd sharing the token picks it up at "
      "its next reload (SIGHUP or --reload-interval).");
  AddAdminFlags(command, &flags->admin);
  command->add_option("--name", flags->name, "logical key name")->required();
  command->add_option("--mode", flags->mode, "monitor or enforce")
      ->required()
      ->check(CLI::IsMember({"monitor", "enforce"}));
  command->callback([=] { *action = [=] { return Rollout(*flags); }; });
}

void AddVersionCommand(CLI::App* key, Action* action, const char* name,
                       const char* summary, const char* footer,
                       const char* operation, VersionChange change,
                       const char* done, bool needs_confirm = false) {
  auto flags = std::make_shared<VersionFlags>();
  CLI::App* command = key->add_subcommand(name, summary);
  command->footer(footer);
  AddAdminFlags(command, &flags->admin);
  command->add_option("--name", flags->name, "logical key name")->required();
  command->add_option("--version", flags->version, "key version")
      ->required()
      ->check(CLI::PositiveNumber);
  if (needs_confirm) {
    command->add_flag("--confirm", flags->confirm,
                      "confirm that the key material is to be destroyed");
  }
  command->callback([=] {
    *action = [=] {
      if (needs_confirm && !flags->confirm) {
        return UsageError(
            "destroying a key version cannot be undone; add --confirm");
      }
      return Change(*flags, operation, change, done);
    };
  });
}

}  // namespace

void AddKeyStateCommands(CLI::App* key, Action* action) {
  auto list_flags = std::make_shared<TokenFlags>();
  CLI::App* list =
      key->add_subcommand("list", "list keys, versions, states and policy");
  list->footer(
      "List the keys on the token: one line per version with its state "
      "(enabled, disabled, destroyed), whether it is primary, origin "
      "(imported or generated in the token), stored size, check value, "
      "object id, scheme (hmac-sha256 or legacy-sha1) and the custody "
      "policy's verdict, plus a WEAK line saying why for a weak version; "
      "then each key's minimum verify version and rollout mode, and why a "
      "key is refused if it is.");
  AddTokenFlags(list, list_flags.get());
  list->callback([=] { *action = [=] { return List(*list_flags); }; });

  AddVersionCommand(
      key, action, "promote", "make a version the one that signs",
      "Make VERSION the primary version: Sign and BatchSign use it from the "
      "next reload of every idsignd sharing the token. It must be enabled, "
      "allowed by the custody policy and not below the minimum verify "
      "version.",
      "key.promote", keys::PromoteVersion, "is now primary");
  AddVersionCommand(
      key, action, "set-min-verify", "set the oldest version Verify accepts",
      "Verify accepts enabled versions at or above VERSION. It cannot exceed "
      "the primary version.",
      "key.set_min_verify", keys::SetMinVerifyVersion,
      "is now the minimum verify version");
  AddRolloutCommand(key, action);
  AddVersionCommand(
      key, action, "disable", "stop a version from signing and verifying",
      "A disabled version neither signs nor verifies; its key object stays "
      "in the token. The primary version cannot be disabled.",
      "key.disable", keys::DisableVersion, "is disabled");
  AddVersionCommand(key, action, "enable", "re-enable a disabled version",
                    "Undo `idsign key disable`.", "key.enable",
                    keys::EnableVersion, "is enabled");
  AddVersionCommand(
      key, action, "destroy", "destroy a version's key object (--confirm)",
      "Destroy the version's key object in the token (C_DestroyObject) and "
      "record the version as destroyed. Cannot be undone; refused for the "
      "primary version. Requires --confirm.",
      "key.destroy", keys::DestroyVersion, "is destroyed", true);
}

}  // namespace idsign::cli
