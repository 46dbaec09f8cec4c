#include "service/unix_listener.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/server_posix.h"
#include "hsm/log.h"

namespace idsign::service {
namespace {

// The uid of each connection handed to gRPC, by descriptor number.
class PeerUids {
 public:
  void Record(int fd, uid_t uid) {
    absl::MutexLock lock(&mu_);
    uids_[fd] = uid;
  }
  bool Find(int fd, uid_t* uid) const {
    absl::MutexLock lock(&mu_);
    auto it = uids_.find(fd);
    if (it == uids_.end()) return false;
    *uid = it->second;
    return true;
  }

 private:
  mutable absl::Mutex mu_;
  // At most one entry per descriptor number, so bounded by the fd limit.
  absl::flat_hash_map<int, uid_t> uids_ ABSL_GUARDED_BY(mu_);
};

PeerUids& Uids() {
  static PeerUids* const uids = new PeerUids();  // never destroyed
  return *uids;
}

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(absl::StrCat(
      "cannot listen on unix:", path, ": ", what, ": ", std::strerror(errno)));
}

bool FillAddress(const std::string& path, sockaddr_un* address) {
  *address = {};
  address->sun_family = AF_UNIX;
  if (path.size() >= sizeof(address->sun_path)) return false;
  std::memcpy(address->sun_path, path.c_str(), path.size() + 1);
  return true;
}

}  // namespace

absl::Status ClearStaleUnixSocket(const std::string& path) {
  sockaddr_un address;
  if (!FillAddress(path, &address)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unix:", path, ": the path is longer than ",
                     sizeof(address.sun_path) - 1, " bytes"));
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket", path);
  const bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&address),
                              sizeof(address)) == 0;
  ::close(fd);
  // Taking over a live server's path would strand it.
  if (live) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on unix:", path,
                     ": another server is accepting connections on that "
                     "socket"));
  }
  struct stat status;
  if (::lstat(path.c_str(), &status) == 0 && S_ISSOCK(status.st_mode)) {
    ::unlink(path.c_str());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<UnixListener>> UnixListener::Listen(
    const std::string& path, mode_t mode) {
  if (absl::Status cleared = ClearStaleUnixSocket(path); !cleared.ok()) {
    return cleared;
  }
  sockaddr_un address;
  FillAddress(path, &address);
  std::unique_ptr<UnixListener> listener(new UnixListener());
  listener->path_ = path;
  listener->fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener->fd_ < 0) return Errno("socket", path);
  if (::bind(listener->fd_, reinterpret_cast<sockaddr*>(&address),
             sizeof(address)) != 0) {
    return Errno("bind", path);
  }
  struct stat status;
  // The mode is set before listen(): until then a connect is refused, so no
  // caller gets in under the umask's permissions.
  if (::chmod(path.c_str(), mode) != 0 || ::stat(path.c_str(), &status) != 0) {
    const absl::Status error = Errno("chmod", path);
    ::unlink(path.c_str());
    return error;
  }
  listener->device_ = status.st_dev;
  listener->inode_ = status.st_ino;
  if (::listen(listener->fd_, SOMAXCONN) != 0) {
    const absl::Status error = Errno("listen", path);
    ::unlink(path.c_str());
    return error;
  }
  if (::pipe2(listener->wake_, O_CLOEXEC) != 0) return Errno("pipe", path);
  return listener;
}

UnixListener::~UnixListener() {
  Stop();
  for (int fd : {fd_, wake_[0], wake_[1]}) {
    if (fd >= 0) ::close(fd);
  }
}

void UnixListener::Start(grpc::Server* server) {
  thread_ = std::thread([this, server] { AcceptLoop(server); });
}

void UnixListener::Stop() {
  if (thread_.joinable()) {
    const char stop = 0;
    while (::write(wake_[1], &stop, 1) < 0 && errno == EINTR) {
    }
    thread_.join();
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
    // Another server may have replaced the file since; leave that one.
    struct stat status;
    if (::lstat(path_.c_str(), &status) == 0 && status.st_dev == device_ &&
        status.st_ino == inode_) {
      ::unlink(path_.c_str());
    }
  }
}

void UnixListener::AcceptLoop(grpc::Server* server) {
  while (true) {
    pollfd fds[2] = {{.fd = fd_, .events = POLLIN, .revents = 0},
                     {.fd = wake_[0], .events = POLLIN, .revents = 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      log::Error(
          "unix_accept_failed",
          absl::StrCat("call=poll reason=", log::Quote(std::strerror(errno))));
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    const int fd =
        ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED) continue;
      log::Error("unix_accept_failed",
                 absl::StrCat("call=accept reason=",
                              log::Quote(std::strerror(errno))));
      // Out of descriptors: wait rather than spin, or until stopped.
      pollfd wake = {.fd = wake_[0], .events = POLLIN, .revents = 0};
      if (::poll(&wake, 1, 100) > 0) return;
      continue;
    }
    ucred peer{};
    socklen_t length = sizeof(peer);
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0) {
      log::Error("unix_peer_unknown",
                 absl::StrCat("action=close reason=",
                              log::Quote(std::strerror(errno))));
      ::close(fd);
      continue;
    }
    // Recorded before gRPC can see the connection (see the header).
    Uids().Record(fd, peer.uid);
    grpc::AddInsecureChannelFromFd(server, fd);
  }
}

std::string UnixPeerIdentity(absl::string_view peer) {
  int fd = -1;
  uid_t uid = 0;
  if (!absl::ConsumePrefix(&peer, "fd:") || !absl::SimpleAtoi(peer, &fd) ||
      !Uids().Find(fd, &uid)) {
    return "";
  }
  return absl::StrCat("uid:", uid);
}

}  // namespace idsign::service
