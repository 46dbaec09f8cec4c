#include "service/caller_identity.h"

#include <memory>

#include "grpc/grpc_security_constants.h"
#include "service/unix_listener.h"

namespace idsign::service {
namespace {

std::vector<std::string> Values(const grpc::AuthContext& auth,
                                const char* name) {
  std::vector<std::string> values;
  for (const grpc::string_ref& value : auth.FindPropertyValues(name)) {
    if (!value.empty()) values.emplace_back(value.data(), value.size());
  }
  return values;
}

}  // namespace

std::string IdentityFromCertificate(const PeerCertificateNames& names) {
  if (!names.uris.empty()) return names.uris.front();
  if (!names.dns_names.empty()) return names.dns_names.front();
  return names.common_name;
}

PeerCertificateNames CertificateNamesOf(const grpc::AuthContext& auth) {
  PeerCertificateNames names;
  // Only a peer whose certificate chain was verified is authenticated; a
  // TLS peer without a client certificate has no identity property.
  if (!auth.IsPeerAuthenticated()) return names;
  // A single SPIFFE id is reported on its own; otherwise the URI SANs are.
  names.uris = Values(auth, GRPC_PEER_SPIFFE_ID_PROPERTY_NAME);
  if (names.uris.empty())
    names.uris = Values(auth, GRPC_PEER_URI_PROPERTY_NAME);
  names.dns_names = Values(auth, GRPC_PEER_DNS_PROPERTY_NAME);
  std::vector<std::string> cn = Values(auth, GRPC_X509_CN_PROPERTY_NAME);
  if (!cn.empty()) names.common_name = cn.front();
  return names;
}

std::string AuthenticatedIdentity(const grpc::ServerContextBase& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth != nullptr) {
    std::string identity = IdentityFromCertificate(CertificateNamesOf(*auth));
    if (!identity.empty()) return identity;
  }
  return UnixPeerIdentity(context.peer());
}

bool IsTlsCall(const grpc::ServerContextBase& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr) return false;
  for (const grpc::string_ref& type :
       auth->FindPropertyValues(GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME)) {
    if (type == "ssl") return true;
  }
  return false;
}

std::string CallerIdentity(const grpc::ServerContextBase& context) {
  std::string identity = AuthenticatedIdentity(context);
  if (!identity.empty()) return identity;
  return context.peer();
}

}  // namespace idsign::service
