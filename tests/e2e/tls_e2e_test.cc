// TLS and mutual TLS through the real binaries: idsignd with --tls-cert,
// --tls-key and --client-ca, called by `idsign sign|verify|batch-sign` with
// --tls-ca, --tls-cert, --tls-key and --tls-server-name. Certificates come
// from throwaway CAs made with openssl; expected hashes from OpenSSL's HMAC.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "grpcpp/security/credentials.h"
#include "service/audit/record.h"
#include "tests/e2e/idsignd_process.h"
#include "tests/e2e/subprocess.h"
#include "tests/e2e/test_ca.h"
#include "tests/testing/oracle.h"
#include "tests/testing/softhsm_token.h"

namespace idsign::e2e {
namespace {

using ::idsign::testing::OpenSslHmacSha256Hex;
using ::idsign::testing::TestToken;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kKey[] = "tls/e2e/web";
constexpr char kSecret[] = "tls-e2e-secret-Qa1Ws2Ed3Rf4Tg5Yh6Uj7Ik8";
constexpr char kServerName[] = "idsignd.test";
constexpr char kSpiffeId[] = "spiffe://example.org/backend-a";

std::string ReadPem(const std::string& path) { return ReadFileOrEmpty(path); }

// Credentials for WaitUntilServing: trust `ca`, present `client` if given.
std::shared_ptr<grpc::ChannelCredentials> Credentials(
    const std::string& ca, const CertFiles* client = nullptr) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadPem(ca);
  if (client != nullptr) {
    options.pem_cert_chain = ReadPem(client->cert);
    options.pem_private_key = ReadPem(client->key);
  }
  return grpc::SslCredentials(options);
}

class TlsE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    RunResult imported = ImportKey(kKey, kSecret);
    ASSERT_EQ(imported.exit_code, 0) << imported.Describe();
    std::vector<std::string> init = {"audit", "init"};
    for (const std::string& flag : TokenFlags()) init.push_back(flag);
    RunResult initialized = RunIdsign(init);
    ASSERT_EQ(initialized.exit_code, 0) << initialized.Describe();

    ca_ = new TestCa("trusted");
    other_ca_ = new TestCa("other");
    ASSERT_TRUE(ca_->ok());
    ASSERT_TRUE(other_ca_->ok());
    ASSERT_TRUE(ca_->Issue({.common_name = "idsignd",
                            .san = absl::StrCat("DNS:", kServerName),
                            .server = true},
                           &server_cert_));
    ASSERT_TRUE(ca_->Issue(
        {.common_name = "backend-a",
         .san = absl::StrCat("URI:", kSpiffeId, ",DNS:backend-a.example")},
        &uri_client_));
    ASSERT_TRUE(
        ca_->Issue({.common_name = "backend-b", .san = "DNS:backend-b.example"},
                   &dns_client_));
    ASSERT_TRUE(ca_->Issue({.common_name = "backend-c"}, &cn_client_));
    ASSERT_TRUE(ca_->Issue({.common_name = "expired",
                            .san = "URI:spiffe://example.org/old",
                            .days = -1},
                           &expired_client_));
    ASSERT_TRUE(other_ca_->Issue(
        {.common_name = "intruder", .san = "URI:spiffe://example.org/x"},
        &foreign_client_));
  }

  static void TearDownTestSuite() {
    delete ca_;
    delete other_ca_;
  }

  // A policy that grants the three trusted clients' identities (by URI
  // SAN, DNS SAN and CN) the client commands on kKey.
  static std::string PolicyFile() {
    const std::string path = ScratchPath("tls-policy.json");
    std::ofstream(path, std::ios::trunc) << absl::StrCat(
        R"({"rules":[)", R"({"caller":")", kSpiffeId,
        R"(","operations":["sign","batch_sign","verify"],"keys":[")", kKey,
        R"("]},)",
        R"({"caller":"backend-b.example","operations":["sign","batch_sign","verify"],"keys":[")",
        kKey, R"("]},)",
        R"({"caller":"backend-c","operations":["sign","batch_sign","verify"],"keys":[")",
        kKey, R"("]}]})");
    return path;
  }

  // Starts idsignd with TLS on `listen`; with `mutual`, --client-ca and
  // (unless `policy` is false) the policy above too. Without a policy,
  // idsignd serves no caller over TLS.
  std::unique_ptr<IdsigndProcess> StartTls(
      const std::string& listen, bool mutual,
      std::vector<std::string> flags = {},
      const CertFiles& server = server_cert_, bool policy = true) {
    flags.push_back("--tls-cert=" + server.cert);
    flags.push_back("--tls-key=" + server.key);
    if (mutual) flags.push_back("--client-ca=" + ca_->cert());
    if (mutual && policy) flags.push_back("--policy=" + PolicyFile());
    std::string error;
    auto process = IdsigndProcess::Start(listen, flags, &error);
    EXPECT_NE(process, nullptr) << error;
    return process;
  }

  ::testing::AssertionResult WaitServing(IdsigndProcess* server,
                                         const std::string& ca,
                                         const CertFiles* client) {
    server->set_channel_credentials(Credentials(ca, client), kServerName);
    return server->WaitUntilServing();
  }

  // `idsign sign` over TLS trusting `ca`, with `client` if given.
  static RunResult TlsSign(const std::string& target, const std::string& ca,
                           const CertFiles* client,
                           const std::string& user_id = "user-42") {
    std::vector<std::string> args = {
        "sign",
        "--server=" + target,
        "--timeout=20s",
        "--key=" + std::string(kKey),
        "--user-id=" + user_id,
        "--tls-ca=" + ca,
        absl::StrCat("--tls-server-name=", kServerName)};
    if (client != nullptr) {
      args.push_back("--tls-cert=" + client->cert);
      args.push_back("--tls-key=" + client->key);
    }
    return RunIdsign(args);
  }

  static std::string Expected(const std::string& user_id) {
    return OpenSslHmacSha256Hex(kSecret, user_id) + "\n";
  }

  static TestCa* ca_;
  static TestCa* other_ca_;
  static CertFiles server_cert_, uri_client_, dns_client_, cn_client_,
      expired_client_, foreign_client_;
};

TestCa* TlsE2eTest::ca_ = nullptr;
TestCa* TlsE2eTest::other_ca_ = nullptr;
CertFiles TlsE2eTest::server_cert_, TlsE2eTest::uri_client_,
    TlsE2eTest::dns_client_, TlsE2eTest::cn_client_,
    TlsE2eTest::expired_client_, TlsE2eTest::foreign_client_;

TEST_F(TlsE2eTest, MutualTlsServesValidClientsAndRejectsOthers) {
  auto server = StartTls(absl::StrCat("127.0.0.1:", FreeLoopbackPort()),
                         /*mutual=*/true);
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(WaitServing(server.get(), ca_->cert(), &uri_client_));
  EXPECT_THAT(server->log(), HasSubstr("transport=mtls"));
  const std::string& target = server->target();

  RunResult signed_ok = TlsSign(target, ca_->cert(), &uri_client_);
  EXPECT_EQ(signed_ok.exit_code, 0) << signed_ok.Describe();
  EXPECT_EQ(signed_ok.stdout_text, Expected("user-42"));

  RunResult verified =
      RunIdsign({"verify", "--server=" + target, "--timeout=20s",
                 "--key=" + std::string(kKey), "--user-id=user-42",
                 "--user-hash=" + OpenSslHmacSha256Hex(kSecret, "user-42"),
                 "--tls-ca=" + ca_->cert(), "--tls-cert=" + uri_client_.cert,
                 "--tls-key=" + uri_client_.key,
                 absl::StrCat("--tls-server-name=", kServerName)});
  EXPECT_EQ(verified.exit_code, 0) << verified.Describe();
  EXPECT_THAT(verified.stdout_text, HasSubstr("valid"));

  RunResult batch = RunIdsign(
      {"batch-sign", "--server=" + target, "--timeout=20s",
       "--key=" + std::string(kKey), "--tls-ca=" + ca_->cert(),
       "--tls-cert=" + dns_client_.cert, "--tls-key=" + dns_client_.key,
       absl::StrCat("--tls-server-name=", kServerName)},
      "{\"user_id\":\"b-1\"}\n");
  EXPECT_EQ(batch.exit_code, 0) << batch.Describe();
  EXPECT_THAT(batch.stdout_text,
              HasSubstr(OpenSslHmacSha256Hex(kSecret, "b-1")));

  // Refused: no client certificate, one from another CA, an expired one,
  // and plaintext.
  const std::vector<const CertFiles*> refused_clients = {
      nullptr, &foreign_client_, &expired_client_};
  for (const CertFiles* refused : refused_clients) {
    RunResult result = TlsSign(target, ca_->cert(), refused);
    EXPECT_EQ(result.exit_code, 3)
        << (refused ? refused->cert : "no certificate") << "\n"
        << result.Describe();
    EXPECT_EQ(result.stdout_text, "") << result.Describe();
    // The handshake fails: no call reaches the service.
    EXPECT_THAT(result.stderr_text, HasSubstr("UNAVAILABLE"))
        << result.Describe();
  }
  RunResult plaintext =
      RunIdsign({"sign", "--server=" + target, "--timeout=5s",
                 "--key=" + std::string(kKey), "--user-id=user-42"});
  EXPECT_EQ(plaintext.exit_code, 3) << plaintext.Describe();
}

TEST_F(TlsE2eTest, AuditNamesCallerByUriThenDnsThenCommonName) {
  const std::string log = ScratchPath("tls.audit");
  auto server = StartTls("unix:" + ScratchPath("tls.sock"), /*mutual=*/true,
                         {"--audit-log=" + log});
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(WaitServing(server.get(), ca_->cert(), &uri_client_));
  for (const CertFiles* client : {&uri_client_, &dns_client_, &cn_client_}) {
    RunResult result = TlsSign(server->target(), ca_->cert(), client);
    EXPECT_EQ(result.exit_code, 0) << result.Describe();
  }
  std::optional<int> stopped =
      server->StopWith(SIGTERM, std::chrono::seconds(30));
  ASSERT_TRUE(stopped.has_value());
  EXPECT_EQ(ExitCode(*stopped), 0) << server->log();

  std::vector<std::string> callers;
  for (absl::string_view line :
       absl::StrSplit(ReadFileOrEmpty(log), '\n', absl::SkipEmpty())) {
    absl::StatusOr<audit::ParsedLine> parsed = audit::ParseLine(line);
    ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << line;
    if (parsed->type == audit::LineType::kRecord &&
        parsed->record.operation == "Sign") {
      callers.push_back(parsed->record.caller);
    }
  }
  EXPECT_THAT(callers, ::testing::ElementsAre(kSpiffeId, "backend-b.example",
                                              "backend-c"));
}

// Without --policy nothing says which remote caller may do what, so even a
// caller with a trusted certificate is refused over TLS, with a message
// saying why; plaintext loopback callers are served.
TEST_F(TlsE2eTest, WithoutPolicyTlsCallersAreRefused) {
  auto server = StartTls(absl::StrCat("127.0.0.1:", FreeLoopbackPort()),
                         /*mutual=*/true, {}, server_cert_, /*policy=*/false);
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(WaitServing(server.get(), ca_->cert(), &uri_client_));
  EXPECT_THAT(server->log(), HasSubstr("policy_disabled"));
  RunResult refused = TlsSign(server->target(), ca_->cert(), &uri_client_);
  EXPECT_EQ(refused.exit_code, 3) << refused.Describe();
  EXPECT_EQ(refused.stdout_text, "");
  EXPECT_THAT(refused.stderr_text,
              AllOf(HasSubstr("PERMISSION_DENIED"), HasSubstr("--policy")));
}

TEST_F(TlsE2eTest, TlsMayListenOnAnyAddress) {
  const int port = FreeLoopbackPort();
  auto server = StartTls(absl::StrCat("0.0.0.0:", port), /*mutual=*/true);
  ASSERT_NE(server, nullptr);
  server->set_target(absl::StrCat("127.0.0.1:", port));
  ASSERT_TRUE(WaitServing(server.get(), ca_->cert(), &uri_client_));
  EXPECT_THAT(server->log(), HasSubstr("transport=mtls"));
  RunResult result = TlsSign(server->target(), ca_->cert(), &uri_client_);
  EXPECT_EQ(result.exit_code, 0) << result.Describe();
  EXPECT_EQ(result.stdout_text, Expected("user-42"));
  // A client trusting another CA does not accept the server.
  RunResult distrust =
      TlsSign(server->target(), other_ca_->cert(), &uri_client_);
  EXPECT_EQ(distrust.exit_code, 3) << distrust.Describe();

  // TLS 1.2 is served; TLS 1.1 is not.
  const std::string connect = server->target();
  RunResult tls12 = RunProcess(
      {IDSIGN_TEST_OPENSSL, "s_client", "-connect", connect, "-tls1_2", "-cert",
       uri_client_.cert, "-key", uri_client_.key, "-alpn", "h2", "-brief"},
      "", std::chrono::seconds(20));
  EXPECT_EQ(tls12.exit_code, 0) << tls12.Describe();
  EXPECT_THAT(tls12.stdout_text + tls12.stderr_text,
              HasSubstr("Protocol version: TLSv1.2"))
      << tls12.Describe();
  RunResult tls11 =
      RunProcess({IDSIGN_TEST_OPENSSL, "s_client", "-connect", connect,
                  "-tls1_1", "-cert", uri_client_.cert, "-key", uri_client_.key,
                  "-cipher", "DEFAULT@SECLEVEL=0", "-alpn", "h2", "-brief"},
                 "", std::chrono::seconds(20));
  EXPECT_NE(tls11.exit_code, 0) << tls11.Describe();
}

TEST_F(TlsE2eTest, InconsistentTlsFlagsAreStartupErrors) {
  struct Case {
    std::vector<std::string> flags;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--tls-cert=" + server_cert_.cert}, "--tls-cert needs --tls-key"},
      {{"--tls-key=" + server_cert_.key}, "--tls-key needs --tls-cert"},
      {{"--client-ca=" + ca_->cert()}, "--client-ca needs --tls-cert"},
      {{"--tls-cert=/nonexistent/cert.pem", "--tls-key=" + server_cert_.key},
       "--tls-cert=/nonexistent/cert.pem: cannot read"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {TestToken::IdsigndPath(),
                                     "--listen=127.0.0.1:0"};
    argv.insert(argv.end(), c.flags.begin(), c.flags.end());
    for (const std::string& flag : TokenFlags()) argv.push_back(flag);
    RunResult result = RunProcess(argv, "", std::chrono::seconds(20));
    EXPECT_EQ(result.exit_code, 2) << result.Describe();
    EXPECT_THAT(result.stderr_text, HasSubstr(c.message)) << result.Describe();
    EXPECT_THAT(result.stderr_text,
                ::testing::Not(HasSubstr("INFO listening")));
  }
  // The client refuses half a client certificate before connecting.
  RunResult client =
      RunIdsign({"sign", "--server=127.0.0.1:1", "--key=" + std::string(kKey),
                 "--user-id=u", "--tls-ca=" + ca_->cert(),
                 "--tls-cert=" + uri_client_.cert});
  EXPECT_EQ(client.exit_code, 2) << client.Describe();
  EXPECT_THAT(client.stderr_text, HasSubstr("--tls-cert and --tls-key"));
}

}  // namespace
}  // namespace idsign::e2e
