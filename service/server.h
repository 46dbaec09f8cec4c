// Server: the gRPC server that hosts SignerService, the standard health
// service (grpc.health.v1) and server reflection.
//
// Health reports NOT_SERVING until SetServing(true); idsignd calls it once
// the token is logged in and the keys are found.
//
// Thread safety: thread-safe. Ownership: owns the grpc::Server and the
// service; borrows the KeyStore, which must outlive the Server.
#ifndef IDSIGN_SERVICE_SERVER_H_
#define IDSIGN_SERVICE_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/server.h"
#include "service/identity.h"
#include "service/keys/key_store.h"
#include "service/server_tls.h"
#include "service/signer_service.h"

namespace idsign::service {

struct ServerConfig {
  std::string listen = "127.0.0.1:50051";
  Limits limits;
  // Where Sign, BatchSign and Verify are recorded; null for none. Borrowed.
  audit::AuditLog* audit = nullptr;
  // With a certificate and key, the port serves TLS (mutual TLS with a
  // client CA) and may be any address; without, plaintext.
  TlsFiles tls;
  // Caller policy and load limits; off when null. Borrowed.
  CallGuards guards;
};

class Server {
 public:
  // Checks the address (plaintext only on loopback or unix; TLS anywhere)
  // and the TLS files, binds and starts serving. FAILED_PRECONDITION for a
  // refused address, INVALID_ARGUMENT for bad TLS flags or files,
  // UNAVAILABLE when the port cannot be bound.
  static absl::StatusOr<std::unique_ptr<Server>> Start(
      const ServerConfig& config, keys::KeyStore* store);

  ~Server();

  // The bound TCP port (useful with port 0); 0 for unix sockets.
  int port() const { return port_; }
  const std::string& address() const { return address_; }

  // Health of "" and "idsign.v1.Signer".
  void SetServing(bool serving);
  // Health of "idsign.v1.Signer/<key>".
  void SetKeyServing(const std::string& key, bool serving);

  // Stops accepting calls, lets in-flight calls finish for up to `grace`,
  // then cancels the rest. Returns when the server has stopped.
  void Shutdown(absl::Duration grace);

 private:
  Server() = default;

  std::unique_ptr<SignerService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string address_;
  bool shut_down_ = false;
};

}  // namespace idsign::service

#endif  // IDSIGN_SERVICE_SERVER_H_
