#include "cli/admin.h"

#include <pwd.h>
#include <unistd.h>

#include <iostream>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "service/audit/file_audit_log.h"

namespace idsign::cli {

void AddAdminFlags(CLI::App* command, AdminFlags* flags) {
  AddTokenFlags(command, &flags->token);
  command->add_option("--audit-log", flags->audit_log,
                      "audit log to record this change in (the file idsignd "
                      "writes with --audit-log)");
}

std::string Actor() {
  std::string user = "uid" + std::to_string(geteuid());
  if (const passwd* pw = getpwuid(geteuid()); pw != nullptr) {
    user = pw->pw_name;
  }
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return absl::StrCat(user, "@", host[0] != '\0' ? host : "unknown-host");
}

int RecordLifecycle(const AdminFlags& flags, hsm::Token& token,
                    const LifecycleEvent& event, const absl::Status& outcome) {
  if (flags.audit_log.empty()) return kExitOk;
  audit::Record record;
  static absl::BitGen bitgen;
  record.request_id =
      absl::StrFormat("cli-%016x", absl::Uniform<uint64_t>(bitgen));
  record.caller = Actor();
  record.operation = event.operation;
  record.key = event.key;
  record.versions = event.versions;
  record.outcome = outcome.code();
  record.items = 1;
  record.failed_items = outcome.ok() ? 0 : 1;
  record.details = event.details;
  absl::Status written = audit::AppendNow(flags.audit_log, token, record);
  if (!written.ok()) {
    std::cerr << "idsign: the change was "
              << (outcome.ok() ? "made" : "not made")
              << " but could not be recorded in " << flags.audit_log << ": "
              << written.message() << "\n";
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace idsign::cli
