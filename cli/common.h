// Pieces every idsign command shares: the token flags and how to open the
// token they name, the server flags and how to connect, and error reporting
// with the CLI's exit codes.
//
// Thread safety: used on the main thread only. Ownership: TokenAccess owns
// the loaded module and the logged-in token.
#ifndef IDSIGN_CLI_COMMON_H_
#define IDSIGN_CLI_COMMON_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/status.h"
#include "hsm/module.h"
#include "hsm/token.h"

namespace idsign::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitInvalid = 1;  // verify: the hash did not match
inline constexpr int kExitUsage = 2;    // bad flags or input
inline constexpr int kExitFailed = 3;   // the server or the token failed

// The command a parse selected; set by the subcommand's callback.
using Action = std::function<int()>;

struct TokenFlags {
  std::string module = IDSIGN_DEFAULT_PKCS11_MODULE;
  std::string token;
  std::string pin_file;
};
void AddTokenFlags(CLI::App* command, TokenFlags* flags);

struct TokenAccess {
  std::shared_ptr<hsm::Module> module;
  std::unique_ptr<hsm::Token> token;  // declared last: destroyed first
};

// Reads the PIN file, loads the module and logs in. The PIN is wiped as soon
// as the login is done.
absl::StatusOr<TokenAccess> OpenToken(const TokenFlags& flags, bool read_write);

struct ServerFlags {
  std::string server = "127.0.0.1:50051";
  std::string timeout = "10s";
  // TLS: with a CA the channel uses TLS; cert and key add a client
  // certificate; server_name overrides the name checked in the server's
  // certificate.
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_server_name;
};
void AddServerFlags(CLI::App* command, ServerFlags* flags);

// A channel to --server: plaintext, or TLS with --tls-ca. INVALID_ARGUMENT
// for inconsistent TLS flags or an unreadable file.
absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(
    const ServerFlags& flags);
// The call deadline from --timeout; InvalidArgument if it does not parse.
absl::StatusOr<absl::Time> Deadline(const ServerFlags& flags);

// Print "idsign: ..." to stderr and return the matching exit code.
int ReportError(const absl::Status& status);
int ReportRpcError(const grpc::Status& status);
int UsageError(absl::string_view message);

// Registers the subcommands; each sets *action when selected.
void AddKeyCommands(CLI::App* app, Action* action);
void AddCustodyCommands(CLI::App* app, Action* action);
void AddAuditCommands(CLI::App* app, Action* action);
void AddClientCommands(CLI::App* app, Action* action);
void AddJwtCommands(CLI::App* app, Action* action);
void AddRolloutCommands(CLI::App* app, Action* action);

// Parses argv, runs the selected command and returns the exit code.
int RunIdsign(int argc, char** argv);

}  // namespace idsign::cli

#endif  // IDSIGN_CLI_COMMON_H_
