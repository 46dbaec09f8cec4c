#include "service/listen_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace idsign::service {
namespace {

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    return std::memcmp(&v6, &in6addr_loopback, sizeof(v6)) == 0;
  }
  return false;
}

}  // namespace

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view text) {
  ListenAddress address;
  if (absl::StartsWith(text, "unix:")) {
    absl::string_view path = text.substr(5);
    if (absl::StartsWith(path, "//")) path.remove_prefix(2);
    if (path.empty() || path.front() != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("--listen=", text,
                       ": a unix socket needs an absolute path, e.g. "
                       "unix:/run/idsign/idsign.sock"));
    }
    address.is_unix = true;
    address.is_loopback = true;
    address.unix_path = std::string(path);
    address.grpc_uri = absl::StrCat("unix:", path);
    return address;
  }
  size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen=", text, ": expected host:port or unix:/path"));
  }
  absl::string_view host = text.substr(0, colon);
  absl::string_view port_text = text.substr(colon + 1);
  int port = 0;
  if (!absl::SimpleAtoi(port_text, &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--listen=", text, ": port must be a number from 0 to 65535"));
  }
  std::string bare_host(host);
  if (absl::StartsWith(host, "[") && absl::EndsWith(host, "]")) {
    bare_host = std::string(host.substr(1, host.size() - 2));
  } else if (host.find(':') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen=", text,
                     ": write IPv6 addresses in brackets, e.g. [::1]:", port));
  }
  if (bare_host.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen=", text, ": the host is missing"));
  }
  address.is_loopback = IsLoopbackHost(bare_host);
  address.grpc_uri = std::string(text);
  return address;
}

absl::Status CheckPlaintextAllowed(const ListenAddress& address) {
  if (address.is_unix || address.is_loopback) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "refusing to serve plaintext on ", address.grpc_uri,
      ": TLS is required on any address other than loopback (127.0.0.0/8, "
      "[::1], localhost) or a unix: socket; pass --tls-cert and --tls-key"));
}

}  // namespace idsign::service
