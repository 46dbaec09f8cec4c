// Certificate reload through the real idsignd: the files named by
// --tls-cert/--tls-key are replaced while it runs, and new connections get
// the new certificate after SIGHUP or, without a signal, after the periodic
// check. A replacement that is broken (unreadable, or a key that does not
// match its certificate) is refused with a logged reason while the last good
// certificate keeps serving. A replaced --client-ca decides which client
// certificates new connections accept. Which certificate is served is told by
// which CA `idsign sign` must trust to connect.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/e2e/idsignd_process.h"
#include "tests/e2e/subprocess.h"
#include "tests/e2e/test_ca.h"
#include "tests/testing/oracle.h"

namespace idsign::e2e {
namespace {

using ::idsign::testing::OpenSslHmacSha256Hex;
using ::testing::HasSubstr;

constexpr char kKey[] = "tls/reload/web";
constexpr char kSecret[] = "tls-reload-secret-Zx9Cv8Bn7Mm6Lk5Jh4Gf3";
constexpr char kServerName[] = "idsignd.test";

// Replaces `to` with the contents of `from` in one rename, as the README
// asks operators to.
bool Replace(const std::string& from, const std::string& to) {
  const std::string temporary = to + ".new";
  std::ofstream(temporary, std::ios::binary) << ReadFileOrEmpty(from);
  return std::rename(temporary.c_str(), to.c_str()) == 0;
}

class TlsReloadE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    RunResult imported = ImportKey(kKey, kSecret);
    ASSERT_EQ(imported.exit_code, 0) << imported.Describe();
    first_ca_ = new TestCa("first");
    next_ca_ = new TestCa("next");
    ASSERT_TRUE(first_ca_->ok());
    ASSERT_TRUE(next_ca_->ok());
    const LeafSpec server{.common_name = "idsignd",
                          .san = absl::StrCat("DNS:", kServerName),
                          .server = true};
    ASSERT_TRUE(first_ca_->Issue(server, &first_));
    ASSERT_TRUE(next_ca_->Issue(server, &next_));
    ASSERT_TRUE(
        first_ca_->Issue({.common_name = "client-first"}, &first_client_));
    ASSERT_TRUE(next_ca_->Issue({.common_name = "client-next"}, &next_client_));
  }
  static void TearDownTestSuite() {
    delete first_ca_;
    delete next_ca_;
  }

  // idsignd serving copies of `first_` that the test then replaces, with a
  // copy of the first CA as its --client-ca (mutual TLS) and a policy that
  // lets both test clients sign: without a policy, idsignd serves no
  // caller over TLS.
  std::unique_ptr<IdsigndProcess> StartOnCopies(
      const std::string& reload_interval) {
    live_ = {ScratchPath("live.pem"), ScratchPath("live.key")};
    EXPECT_TRUE(Replace(first_.cert, live_.cert));
    EXPECT_TRUE(Replace(first_.key, live_.key));
    live_ca_ = ScratchPath("live-ca.pem");
    EXPECT_TRUE(Replace(first_ca_->cert(), live_ca_));
    const std::string policy = ScratchPath("reload-policy.json");
    std::ofstream(policy, std::ios::trunc) << absl::StrCat(
        R"({"rules":[{"caller":"client-first","operations":["sign"],"keys":[")",
        kKey, R"("]},{"caller":"client-next","operations":["sign"],"keys":[")",
        kKey, R"("]}]})");
    std::vector<std::string> flags = {
        "--tls-cert=" + live_.cert, "--tls-key=" + live_.key,
        "--client-ca=" + live_ca_, "--policy=" + policy,
        "--reload-interval=" + reload_interval};
    std::string error;
    auto server = IdsigndProcess::Start(
        absl::StrCat("127.0.0.1:", FreeLoopbackPort()), flags, &error);
    EXPECT_NE(server, nullptr) << error;
    if (server == nullptr) return nullptr;
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ReadFileOrEmpty(first_ca_->cert());
    options.pem_cert_chain = ReadFileOrEmpty(first_client_.cert);
    options.pem_private_key = ReadFileOrEmpty(first_client_.key);
    server->set_channel_credentials(grpc::SslCredentials(options), kServerName);
    EXPECT_TRUE(server->WaitUntilServing());
    return server;
  }

  // `idsign sign` on a new connection that trusts only `ca`, presenting
  // `client` (the first CA's client when null).
  static RunResult SignTrusting(const IdsigndProcess& server, const TestCa& ca,
                                const CertFiles* client = nullptr) {
    if (client == nullptr) client = &first_client_;
    std::vector<std::string> args = {
        "sign",
        "--server=" + server.target(),
        "--timeout=20s",
        "--key=" + std::string(kKey),
        "--user-id=user-7",
        "--tls-ca=" + ca.cert(),
        absl::StrCat("--tls-server-name=", kServerName)};
    args.push_back("--tls-cert=" + client->cert);
    args.push_back("--tls-key=" + client->key);
    return RunIdsign(args);
  }

  // Waits until the log holds `text` `count` times.
  static ::testing::AssertionResult WaitForLog(const IdsigndProcess& server,
                                               const std::string& text,
                                               int count = 1) {
    const auto give_up =
        std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (true) {
      const std::string log = server.log();
      int seen = 0;
      for (size_t at = log.find(text); at != std::string::npos;
           at = log.find(text, at + 1)) {
        ++seen;
      }
      if (seen >= count) return ::testing::AssertionSuccess();
      if (std::chrono::steady_clock::now() > give_up) {
        return ::testing::AssertionFailure()
               << "no " << count << "x \"" << text << "\" in the log:\n"
               << log;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  static void ExpectServes(const IdsigndProcess& server, const TestCa& good,
                           const TestCa& bad) {
    RunResult trusted = SignTrusting(server, good);
    EXPECT_EQ(trusted.exit_code, 0) << trusted.Describe() << server.log();
    EXPECT_EQ(trusted.stdout_text,
              OpenSslHmacSha256Hex(kSecret, "user-7") + "\n");
    RunResult distrusted = SignTrusting(server, bad);
    EXPECT_EQ(distrusted.exit_code, 3) << distrusted.Describe();
  }

  static TestCa* first_ca_;
  static TestCa* next_ca_;
  static CertFiles first_, next_, first_client_, next_client_;
  CertFiles live_;
  std::string live_ca_;
};

TestCa* TlsReloadE2eTest::first_ca_ = nullptr;
TestCa* TlsReloadE2eTest::next_ca_ = nullptr;
CertFiles TlsReloadE2eTest::first_, TlsReloadE2eTest::next_,
    TlsReloadE2eTest::first_client_, TlsReloadE2eTest::next_client_;

TEST_F(TlsReloadE2eTest, SighupLoadsTheNewCertificate) {
  // An hour-long interval: only the signal can explain a reload.
  auto server = StartOnCopies("1h");
  ASSERT_NE(server, nullptr);
  ExpectServes(*server, *first_ca_, *next_ca_);

  ASSERT_TRUE(Replace(next_.key, live_.key));
  ASSERT_TRUE(Replace(next_.cert, live_.cert));
  // Replaced but not yet signalled: still the first certificate.
  ExpectServes(*server, *first_ca_, *next_ca_);

  server->process().Signal(SIGHUP);
  ASSERT_TRUE(WaitForLog(*server, "tls_reloaded trigger=SIGHUP"));
  ExpectServes(*server, *next_ca_, *first_ca_);
}

TEST_F(TlsReloadE2eTest, ChangedFilesAreLoadedWithoutASignal) {
  auto server = StartOnCopies("1s");
  ASSERT_NE(server, nullptr);
  ExpectServes(*server, *first_ca_, *next_ca_);

  ASSERT_TRUE(Replace(next_.key, live_.key));
  ASSERT_TRUE(Replace(next_.cert, live_.cert));
  ASSERT_TRUE(WaitForLog(*server, "tls_reloaded trigger=interval"));
  ExpectServes(*server, *next_ca_, *first_ca_);
}

TEST_F(TlsReloadE2eTest, SighupLoadsANewClientCa) {
  auto server = StartOnCopies("1h");
  ASSERT_NE(server, nullptr);
  RunResult old_client = SignTrusting(*server, *first_ca_, &first_client_);
  EXPECT_EQ(old_client.exit_code, 0) << old_client.Describe();
  RunResult new_client = SignTrusting(*server, *first_ca_, &next_client_);
  EXPECT_EQ(new_client.exit_code, 3) << new_client.Describe();

  ASSERT_TRUE(Replace(next_ca_->cert(), live_ca_));
  server->process().Signal(SIGHUP);
  ASSERT_TRUE(WaitForLog(*server, "tls_reloaded trigger=SIGHUP"));
  new_client = SignTrusting(*server, *first_ca_, &next_client_);
  EXPECT_EQ(new_client.exit_code, 0) << new_client.Describe();
  EXPECT_EQ(new_client.stdout_text,
            OpenSslHmacSha256Hex(kSecret, "user-7") + "\n");
  old_client = SignTrusting(*server, *first_ca_, &first_client_);
  EXPECT_EQ(old_client.exit_code, 3) << old_client.Describe();
}

TEST_F(TlsReloadE2eTest, BrokenReplacementKeepsTheLastGoodCertificate) {
  auto server = StartOnCopies("1h");
  ASSERT_NE(server, nullptr);

  // A key that belongs to another certificate.
  ASSERT_TRUE(Replace(next_.key, live_.key));
  server->process().Signal(SIGHUP);
  ASSERT_TRUE(WaitForLog(*server, "tls_reload_failed trigger=SIGHUP"));
  EXPECT_THAT(server->log(),
              HasSubstr("the key does not match the certificate"));
  ExpectServes(*server, *first_ca_, *next_ca_);

  // A certificate file that has gone.
  ASSERT_EQ(std::remove(live_.cert.c_str()), 0);
  server->process().Signal(SIGHUP);
  ASSERT_TRUE(WaitForLog(*server, "tls_reload_failed trigger=SIGHUP", 2));
  EXPECT_THAT(server->log(), HasSubstr(absl::StrCat("--tls-cert=", live_.cert,
                                                    ": cannot read the file")));
  ExpectServes(*server, *first_ca_, *next_ca_);

  // Completing the pair is enough.
  ASSERT_TRUE(Replace(next_.cert, live_.cert));
  server->process().Signal(SIGHUP);
  ASSERT_TRUE(WaitForLog(*server, "tls_reloaded trigger=SIGHUP"));
  ExpectServes(*server, *next_ca_, *first_ca_);
  EXPECT_THAT(server->log(), ::testing::Not(HasSubstr("BEGIN")));
}

}  // namespace
}  // namespace idsign::e2e
