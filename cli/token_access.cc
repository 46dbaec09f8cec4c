#include "cli/token_access.h"

#include <iostream>

#include "absl/flags/flag.h"
#include "cli/command.h"
#include "cli/flags.h"
#include "hsm/secret.h"
#include "hsm/status_macros.h"

namespace idsign::cli {

absl::StatusOr<TokenAccess> OpenTokenFromFlags(bool read_write) {
  if (absl::GetFlag(FLAGS_token).empty()) {
    return absl::InvalidArgumentError(
        "--token is required (a token label or a pkcs11: URI)");
  }
  if (absl::GetFlag(FLAGS_pin_file).empty()) {
    return absl::InvalidArgumentError("--pin-file is required");
  }
  ASSIGN_OR_RETURN(
      hsm::SecretBytes pin,
      hsm::ReadSecretFile(absl::GetFlag(FLAGS_pin_file), "PIN file"));
  TokenAccess access;
  ASSIGN_OR_RETURN(access.module,
                   hsm::Module::Load(absl::GetFlag(FLAGS_pkcs11_module)));
  hsm::TokenOptions options;
  options.read_write = read_write;
  options.pool_size = 1;
  ASSIGN_OR_RETURN(access.token,
                   hsm::Token::Open(access.module, absl::GetFlag(FLAGS_token),
                                    pin, options));
  return access;
}

int ReportError(const absl::Status& status) {
  std::cerr << "idsign: " << status.message() << "\n";
  return status.code() == absl::StatusCode::kInvalidArgument ? kExitUsage
                                                             : kExitFailed;
}

}  // namespace idsign::cli
