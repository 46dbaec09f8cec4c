// Caller identity: who made an RPC, as the audit record names it.
//
// A caller that presented a verified client certificate (mutual TLS) is
// named by the certificate: its first URI SAN (e.g. a SPIFFE id), else its
// first DNS SAN, else its subject CN. Any other caller is named by its peer
// address as gRPC reports it ("ipv4:127.0.0.1:5000", "unix:/run/...").
//
// Thread safety: stateless functions. Ownership: none; results are copies.
#ifndef IDSIGN_SERVICE_CALLER_IDENTITY_H_
#define IDSIGN_SERVICE_CALLER_IDENTITY_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "grpcpp/security/auth_context.h"
#include "grpcpp/server_context.h"

namespace idsign::service {

// The names a verified client certificate carries, in certificate order.
struct PeerCertificateNames {
  std::vector<std::string> uris;
  std::vector<std::string> dns_names;
  std::string common_name;
};

// The identity the certificate names (URI SAN, then DNS SAN, then CN); empty
// if it names none.
std::string IdentityFromCertificate(const PeerCertificateNames& names);

// The certificate names of an authenticated TLS peer; all empty when the
// peer presented no verified certificate.
PeerCertificateNames CertificateNamesOf(const grpc::AuthContext& auth);

// The identity of `context`'s verified client certificate; empty when the
// caller presented none (plaintext, or TLS without a client certificate).
std::string AuthenticatedIdentity(const grpc::ServerContextBase& context);

// The caller of `context`'s RPC: the certificate identity if there is one,
// otherwise the peer address.
std::string CallerIdentity(const grpc::ServerContextBase& context);

}  // namespace idsign::service

#endif  // IDSIGN_SERVICE_CALLER_IDENTITY_H_
