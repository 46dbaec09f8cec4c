// Helpers for the commands that call a running idsignd: one unary call with
// the --server, --timeout and TLS flags, the identity and encoding flags the
// signing commands share, and how a verification decision is shown.
//
// Thread safety: used on the main thread only. Ownership: none; arguments
// are borrowed for the call.
#ifndef IDSIGN_CLI_SIGNER_CALL_H_
#define IDSIGN_CLI_SIGNER_CALL_H_

#include <memory>
#include <optional>
#include <string>

#include "cli/common.h"
#include "idsign/v1/signer.grpc.pb.h"

namespace idsign::cli {

struct IdentityFlags {
  ServerFlags server;
  std::string key;
  std::string user_id;
  std::string email;
};

// --server and TLS flags, --key, --user-id and --email. With
// `exclusive_identity`, --user-id and --email exclude each other.
void AddIdentityFlags(CLI::App* command, IdentityFlags* flags,
                      bool exclusive_identity);

// Fills the identity; a usage error message if neither field was given.
std::string FillIdentity(const IdentityFlags& flags, v1::Identity* identity);

// --encoding=hex|base64url, stored in *name; EncodingNamed turns the
// checked name into the enum.
void AddEncodingFlag(CLI::App* command, std::string* name);
v1::Encoding EncodingNamed(const std::string& name);

// "decision: allow, monitor mode" and the like, for people.
std::string DecisionText(v1::Decision decision, v1::RolloutMode mode);

// Makes one unary call to idsignd. Returns the exit code to stop with, or
// nullopt on success.
template <typename Request, typename Response>
std::optional<int> CallSigner(
    const ServerFlags& server,
    grpc::Status (v1::Signer::Stub::*method)(grpc::ClientContext*,
                                             const Request&, Response*),
    const Request& request, Response* response) {
  absl::StatusOr<absl::Time> deadline = Deadline(server);
  if (!deadline.ok()) return ReportError(deadline.status());
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Connect(server);
  if (!channel.ok()) return ReportError(channel.status());
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(*deadline));
  auto stub = v1::Signer::NewStub(*channel);
  grpc::Status status = ((*stub).*method)(&context, request, response);
  if (!status.ok()) return ReportRpcError(status);
  return std::nullopt;
}

}  // namespace idsign::cli

#endif  // IDSIGN_CLI_SIGNER_CALL_H_
