// UnixListener with a real grpc::Server: each call is named by the uid of
// its own connection, the name stays with a call whose client has gone
// (gRPC keeps the descriptor open until the call is done, which the mapping
// relies on), and the socket file gets its mode, replaces a stale file,
// refuses a live one and is removed on Stop().
#include "service/unix_listener.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/create_channel_posix.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/server_builder.h"
#include "tests/testing/softhsm_token.h"

namespace idsign::service {
namespace {

using ::testing::HasSubstr;

// Holds every call open until Release(); remembers each call's peer and the
// identity the peer maps to while the call runs.
class HoldingService : public grpc::CallbackGenericService {
 public:
  struct Call : grpc::ServerGenericBidiReactor {
    explicit Call(HoldingService* owner) : owner(owner) {}
    void OnCancel() override {
      absl::MutexLock lock(&owner->mu_);
      cancelled = true;
    }
    void OnDone() override {
      absl::MutexLock lock(&owner->mu_);
      done = true;
    }
    HoldingService* owner;
    std::string peer;
    bool cancelled = false;
    bool done = false;
  };

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back(std::make_unique<Call>(this));
    calls_.back()->peer = context->peer();
    return calls_.back().get();
  }

  // Waits for the n-th call (0-based) to arrive; null after 20 s.
  Call* WaitForCall(size_t n) {
    absl::MutexLock lock(&mu_);
    auto arrived = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return calls_.size() > n;
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&arrived), absl::Seconds(20))) {
      return nullptr;
    }
    return calls_[n].get();
  }
  bool WaitUntil(const bool* flag) {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(flag), absl::Seconds(20));
  }

 private:
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Call>> calls_ ABSL_GUARDED_BY(mu_);
};

std::string SocketPath(const std::string& stem) {
  return idsign::testing::TestToken::Get().dir() + "/" + stem + ".sock";
}

int Connect(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
      0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A client connection whose socket the test can cut. The channel takes `fd`;
// `cut_` is a second descriptor of the same socket.
struct Client {
  explicit Client(const std::string& path) {
    const int fd = Connect(path);
    if (fd < 0) return;
    cut_ = ::dup(fd);
    ::fcntl(fd, F_SETFL, O_NONBLOCK);
    channel = grpc::CreateInsecureChannelFromFd("idsignd", fd);
    stub = std::make_unique<grpc::GenericStub>(channel);
  }
  ~Client() {
    if (cut_ >= 0) ::close(cut_);
  }
  void Call() {
    grpc::Slice slice("x", 1);
    request = grpc::ByteBuffer(&slice, 1);
    stub->UnaryCall(&context, "/test.Hold/Call", grpc::StubOptions(), &request,
                    &response, [](grpc::Status) {});
  }
  // Kills the connection as a crashed client would.
  void Cut() {
    ::shutdown(cut_, SHUT_RDWR);
    ::close(cut_);
    cut_ = -1;
  }
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::GenericStub> stub;
  grpc::ClientContext context;
  grpc::ByteBuffer request, response;
  int cut_ = -1;
};

int FdOf(const std::string& peer) {
  int fd = -1;
  if (peer.rfind("fd:", 0) == 0) absl::SimpleAtoi(peer.substr(3), &fd);
  return fd;
}

TEST(UnixListenerTest, CallsAreNamedByTheirConnectionsUid) {
  const std::string path = SocketPath("identity");
  auto listener = UnixListener::Listen(path, 0600);
  ASSERT_TRUE(listener.ok()) << listener.status();
  HoldingService service;
  grpc::ServerBuilder builder;
  builder.RegisterCallbackGenericService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  (*listener)->Start(server.get());
  const std::string me = absl::StrCat("uid:", ::getuid());

  auto first = std::make_unique<Client>(path);
  ASSERT_NE(first->stub, nullptr);
  first->Call();
  HoldingService::Call* held = service.WaitForCall(0);
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(UnixPeerIdentity(held->peer), me) << held->peer;
  const int held_fd = FdOf(held->peer);
  ASSERT_GE(held_fd, 0) << held->peer;

  // The client dies while its call is still running: the call keeps its
  // descriptor, so a new connection cannot take over its number.
  first->Cut();
  ASSERT_TRUE(service.WaitUntil(&held->cancelled));
  EXPECT_NE(::fcntl(held_fd, F_GETFD), -1);
  Client second(path);
  second.Call();
  HoldingService::Call* next = service.WaitForCall(1);
  ASSERT_NE(next, nullptr);
  EXPECT_NE(next->peer, held->peer);
  EXPECT_EQ(UnixPeerIdentity(next->peer), me);
  EXPECT_EQ(UnixPeerIdentity(held->peer), me);

  // Not names of ours.
  EXPECT_EQ(UnixPeerIdentity("ipv4:127.0.0.1:5000"), "");
  EXPECT_EQ(UnixPeerIdentity("unix:/tmp/x"), "");
  EXPECT_EQ(UnixPeerIdentity("fd:"), "");
  EXPECT_EQ(UnixPeerIdentity("fd:999999"), "");

  held->Finish(grpc::Status::OK);
  next->Finish(grpc::Status::OK);
  ASSERT_TRUE(service.WaitUntil(&held->done));
  ASSERT_TRUE(service.WaitUntil(&next->done));
  (*listener)->Stop();
  server->Shutdown();
}

TEST(UnixListenerTest, SocketFileHasItsModeAndIsRemovedOnStop) {
  const std::string path = SocketPath("mode");
  auto listener = UnixListener::Listen(path, 0660);
  ASSERT_TRUE(listener.ok()) << listener.status();
  struct stat status;
  ASSERT_EQ(::stat(path.c_str(), &status), 0);
  EXPECT_TRUE(S_ISSOCK(status.st_mode));
  EXPECT_EQ(status.st_mode & 07777, 0660u);
  (*listener)->Stop();
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(UnixListenerTest, ReplacesAStaleSocketAndRefusesALiveOne) {
  const std::string path = SocketPath("stale");
  {
    // A socket file nobody accepts on, as a killed server leaves it.
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_EQ(
        ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    ::close(fd);
  }
  ASSERT_TRUE(std::filesystem::exists(path));
  auto listener = UnixListener::Listen(path, 0600);
  ASSERT_TRUE(listener.ok()) << listener.status();

  auto second = UnixListener::Listen(path, 0600);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(second.status().message()),
              HasSubstr("another server is accepting connections"));
  // The refused listener left the live one's file alone.
  EXPECT_TRUE(std::filesystem::exists(path));
  const int probe = Connect(path);
  EXPECT_GE(probe, 0);
  if (probe >= 0) ::close(probe);
}

}  // namespace
}  // namespace idsign::service
