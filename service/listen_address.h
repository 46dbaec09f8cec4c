// Parsing and checking of --listen addresses.
//
// Accepted forms: "host:port" (IPv4, "[IPv6]", or "localhost") and
// "unix:/absolute/path". Plaintext gRPC is allowed only on loopback
// addresses and unix sockets; anything else is refused with a message saying
// TLS is required.
//
// Thread safety: stateless. Ownership: none.
#ifndef IDSIGN_SERVICE_LISTEN_ADDRESS_H_
#define IDSIGN_SERVICE_LISTEN_ADDRESS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace idsign::service {

struct ListenAddress {
  std::string grpc_uri;  // what grpc::ServerBuilder::AddListeningPort takes
  bool is_unix = false;
  bool is_loopback = false;
  std::string unix_path;  // for unix sockets
};

// INVALID_ARGUMENT for a malformed address.
absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view text);

// OK if plaintext may be served on `address`; FAILED_PRECONDITION otherwise.
absl::Status CheckPlaintextAllowed(const ListenAddress& address);

}  // namespace idsign::service

#endif  // IDSIGN_SERVICE_LISTEN_ADDRESS_H_
