// Caller identity: who made an RPC, as the audit record names it.
//
// A caller that presented a verified client certificate (mutual TLS) is
// named by the certificate: its first URI SAN (e.g. a SPIFFE id), else its
// first DNS SAN, else its subject CN. A caller on idsignd's plaintext unix
// socket is named by the uid the kernel reports for it ("uid:1000", see
// unix_listener.h). Both are authenticated identities, which the caller
// policy and the rate limits use. Any other caller has none and is named
// by its peer address as gRPC reports it ("ipv4:127.0.0.1:5000").
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

// The identity of `context`'s verified client certificate, or of its unix
// socket peer; empty when the caller has neither (plaintext TCP, or TLS
// without a client certificate).
std::string AuthenticatedIdentity(const grpc::ServerContextBase& context);

// True when `context`'s call came over TLS (gRPC's transport security type
// "ssl"), false for plaintext.
bool IsTlsCall(const grpc::ServerContextBase& context);

// The caller of `context`'s RPC: the authenticated identity if there is
// one, otherwise the peer address.
std::string CallerIdentity(const grpc::ServerContextBase& context);

}  // namespace idsign::service

#endif  // IDSIGN_SERVICE_CALLER_IDENTITY_H_
