// idsignd start-up refusals: addresses that would need TLS, and bad token
// credentials. Each must end the process with a non-zero status and a clear
// message, without ever serving.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/e2e/idsignd_process.h"
#include "tests/e2e/subprocess.h"
#include "tests/testing/softhsm_token.h"

namespace idsign::e2e {
namespace {

using ::idsign::testing::TestToken;
using ::testing::HasSubstr;
using ::testing::Not;

class StartupTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A key, so that a server that did start would report SERVING.
    RunResult imported = ImportKey("startup/web/prod", std::string(32, 's'));
    ASSERT_EQ(imported.exit_code, 0) << imported.Describe();
  }

  // A refused start ends at once; a server that starts anyway is killed
  // at the timeout.
  static RunResult RunIdsignd(const std::vector<std::string>& flags) {
    std::vector<std::string> argv = {TestToken::IdsigndPath()};
    argv.insert(argv.end(), flags.begin(), flags.end());
    return RunProcess(argv, "", std::chrono::seconds(20));
  }

  static std::vector<std::string> WithTokenFlags(
      std::vector<std::string> flags) {
    for (const std::string& flag : TokenFlags()) flags.push_back(flag);
    return flags;
  }

  static void ExpectNeverServed(const RunResult& result) {
    EXPECT_FALSE(result.timed_out) << result.Describe();
    // A non-zero exit status, not death by a signal (exit_code -1).
    EXPECT_GT(result.exit_code, 0) << result.Describe();
    EXPECT_THAT(result.stderr_text, Not(HasSubstr("INFO listening")))
        << result.Describe();
    EXPECT_THAT(result.stderr_text, Not(HasSubstr("INFO ready")))
        << result.Describe();
  }
};

TEST_F(StartupTest, RefusesPlaintextOnAllInterfaces) {
  RunResult result = RunIdsignd(WithTokenFlags({"--listen=0.0.0.0:0"}));
  ExpectNeverServed(result);
  EXPECT_THAT(result.stderr_text, HasSubstr("TLS")) << result.Describe();
}

TEST_F(StartupTest, RefusesPlaintextOnNonLoopbackAddress) {
  RunResult result = RunIdsignd(WithTokenFlags({"--listen=192.0.2.1:1"}));
  ExpectNeverServed(result);
  EXPECT_THAT(result.stderr_text, HasSubstr("TLS")) << result.Describe();
  EXPECT_THAT(result.stderr_text, HasSubstr("192.0.2.1")) << result.Describe();
}

TEST_F(StartupTest, MissingPinFileFlagIsRefused) {
  RunResult result =
      RunIdsignd({"--listen=127.0.0.1:0", "--token=" + TestToken::Get().label(),
                  "--pkcs11-module=" + TestToken::module_path()});
  ExpectNeverServed(result);
  EXPECT_THAT(result.stderr_text, HasSubstr("--pin-file")) << result.Describe();
}

TEST_F(StartupTest, UnreadablePinFileIsRefused) {
  RunResult result =
      RunIdsignd({"--listen=127.0.0.1:0", "--token=" + TestToken::Get().label(),
                  "--pin-file=/nonexistent/user.pin",
                  "--pkcs11-module=" + TestToken::module_path()});
  ExpectNeverServed(result);
  EXPECT_THAT(result.stderr_text, HasSubstr("/nonexistent/user.pin"))
      << result.Describe();
}

TEST_F(StartupTest, PinFileReadableByOthersIsRefused) {
  const std::string pin_file =
      TestToken::Get().WriteFile("shared.pin", TestToken::Get().pin() + "\n");
  ASSERT_EQ(::chmod(pin_file.c_str(), 0644), 0);
  RunResult result =
      RunIdsignd({"--listen=127.0.0.1:0", "--token=" + TestToken::Get().label(),
                  "--pin-file=" + pin_file,
                  "--pkcs11-module=" + TestToken::module_path()});
  ExpectNeverServed(result);
  EXPECT_THAT(result.stderr_text, HasSubstr("chmod 600")) << result.Describe();
  EXPECT_THAT(result.stderr_text, Not(HasSubstr(TestToken::Get().pin())))
      << result.Describe();
}

TEST_F(StartupTest, WrongPinIsRefusedWithoutEchoingIt) {
  const std::string wrong_pin = "wrong-pin-5150";
  const std::string pin_file =
      TestToken::Get().WriteFile("wrong.pin", wrong_pin + "\n");
  RunResult result =
      RunIdsignd({"--listen=127.0.0.1:0", "--token=" + TestToken::Get().label(),
                  "--pin-file=" + pin_file,
                  "--pkcs11-module=" + TestToken::module_path()});
  ExpectNeverServed(result);
  EXPECT_THAT(result.stderr_text, HasSubstr("log in")) << result.Describe();
  EXPECT_THAT(result.stderr_text, HasSubstr("CKR_PIN_INCORRECT"))
      << result.Describe();
  EXPECT_THAT(result.stderr_text, Not(HasSubstr(wrong_pin)))
      << result.Describe();
}

TEST_F(StartupTest, UnknownTokenIsRefusedAndTokensAreListed) {
  RunResult result =
      RunIdsignd({"--listen=127.0.0.1:0", "--token=no-such-token",
                  "--pin-file=" + TestToken::Get().pin_file(),
                  "--pkcs11-module=" + TestToken::module_path()});
  ExpectNeverServed(result);
  EXPECT_THAT(result.stderr_text, HasSubstr("no-such-token"))
      << result.Describe();
  EXPECT_THAT(result.stderr_text, HasSubstr(TestToken::Get().label()))
      << result.Describe();
}

TEST_F(StartupTest, MalformedListenAddressIsRefused) {
  RunResult result = RunIdsignd(WithTokenFlags({"--listen=nonsense"}));
  ExpectNeverServed(result);
  EXPECT_THAT(result.stderr_text, HasSubstr("--listen")) << result.Describe();
}

// Another idsignd already serves the address: a second one must refuse to
// start, not share the port (SO_REUSEPORT) or take over the socket path.
TEST_F(StartupTest, RefusesTcpPortAnotherServerListensOn) {
  const std::string listen = absl::StrCat("127.0.0.1:", FreeLoopbackPort());
  std::string error;
  std::unique_ptr<IdsigndProcess> first =
      IdsigndProcess::Start(listen, {}, &error);
  ASSERT_NE(first, nullptr) << error;
  ASSERT_TRUE(first->WaitUntilServing());

  RunResult second = RunIdsignd(WithTokenFlags({"--listen=" + listen}));
  ExpectNeverServed(second);
  EXPECT_THAT(second.stderr_text, HasSubstr("cannot listen on " + listen))
      << second.Describe();
  EXPECT_TRUE(first->WaitUntilServing());
}

TEST_F(StartupTest, RefusesUnixSocketAnotherServerListensOn) {
  const std::string listen = "unix:" + ScratchPath("taken.sock");
  std::string error;
  std::unique_ptr<IdsigndProcess> first =
      IdsigndProcess::Start(listen, {}, &error);
  ASSERT_NE(first, nullptr) << error;
  ASSERT_TRUE(first->WaitUntilServing());

  RunResult second = RunIdsignd(WithTokenFlags({"--listen=" + listen}));
  ExpectNeverServed(second);
  EXPECT_THAT(second.stderr_text, HasSubstr("cannot listen on " + listen))
      << second.Describe();
  // The first server still owns the path.
  EXPECT_TRUE(first->WaitUntilServing());
}

TEST_F(StartupTest, UnixSocketInMissingDirectoryIsRefused) {
  const std::string listen = "unix:" + ScratchPath("no-such-dir") + "/s.sock";
  RunResult result = RunIdsignd(WithTokenFlags({"--listen=" + listen}));
  ExpectNeverServed(result);
  EXPECT_THAT(result.stderr_text, HasSubstr("cannot listen on " + listen))
      << result.Describe();
}

TEST_F(StartupTest, ReplacesStaleUnixSocket) {
  // A socket file nobody listens on, as a crashed server leaves behind.
  const std::string path = ScratchPath("stale.sock");
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof(address.sun_path));
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)),
            0);
  ::close(fd);

  std::string error;
  std::unique_ptr<IdsigndProcess> server =
      IdsigndProcess::Start("unix:" + path, {}, &error);
  ASSERT_NE(server, nullptr) << error;
  EXPECT_TRUE(server->WaitUntilServing());
}

}  // namespace
}  // namespace idsign::e2e
