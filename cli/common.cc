#include "cli/common.h"

#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "cli/admin.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "hsm/log.h"
#include "hsm/process.h"
#include "hsm/secret.h"
#include "hsm/status_macros.h"

namespace idsign::cli {

void AddTokenFlags(CLI::App* command, TokenFlags* flags) {
  command
      ->add_option("--pkcs11-module", flags->module,
                   "PKCS#11 module (.so) of the HSM")
      ->capture_default_str();
  command
      ->add_option("--token", flags->token,
                   "token label, or a pkcs11: URI (RFC 7512) naming it")
      ->required();
  command
      ->add_option("--pin-file", flags->pin_file,
                   "file holding the token user PIN (one trailing newline "
                   "ignored)")
      ->required();
}

absl::StatusOr<TokenAccess> OpenToken(const TokenFlags& flags,
                                      bool read_write) {
  ASSIGN_OR_RETURN(hsm::SecretBytes pin, hsm::ReadPinFile(flags.pin_file));
  TokenAccess access;
  ASSIGN_OR_RETURN(access.module, hsm::Module::Load(flags.module));
  hsm::TokenOptions options;
  options.read_write = read_write;
  options.pool_size = 1;
  ASSIGN_OR_RETURN(access.token,
                   hsm::Token::Open(access.module, flags.token, pin, options));
  return access;
}

void AddServerFlags(CLI::App* command, ServerFlags* flags) {
  command
      ->add_option("--server", flags->server,
                   "idsignd address: host:port or unix:/path")
      ->capture_default_str();
  command
      ->add_option("--timeout", flags->timeout,
                   "deadline of each call, e.g. 500ms, 10s")
      ->capture_default_str();
  command->add_option("--tls-ca", flags->tls_ca,
                      "connect with TLS, trusting this PEM CA bundle for the "
                      "server's certificate");
  command->add_option("--tls-cert", flags->tls_cert,
                      "PEM client certificate for mutual TLS (needs "
                      "--tls-key and --tls-ca)");
  command->add_option("--tls-key", flags->tls_key,
                      "PEM private key of --tls-cert");
  command->add_option("--tls-server-name", flags->tls_server_name,
                      "name to check in the server's certificate instead of "
                      "the --server host");
}

namespace {

absl::StatusOr<std::string> ReadPem(absl::string_view flag,
                                    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  if (in) text << in.rdbuf();
  if (!in || text.str().find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, "=", path, ": cannot read a PEM file from that path"));
  }
  return text.str();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(
    const ServerFlags& flags) {
  const bool tls = !flags.tls_ca.empty();
  if (flags.tls_cert.empty() != flags.tls_key.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert and --tls-key go together: give both or neither");
  }
  if (!tls && (!flags.tls_cert.empty() || !flags.tls_server_name.empty())) {
    return absl::InvalidArgumentError(
        "--tls-cert, --tls-key and --tls-server-name need --tls-ca (the CA "
        "that issued the server's certificate)");
  }
  if (!tls) {
    return grpc::CreateChannel(flags.server,
                               grpc::InsecureChannelCredentials());
  }
  grpc::SslCredentialsOptions options;
  ASSIGN_OR_RETURN(options.pem_root_certs, ReadPem("--tls-ca", flags.tls_ca));
  if (!flags.tls_cert.empty()) {
    ASSIGN_OR_RETURN(options.pem_cert_chain,
                     ReadPem("--tls-cert", flags.tls_cert));
    ASSIGN_OR_RETURN(options.pem_private_key,
                     ReadPem("--tls-key", flags.tls_key));
  }
  grpc::ChannelArguments arguments;
  if (!flags.tls_server_name.empty()) {
    arguments.SetSslTargetNameOverride(flags.tls_server_name);
  }
  return grpc::CreateCustomChannel(flags.server, grpc::SslCredentials(options),
                                   arguments);
}

absl::StatusOr<absl::Time> Deadline(const ServerFlags& flags) {
  absl::Duration timeout;
  if (!absl::ParseDuration(flags.timeout, &timeout) ||
      timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--timeout must be a positive duration such as 500ms or 10s");
  }
  return absl::Now() + timeout;
}

int ReportError(const absl::Status& status) {
  std::cerr << "idsign: " << status.message() << "\n";
  return status.code() == absl::StatusCode::kInvalidArgument ? kExitUsage
                                                             : kExitFailed;
}

int ReportRpcError(const grpc::Status& status) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  const int code = status.error_code();
  std::cerr << "idsign: "
            << (code >= 0 && code <= 16 ? kNames[code] : "UNKNOWN") << ": "
            << status.error_message() << "\n";
  return code == grpc::StatusCode::INVALID_ARGUMENT ? kExitUsage : kExitFailed;
}

int UsageError(absl::string_view message) {
  std::cerr << "idsign: " << message << "\n";
  return kExitUsage;
}

int RunIdsign(int argc, char** argv) {
  CLI::App app{
      "idsign: administer HSM-held signing keys, check custody and audit "
      "logs, and call idsignd.\n"
      "Exit codes: 0 ok, 1 verify found the hash invalid, 2 bad usage or "
      "input, 3 the server or token failed.",
      "idsign"};
  app.require_subcommand(1);
  // Options of a parent command may also follow the subcommand.
  app.fallthrough();
  std::string log_level = "warning";
  app.add_option("--log-level", log_level,
                 "debug, info, warning or error (log lines go to stderr)")
      ->capture_default_str();
  Action action;
  AddKeyCommands(&app, &action);
  AddCustodyCommands(&app, &action);
  AddAuditCommands(&app, &action);
  AddClientCommands(&app, &action);
  AddJwtCommands(&app, &action);
  AddRolloutCommands(&app, &action);
  // CLI11 would only say that a subcommand is required.
  bool known = argc < 2 || argv[1][0] == '-';
  for (const CLI::App* command : app.get_subcommands({})) {
    known = known || command->get_name() == argv[1];
  }
  if (!known) {
    std::cerr << "idsign: unknown command \"" << argv[1]
              << "\"; run idsign --help for the list\n";
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  // Key commands hold PINs and secrets in memory.
  (void)hsm::DisableCoreDumps();
  log::Level level;
  if (!log::ParseLevel(log_level, &level)) {
    return UsageError("--log-level must be debug, info, warning or error");
  }
  log::SetMinLevel(level);
  return action ? action() : UsageError("no command given; see idsign --help");
}

}  // namespace idsign::cli

namespace idsign::cli {

void AddKeyCommands(CLI::App* app, Action* action) {
  CLI::App* key = app->add_subcommand(
      "key", "administer keys straight on the token (no server needed)");
  key->require_subcommand(1);
  AddKeyCreateCommands(key, action);
  AddKeyStateCommands(key, action);
}

}  // namespace idsign::cli
