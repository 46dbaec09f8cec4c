#include "tests/e2e/unix_relay.h"

#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace idsign::e2e {
namespace {

bool FillAddress(const std::string& path, sockaddr_un* address) {
  std::memset(address, 0, sizeof(*address));
  address->sun_family = AF_UNIX;
  if (path.size() >= sizeof(address->sun_path)) return false;
  std::memcpy(address->sun_path, path.c_str(), path.size() + 1);
  return true;
}

int ConnectUnix(const std::string& path) {
  sockaddr_un address;
  if (!FillAddress(path, &address)) return -1;
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
      0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    // MSG_NOSIGNAL: a peer that went away must not raise SIGPIPE here.
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

std::unique_ptr<UnixRelay> UnixRelay::Start(const std::string& listen_path,
                                            const std::string& server_path,
                                            std::string* error) {
  sockaddr_un address;
  if (!FillAddress(listen_path, &address)) {
    *error = "socket path too long: " + listen_path;
    return nullptr;
  }
  std::unique_ptr<UnixRelay> relay(new UnixRelay());
  relay->server_path_ = server_path;
  relay->listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ::unlink(listen_path.c_str());
  if (relay->listen_fd_ < 0 ||
      ::bind(relay->listen_fd_, reinterpret_cast<sockaddr*>(&address),
             sizeof(address)) != 0 ||
      ::listen(relay->listen_fd_, 8) != 0) {
    *error = absl::StrCat("cannot listen on ", listen_path, ": ",
                          std::strerror(errno));
    return nullptr;  // the destructor closes the socket
  }
  relay->acceptor_ = std::thread([r = relay.get()] { r->AcceptLoop(); });
  return relay;
}

UnixRelay::~UnixRelay() {
  stopping_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> pumps;
  std::vector<int> fds;
  {
    absl::MutexLock lock(&mu_);
    // Unblocks the pumps' reads; they then end on their own.
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    pumps.swap(pumps_);
    fds.swap(fds_);
    server_fds_.clear();
  }
  for (std::thread& pump : pumps) pump.join();
  for (int fd : fds) ::close(fd);
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

uint64_t UnixRelay::unread_by_server() const {
  absl::MutexLock lock(&mu_);
  uint64_t total = 0;
  for (int fd : server_fds_) {
    int pending = 0;
    if (::ioctl(fd, SIOCOUTQ, &pending) == 0 && pending > 0) total += pending;
  }
  return total;
}

void UnixRelay::AcceptLoop() {
  while (!stopping_) {
    pollfd ready = {listen_fd_, POLLIN, 0};
    if (::poll(&ready, 1, 50) <= 0) continue;
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    const int server = ConnectUnix(server_path_);
    if (server < 0) {
      ::close(client);
      continue;
    }
    absl::MutexLock lock(&mu_);
    fds_.push_back(client);
    fds_.push_back(server);
    server_fds_.push_back(server);
    pumps_.emplace_back(
        [this, client, server] { Pump(client, server, &to_server_); });
    pumps_.emplace_back(
        [this, client, server] { Pump(server, client, &to_client_); });
  }
}

void UnixRelay::Pump(int from, int to, std::atomic<uint64_t>* counter) {
  char buffer[64 * 1024];
  while (true) {
    const ssize_t n = ::read(from, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (!WriteAll(to, buffer, static_cast<size_t>(n))) break;
    counter->fetch_add(static_cast<uint64_t>(n));
  }
  ::shutdown(to, SHUT_WR);
}

}  // namespace idsign::e2e
