// Opening the token named by the shared token flags, for key commands.
//
// Thread safety: not thread-safe; used on the main thread. Ownership: the
// returned TokenAccess owns the module and the logged-in token.
#ifndef IDSIGN_CLI_TOKEN_ACCESS_H_
#define IDSIGN_CLI_TOKEN_ACCESS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "hsm/module.h"
#include "hsm/token.h"

namespace idsign::cli {

struct TokenAccess {
  std::shared_ptr<hsm::Module> module;
  std::unique_ptr<hsm::Token> token;  // destroyed before the module
};

// Reads --pin-file, loads --pkcs11-module and logs in to --token. The PIN is
// wiped as soon as the login is done.
absl::StatusOr<TokenAccess> OpenTokenFromFlags(bool read_write);

// Prints "idsign: <message>" to stderr and returns the exit code for it.
int ReportError(const absl::Status& status);

}  // namespace idsign::cli

#endif  // IDSIGN_CLI_TOKEN_ACCESS_H_
