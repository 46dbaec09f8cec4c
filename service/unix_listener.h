// UnixListener: idsignd's own listening unix socket for plaintext gRPC, so
// that each caller is known by the uid the kernel reports for it.
//
// gRPC 1.51 does not expose a unix peer's credentials, so idsignd accepts
// the connections itself: it reads SO_PEERCRED from each accepted socket,
// records the uid under the socket's descriptor number, and hands the socket
// to the grpc::Server (grpc::AddInsecureChannelFromFd). gRPC names such a
// connection's calls by that number ("fd:12"); UnixPeerIdentity() maps the
// name back to "uid:1000".
//
// Why the mapping cannot confuse two connections: a descriptor number is
// reused only after gRPC closes the descriptor, and gRPC 1.51 keeps it open
// until every call on the connection is done, even after the client has
// gone (tests/integration/service/unix_identity_test.cc checks this). A call
// therefore always finds the uid of its own connection, and a reused number
// is re-recorded before gRPC sees the new connection.
//
// The socket file: a stale file left by a dead server is replaced; a socket
// another server still accepts on is refused (UNAVAILABLE). The file gets
// `mode` before it accepts anything, and is removed by Stop() if it is still
// the one this listener made.
//
// Thread safety: Start() and Stop() from one thread; UnixPeerIdentity()
// from any. Ownership: owns the listening socket and its accept thread; each
// accepted socket belongs to the grpc::Server.
#ifndef IDSIGN_SERVICE_UNIX_LISTENER_H_
#define IDSIGN_SERVICE_UNIX_LISTENER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/server.h"

namespace idsign::service {

// Removes a stale socket file at `path` so that it can be bound again.
// UNAVAILABLE if a server still accepts connections there.
absl::Status ClearStaleUnixSocket(const std::string& path);

class UnixListener {
 public:
  // Binds `path` and listens; `mode` is the socket file's permission bits.
  static absl::StatusOr<std::unique_ptr<UnixListener>> Listen(
      const std::string& path, mode_t mode);
  ~UnixListener();

  UnixListener(const UnixListener&) = delete;
  UnixListener& operator=(const UnixListener&) = delete;

  // Starts handing accepted connections to `server`, which must be started
  // and must outlive Stop().
  void Start(grpc::Server* server);
  // Stops accepting and removes the socket file. Established connections
  // stay with the server.
  void Stop();

 private:
  UnixListener() = default;
  void AcceptLoop(grpc::Server* server);

  std::string path_;
  int fd_ = -1;
  int wake_[2] = {-1, -1};  // a pipe; writing to it ends AcceptLoop
  dev_t device_ = 0;
  ino_t inode_ = 0;
  std::thread thread_;
};

// "uid:N" if `peer` (a call's peer string) names a connection a UnixListener
// accepted; "" otherwise.
std::string UnixPeerIdentity(absl::string_view peer);

}  // namespace idsign::service

#endif  // IDSIGN_SERVICE_UNIX_LISTENER_H_
