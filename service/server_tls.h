// TLS for idsignd's gRPC port: the --tls-cert, --tls-key and --client-ca
// files, checked at start-up and turned into server credentials.
//
// The credentials serve TLS 1.2 or later (gRPC's TLS stack refuses older
// versions) and re-read the three files every `refresh` so a renewed
// certificate, key or client CA takes effect without a restart. With a
// client CA, every client must present a certificate that chains to it
// (mutual TLS).
//
// Thread safety: stateless functions. Ownership: the returned credentials
// are shared with the caller; they keep their own file watcher.
#ifndef IDSIGN_SERVICE_SERVER_TLS_H_
#define IDSIGN_SERVICE_SERVER_TLS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/security/server_credentials.h"

namespace idsign::service {

struct TlsFiles {
  std::string cert;       // PEM certificate chain, leaf first
  std::string key;        // PEM private key of the leaf
  std::string client_ca;  // PEM CA bundle for client certificates; "" = none
  absl::Duration refresh = absl::Seconds(30);

  bool enabled() const { return !cert.empty() || !key.empty(); }
};

// OK when no TLS flag is given, or when --tls-cert and --tls-key are both
// given; INVALID_ARGUMENT naming the missing flag otherwise.
absl::Status CheckTlsFlags(const TlsFiles& files);

// Checks the flags and that every named file is readable PEM
// (INVALID_ARGUMENT, naming the file, if not), then builds the credentials.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerTls(
    const TlsFiles& files);

}  // namespace idsign::service

#endif  // IDSIGN_SERVICE_SERVER_TLS_H_
