// idsign custody report: the key custody report, straight from the token.
#include <iostream>
#include <memory>

#include "absl/strings/str_join.h"
#include "cli/common.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "service/key_report.h"
#include "service/keys/key_admin.h"
#include "service/rollout.h"

namespace idsign::cli {
namespace {

struct ReportFlags {
  TokenFlags token;
  bool json = false;
};

const char* Flag(bool has, bool value) {
  if (!has) return "not reported";
  return value ? "true" : "false";
}

void PrintText(const v1::ListKeysResponse& report) {
  const v1::TokenInfo& t = report.token();
  std::cout << "token: " << t.label()
            << "\n  manufacturer: " << t.manufacturer()
            << "\n  model: " << t.model() << "\n  serial: " << t.serial()
            << "\n  firmware: " << t.firmware() << "\n";
  for (const v1::Key& key : report.keys()) {
    std::cout << "\nkey " << key.name() << ": primary v"
              << key.primary_version() << ", min verify v"
              << key.min_verify_version() << ", "
              << (key.usable() ? "usable" : "NOT USABLE")
              << ", ring generation " << key.ring_generation() << ", rollout "
              << service::RolloutModeName(key.rollout_mode()) << "\n";
    if (!key.problem().empty())
      std::cout << "  refused: " << key.problem() << "\n";
    for (const v1::KeyVersion& v : key.versions()) {
      const v1::KeyAttributes& a = v.attributes();
      std::cout
          << "  v" << v.version() << (v.primary() ? " (primary)" : "") << ": "
          << v1::KeyVersionState_Name(v.state()) << ", "
          << v1::KeyOrigin_Name(v.origin()) << ", " << v.key_type() << ", "
          << v.size_bytes() << " bytes, check " << v.check_value()
          << ", scheme " << v.scheme() << "\n"
          << "    created "
          << (v.has_created_at()
                  ? google::protobuf::util::TimeUtil::ToString(v.created_at())
                  : "unknown")
          << " by " << (v.created_by().empty() ? "unknown" : v.created_by())
          << "\n    SENSITIVE=" << Flag(a.has_sensitive(), a.sensitive())
          << " ALWAYS_SENSITIVE="
          << Flag(a.has_always_sensitive(), a.always_sensitive())
          << " EXTRACTABLE=" << Flag(a.has_extractable(), a.extractable())
          << " NEVER_EXTRACTABLE="
          << Flag(a.has_never_extractable(), a.never_extractable())
          << " MODIFIABLE=" << Flag(a.has_modifiable(), a.modifiable())
          << "\n    usages: " << absl::StrJoin(v.usages(), ", ")
          << (v.weak() ? "\n    WEAK: " + absl::StrJoin(v.weaknesses(), "; ")
                       : "")
          << "\n    policy: "
          << (v.policy().allowed()
                  ? "allowed"
                  : "REFUSED: " + absl::StrJoin(v.policy().reasons(), "; "))
          << "\n";
    }
  }
}

int Report(const ReportFlags& flags) {
  auto access = OpenToken(flags.token, /*read_write=*/false);
  if (!access.ok()) return ReportError(access.status());
  auto catalog = keys::ReadCatalog(*access->token);
  if (!catalog.ok()) return ReportError(catalog.status());
  std::vector<keys::KeyEntry> entries;
  for (const auto& [name, key] : catalog->keys) entries.push_back(key);
  v1::ListKeysResponse report =
      service::BuildKeyReport(entries, access->token->description());
  if (!flags.json) {
    PrintText(report);
    return kExitOk;
  }
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  options.add_whitespace = true;
  std::string json;
  auto status =
      google::protobuf::util::MessageToJsonString(report, &json, options);
  if (!status.ok()) {
    return ReportError(absl::InternalError(status.message().as_string()));
  }
  std::cout << json;
  return kExitOk;
}

}  // namespace

void AddCustodyCommands(CLI::App* app, Action* action) {
  CLI::App* custody =
      app->add_subcommand("custody", "key custody evidence for auditors");
  custody->require_subcommand(1);
  auto flags = std::make_shared<ReportFlags>();
  CLI::App* report = custody->add_subcommand(
      "report", "report every key version's custody attributes");
  report->footer(
      "Reads the token directly and reports, for each key version: state, "
      "origin (generated in the token or imported: CKA_LOCAL), key type and "
      "size, SENSITIVE, ALWAYS_SENSITIVE, EXTRACTABLE, NEVER_EXTRACTABLE, "
      "MODIFIABLE, usages, check value, created_at, created_by, scheme, "
      "whether the version is weak and why (legacy-sha1: plain SHA-1 of "
      "secret || data, open to length extension; a secret under 32 bytes) "
      "and the custody policy's verdict; each key's rollout mode (monitor "
      "or enforce); and the token's manufacturer, model, serial and "
      "firmware. --json prints the idsign.v1.ListKeysResponse message in "
      "protobuf's JSON mapping with the proto field names (the same data "
      "ListKeys returns; see docs/key-custody.md).");
  AddTokenFlags(report, &flags->token);
  report->add_flag("--json", flags->json, "print JSON");
  report->callback([=] { *action = [=] { return Report(*flags); }; });
}

}  // namespace idsign::cli
