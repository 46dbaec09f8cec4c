// Helpers for end-to-end tests of the built binaries on the test token:
// running `idsign` with the token's flags, and IdsigndProcess, an idsignd
// child whose readiness is read from grpc.health.v1.
//
// Thread safety: an IdsigndProcess is driven by one thread. Ownership:
// IdsigndProcess owns the child and kills it (SIGKILL) on destruction if it is
// still running.
#ifndef IDSIGN_TESTS_E2E_IDSIGND_PROCESS_H_
#define IDSIGN_TESTS_E2E_IDSIGND_PROCESS_H_

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "grpcpp/security/credentials.h"
#include "tests/e2e/subprocess.h"

namespace idsign::e2e {

// --token, --pin-file and --pkcs11-module for the test token.
std::vector<std::string> TokenFlags();

// Runs the idsign binary with `args`.
RunResult RunIdsign(const std::vector<std::string>& args,
                    const std::string& stdin_text = "");

// Writes `secret` to a scratch file and imports it as key `name`.
RunResult ImportKey(const std::string& name, const std::string& secret);

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreeLoopbackPort();

class IdsigndProcess {
 public:
  // Starts idsignd on the test token, listening on `listen`, with
  // `extra_flags` appended; a --pkcs11-module= among them replaces the test
  // token's module (e.g. with the fault shim in front of it). nullptr
  // (reason in *error) if it cannot spawn.
  static std::unique_ptr<IdsigndProcess> Start(
      const std::string& listen, const std::vector<std::string>& extra_flags,
      std::string* error);

  // Waits for idsignd's "listening" log line, then polls grpc.health.v1
  // Check until the server reports SERVING. Fails if the process ends or
  // `deadline` passes first. The connection it used is closed on return: a
  // gRPC C++ client does not read from an idle connection (no call, no
  // polling thread), so it would not answer idsignd's GOAWAY at shutdown,
  // and idsignd would wait out its --shutdown-grace.
  ::testing::AssertionResult WaitUntilServing(
      std::chrono::milliseconds deadline = std::chrono::seconds(30));

  // The gRPC target clients use ("unix:/path" or "127.0.0.1:port"); the
  // --listen address unless set here (e.g. when listening on 0.0.0.0).
  const std::string& target() const { return target_; }
  void set_target(const std::string& target) { target_ = target; }

  // How WaitUntilServing connects: plaintext unless set. A non-empty
  // `server_name` overrides the name checked in the server's certificate.
  void set_channel_credentials(
      std::shared_ptr<grpc::ChannelCredentials> credentials,
      const std::string& server_name = "") {
    credentials_ = std::move(credentials);
    server_name_ = server_name;
  }
  Subprocess& process() { return *process_; }

  // Everything idsignd wrote to stderr (its log) so far.
  std::string log() const { return ReadFileOrEmpty(stderr_path_); }

  // Sends `signal` and waits at most `timeout` for the process to end.
  // Returns its wait status, or nullopt if it is still running.
  std::optional<int> StopWith(int signal, std::chrono::milliseconds timeout);

 private:
  IdsigndProcess() = default;

  std::unique_ptr<Subprocess> process_;
  std::string target_;
  std::string stderr_path_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
  std::string server_name_;
};

}  // namespace idsign::e2e

#endif  // IDSIGN_TESTS_E2E_IDSIGND_PROCESS_H_
