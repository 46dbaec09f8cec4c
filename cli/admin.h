// What the key-administration commands share: token flags plus the audit
// log they record lifecycle events in, and who the administrator is.
//
// Thread safety: main thread only. Ownership: none.
#ifndef IDSIGN_CLI_ADMIN_H_
#define IDSIGN_CLI_ADMIN_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cli/common.h"
#include "hsm/token.h"

namespace idsign::cli {

struct AdminFlags {
  TokenFlags token;
  std::string audit_log;  // empty: no audit record
};
void AddAdminFlags(CLI::App* command, AdminFlags* flags);

// "user@host" of the person running the CLI, recorded as created_by and in
// audit records.
std::string Actor();

struct LifecycleEvent {
  std::string operation;  // e.g. "key.rotate"
  std::string key;
  std::vector<uint32_t> versions;
  std::map<std::string, std::string> details;
};

// Appends `event` with its outcome to --audit-log, if one was given.
// Returns kExitOk, or kExitFailed after printing why the record could not be
// written.
int RecordLifecycle(const AdminFlags& flags, hsm::Token& token,
                    const LifecycleEvent& event, const absl::Status& outcome);

// Subcommands of `idsign key`.
void AddKeyCreateCommands(CLI::App* key, Action* action);
void AddKeyStateCommands(CLI::App* key, Action* action);

}  // namespace idsign::cli

#endif  // IDSIGN_CLI_ADMIN_H_
