// OpenSSL's libcrypto as the test oracle: expected MACs and digests are
// computed here, independently of the token, and compared with what idsign
// returns.
#ifndef IDSIGN_TESTS_TESTING_ORACLE_H_
#define IDSIGN_TESTS_TESTING_ORACLE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace idsign::testing {

// Raw 32-byte HMAC-SHA256(key, data).
std::string OpenSslHmacSha256(absl::string_view key, absl::string_view data);
// Lowercase hex of the above: OpenSSL::HMAC.hexdigest('sha256', key, data).
std::string OpenSslHmacSha256Hex(absl::string_view key, absl::string_view data);
// Raw 20-byte SHA-1(data).
std::string OpenSslSha1(absl::string_view data);

}  // namespace idsign::testing

#endif  // IDSIGN_TESTS_TESTING_ORACLE_H_
