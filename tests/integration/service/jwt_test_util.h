// Helpers for the JWT integration tests: tokens built and checked outside
// idsign, with OpenSSL's HMAC as the oracle and Debian's python3-jwt as an
// independent JWT implementation.
//
// Thread safety: stateless. Ownership: none.
#ifndef IDSIGN_TESTS_INTEGRATION_SERVICE_JWT_TEST_UTIL_H_
#define IDSIGN_TESTS_INTEGRATION_SERVICE_JWT_TEST_UTIL_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace idsign::service::testing {

std::string B64Url(absl::string_view bytes);
std::string B64UrlDecode(absl::string_view text);

// b64url(header) "." b64url(payload) "." b64url(HMAC-SHA256(secret, ...)),
// the MAC computed by OpenSSL.
std::string OracleJwt(absl::string_view secret, absl::string_view header,
                      absl::string_view payload);

// The three segments of a compact JWS.
std::vector<std::string> Segments(absl::string_view jwt);

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs python3 (Debian's, with python3-jwt) with `script` and `args`; the
// arguments are passed through argv, never through a shell.
CommandResult RunPython(const std::string& script,
                        const std::vector<std::string>& args);

}  // namespace idsign::service::testing

#endif  // IDSIGN_TESTS_INTEGRATION_SERVICE_JWT_TEST_UTIL_H_
