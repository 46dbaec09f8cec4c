#include "tests/e2e/idsignd_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "tests/testing/softhsm_token.h"

namespace idsign::e2e {

using ::idsign::testing::TestToken;

std::vector<std::string> TokenFlags() {
  TestToken& token = TestToken::Get();
  return {"--token=" + token.label(), "--pin-file=" + token.pin_file(),
          "--pkcs11-module=" + TestToken::module_path()};
}

RunResult RunIdsign(const std::vector<std::string>& args,
                    const std::string& stdin_text) {
  std::vector<std::string> argv = {TestToken::IdsignPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, stdin_text);
}

RunResult ImportKey(const std::string& name, const std::string& secret) {
  const std::string secret_file = ScratchPath("secret");
  {
    std::ofstream out(secret_file, std::ios::binary);
    out << secret;
  }
  std::vector<std::string> args = {"key", "import", "--name=" + name,
                                   "--secret-file=" + secret_file};
  for (const std::string& flag : TokenFlags()) args.push_back(flag);
  RunResult result = RunIdsign(args);
  ::unlink(secret_file.c_str());
  return result;
}

int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  return port;
}

std::unique_ptr<IdsigndProcess> IdsigndProcess::Start(
    const std::string& listen, const std::vector<std::string>& extra_flags,
    std::string* error) {
  std::unique_ptr<IdsigndProcess> server(new IdsigndProcess());
  SpawnOptions options;
  options.argv = {TestToken::IdsigndPath(), "--listen=" + listen};
  const bool own_module = std::any_of(
      extra_flags.begin(), extra_flags.end(), [](const std::string& flag) {
        return absl::StartsWith(flag, "--pkcs11-module=");
      });
  for (const std::string& flag : TokenFlags()) {
    if (own_module && absl::StartsWith(flag, "--pkcs11-module=")) continue;
    options.argv.push_back(flag);
  }
  options.argv.insert(options.argv.end(), extra_flags.begin(),
                      extra_flags.end());
  options.stdout_path = ScratchPath("idsignd-stdout");
  options.stderr_path = ScratchPath("idsignd-log");
  server->stderr_path_ = options.stderr_path;
  server->process_ = Subprocess::Spawn(options, error);
  if (server->process_ == nullptr) return nullptr;
  server->target_ = listen;
  return server;
}

::testing::AssertionResult IdsigndProcess::WaitUntilServing(
    std::chrono::milliseconds deadline) {
  const auto give_up = std::chrono::steady_clock::now() + deadline;
  // First wait for idsignd to say it listens: a connection that reaches the
  // socket while the server is still starting may get no HTTP/2 SETTINGS for
  // seconds, and its health check would wait that long.
  while (log().find(" INFO listening ") == std::string::npos) {
    if (std::optional<int> status = process_->WaitFor(std::chrono::seconds(0));
        status.has_value()) {
      return ::testing::AssertionFailure()
             << "idsignd ended (" << DescribeWaitStatus(*status)
             << ") before listening; log:\n"
             << log();
    }
    if (std::chrono::steady_clock::now() >= give_up) {
      return ::testing::AssertionFailure() << "idsignd not listening within "
                                           << deadline.count() << " ms; log:\n"
                                           << log();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  // A channel of its own, closed on return: an idle connection left open
  // would hold up idsignd's shutdown (see the header).
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 20);
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 100);
  if (!server_name_.empty()) arguments.SetSslTargetNameOverride(server_name_);
  auto stub = grpc::health::v1::Health::NewStub(grpc::CreateCustomChannel(
      target_,
      credentials_ != nullptr ? credentials_
                              : grpc::InsecureChannelCredentials(),
      arguments));
  std::string last;
  while (std::chrono::steady_clock::now() < give_up) {
    if (std::optional<int> status = process_->WaitFor(std::chrono::seconds(0));
        status.has_value()) {
      return ::testing::AssertionFailure()
             << "idsignd ended (" << DescribeWaitStatus(*status)
             << ") before serving; log:\n"
             << log();
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(500));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = stub->Check(&context, request, &response);
    if (status.ok() &&
        response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      return ::testing::AssertionSuccess();
    }
    last = status.ok() ? absl::StrCat("health status ", response.status())
                       : status.error_message();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return ::testing::AssertionFailure()
         << "idsignd on " << target_ << " not SERVING within "
         << deadline.count() << " ms (last: " << last << "); log:\n"
         << log();
}

std::optional<int> IdsigndProcess::StopWith(int signal,
                                            std::chrono::milliseconds timeout) {
  process_->Signal(signal);
  return process_->WaitFor(timeout);
}

}  // namespace idsign::e2e
