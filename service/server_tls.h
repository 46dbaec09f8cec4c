// TLS for idsignd's gRPC port: the --tls-cert, --tls-key and --client-ca
// files, checked at start-up, served, and reloaded without a restart.
//
// ServerTls serves TLS 1.2 or later (gRPC's TLS stack refuses older
// versions); with a client CA, every client must present a certificate that
// chains to it (mutual TLS). Reload() re-reads the three files; when they
// changed and pass the checks, connections accepted from then on use them,
// while established connections keep the set they were made with. A set
// that fails the checks (a file unreadable or not PEM, a key that does not
// match its certificate, a CA bundle gRPC cannot load) is refused, the
// reason is logged, and the last good set stays in force.
//
// How: the credentials are gRPC's SSL server credentials with a certificate
// config fetcher (grpc/grpc_security.h), which gRPC calls at every new
// connection; it hands over a new set only after Reload() has accepted it.
// A candidate set is checked by letting gRPC build its TLS context from it
// for a throwaway listener on an abstract unix socket, which is never
// started, so a set gRPC would refuse never reaches the serving port.
//
// Thread safety: thread-safe; Reload() may run on any thread while gRPC
// calls the fetcher. Ownership: the credentials refer to the ServerTls,
// which must outlive every grpc::Server built with them.
#ifndef IDSIGN_SERVICE_SERVER_TLS_H_
#define IDSIGN_SERVICE_SERVER_TLS_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "grpc/grpc_security.h"
#include "grpcpp/security/server_credentials.h"

namespace idsign::service {

struct TlsFiles {
  std::string cert;       // PEM certificate chain, leaf first
  std::string key;        // PEM private key of the leaf
  std::string client_ca;  // PEM CA bundle for client certificates; "" = none

  bool enabled() const { return !cert.empty() || !key.empty(); }
};

// OK when no TLS flag is given, or when --tls-cert and --tls-key are both
// given; INVALID_ARGUMENT naming the missing flag otherwise.
absl::Status CheckTlsFlags(const TlsFiles& files);

class ServerTls {
 public:
  // Checks the flags, reads the files and checks them as Reload() does;
  // INVALID_ARGUMENT naming the flag and file otherwise.
  static absl::StatusOr<std::unique_ptr<ServerTls>> Open(const TlsFiles& files);

  ~ServerTls();
  ServerTls(const ServerTls&) = delete;
  ServerTls& operator=(const ServerTls&) = delete;

  // Credentials for ServerBuilder::AddListeningPort, for one port only:
  // each accepted set is handed to gRPC once, at the port's next connection.
  std::shared_ptr<grpc::ServerCredentials> Credentials();

  // Re-reads the files. Unchanged files are a no-op. Changed files that
  // pass the checks are used for new connections and logged
  // (`tls_reloaded`); otherwise the last good set stays and the reason is
  // logged (`tls_reload_failed`; for the "interval" trigger once per
  // distinct broken content). Returns the reason a set was refused.
  absl::Status Reload(absl::string_view trigger);

  // How many sets have been accepted since Open(), the first included.
  int generation() const;

  bool mutual() const { return !files_.client_ca.empty(); }

 private:
  struct Material {
    std::string cert, key, client_ca;
    bool operator==(const Material&) const = default;
  };

  explicit ServerTls(TlsFiles files);

  absl::StatusOr<Material> ReadFiles() const;
  absl::Status Check(const Material& material) const;
  grpc_ssl_server_certificate_config* NewConfig(const Material& material) const;
  grpc_ssl_client_certificate_request_type RequestType() const;
  static grpc_ssl_certificate_config_reload_status Fetch(
      void* self, grpc_ssl_server_certificate_config** config);

  const TlsFiles files_;

  // Serializes Reload(); guards what it compares against.
  mutable absl::Mutex reload_mu_;
  Material current_ ABSL_GUARDED_BY(reload_mu_);
  std::optional<Material> refused_ ABSL_GUARDED_BY(reload_mu_);

  // What the fetcher hands gRPC at its next call.
  mutable absl::Mutex pending_mu_;
  std::optional<Material> pending_ ABSL_GUARDED_BY(pending_mu_);
  int generation_ ABSL_GUARDED_BY(pending_mu_) = 0;
};

}  // namespace idsign::service

#endif  // IDSIGN_SERVICE_SERVER_TLS_H_
