// Server: the gRPC server that hosts SignerService, the standard health
// service (grpc.health.v1) and server reflection.
//
// Health reports NOT_SERVING until SetServing(true); idsignd calls it once
// the token is logged in and the keys are found.
//
// A plaintext unix socket is accepted by a UnixListener, so that its callers
// are known by uid (see unix_listener.h); TLS ports, unix or TCP, are
// gRPC's own, with certificates that ReloadTls() can replace.
//
// Thread safety: thread-safe. Ownership: owns the grpc::Server and the
// service; borrows the KeyStore, which must outlive the Server.
#ifndef IDSIGN_SERVICE_SERVER_H_
#define IDSIGN_SERVICE_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/server.h"
#include "service/identity.h"
#include "service/keys/key_store.h"
#include "service/server_tls.h"
#include "service/signer_service.h"
#include "service/token_workers.h"
#include "service/unix_listener.h"

namespace idsign::service {

struct ServerConfig {
  std::string listen = "127.0.0.1:50051";
  Limits limits;
  // Where Sign, BatchSign and Verify are recorded; null for none. Borrowed.
  audit::AuditLog* audit = nullptr;
  // With a certificate and key, the port serves TLS (mutual TLS with a
  // client CA) and may be any address; without, plaintext.
  TlsFiles tls;
  // Permission bits of a plaintext unix socket's file.
  mode_t unix_socket_mode = 0660;
  // Caller policy and load limits; off when null. Borrowed.
  CallGuards guards;
  // Threads for token work (see token_workers.h); 0 runs it inline on
  // gRPC's threads.
  uint32_t token_threads = 4;
};

class Server {
 public:
  // Checks the address (plaintext only on loopback or unix; TLS anywhere)
  // and the TLS files, binds and starts serving. FAILED_PRECONDITION for a
  // refused address, INVALID_ARGUMENT for bad TLS flags or files,
  // UNAVAILABLE when the port cannot be bound or a live server holds the
  // unix socket.
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

  // Re-reads the TLS files (see ServerTls::Reload); OK without TLS.
  absl::Status ReloadTls(absl::string_view trigger);

  // Stops accepting calls, lets in-flight calls finish for up to `grace`,
  // then cancels the rest. Returns when the server has stopped.
  void Shutdown(absl::Duration grace);

 private:
  Server() = default;

  // Declared before server_, so destroyed after it: gRPC's TLS port calls
  // into tls_, and the listener hands connections to server_.
  std::unique_ptr<ServerTls> tls_;
  // Destroyed after server_ (declared before it), once every call has its
  // answer.
  std::unique_ptr<TokenWorkers> workers_;
  std::unique_ptr<SignerService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<UnixListener> unix_listener_;
  int port_ = 0;
  std::string address_;
  bool shut_down_ = false;
};

}  // namespace idsign::service

#endif  // IDSIGN_SERVICE_SERVER_H_
