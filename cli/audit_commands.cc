// idsign audit init | verify: the audit key and audit log checks.
#include <iostream>
#include <memory>

#include "cli/common.h"
#include "service/audit/audit_key.h"
#include "service/audit/verify.h"

namespace idsign::cli {
namespace {

int Init(const TokenFlags& flags) {
  auto access = OpenToken(flags, /*read_write=*/true);
  if (!access.ok()) return ReportError(access.status());
  absl::Status status = audit::EnsureAuditKey(*access->token);
  if (!status.ok()) return ReportError(status);
  std::cout << "audit key " << audit::kAuditKeyLabel
            << " is present on token \"" << access->token->description().label
            << "\"\n";
  return kExitOk;
}

struct VerifyFlags {
  TokenFlags token;
  std::string path;
};

int Verify(const VerifyFlags& flags) {
  auto access = OpenToken(flags.token, /*read_write=*/false);
  if (!access.ok()) return ReportError(access.status());
  auto report = audit::VerifyAuditLog(flags.path, *access->token);
  if (!report.ok()) return ReportError(report.status());
  std::cout << audit::FormatVerifyReport(*report) << "\n";
  return report->intact() ? kExitOk : kExitInvalid;
}

}  // namespace

void AddAuditCommands(CLI::App* app, Action* action) {
  CLI::App* audit_cmd =
      app->add_subcommand("audit", "the audit key and the audit log");
  audit_cmd->require_subcommand(1);

  auto init_flags = std::make_shared<TokenFlags>();
  CLI::App* init = audit_cmd->add_subcommand(
      "init", "create the token's audit key (once per token)");
  init->footer(
      "Generate the HMAC key that seals audit checkpoints ("
      "idsign-system:audit-mac:v1) inside the token, if it is not there "
      "yet. idsignd --audit-log and idsign audit verify need it.");
  AddTokenFlags(init, init_flags.get());
  init->callback([=] { *action = [=] { return Init(*init_flags); }; });

  auto verify_flags = std::make_shared<VerifyFlags>();
  CLI::App* verify =
      audit_cmd->add_subcommand("verify", "check an audit log's chain");
  verify->footer(
      "Check every line's hash chain and sequence number, and every "
      "checkpoint's HMAC inside the token. Exits 0 when the log is intact, "
      "1 naming the first bad line and why (edited, deleted or swapped "
      "lines, a forged checkpoint), 2 or 3 when the check cannot run. "
      "Records after the last checkpoint are reported as not yet sealed.");
  AddTokenFlags(verify, &verify_flags->token);
  verify->add_option("path", verify_flags->path, "the audit log file")
      ->required();
  verify->callback([=] { *action = [=] { return Verify(*verify_flags); }; });
}

}  // namespace idsign::cli
