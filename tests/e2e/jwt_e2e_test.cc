// Issue-5 features through the built binaries: encodings, HS256 JWTs checked
// by an independent implementation (Debian's python3-jwt), the rollout
// decision and counters, and legacy-sha1 keys. Expected values come from
// OpenSSL.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/json_util.h"
#include "idsign/v1/signer.pb.h"
#include "tests/e2e/idsignd_process.h"
#include "tests/e2e/subprocess.h"
#include "tests/testing/oracle.h"

namespace idsign::e2e {
namespace {

using ::idsign::testing::OpenSslHmacSha256;
using ::idsign::testing::OpenSslHmacSha256Hex;
using ::idsign::testing::OpenSslSha1;
using ::testing::HasSubstr;

constexpr char kKey[] = "intercom/web/prod";
constexpr char kSecret[] = "web-prod-secret-issued-by-the-vendor-0042";
constexpr char kMonitorKey[] = "intercom/ios/prod";
constexpr char kMonitorSecret[] = "ios-prod-secret-issued-by-the-vendor-0043";
constexpr char kLegacyKey[] = "intercom/legacy/web";
constexpr char kLegacySecret[] = "ahfikm8z";

// RFC 4648 base64url without padding, by OpenSSL's encoder.
std::string OpenSslBase64Url(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(bytes.data()),
                      static_cast<int>(bytes.size()));
  out.resize(n);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

std::string WriteScratch(const std::string& stem, const std::string& text) {
  const std::string path = ScratchPath(stem);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// Decodes `jwt` with python3-jwt, checking the HS256 signature with
// `secret`; the payload as JSON on success. The system python3 (Debian's
// python3-jwt), not whatever python3 comes first on PATH.
RunResult PyJwtDecode(const std::string& jwt, const std::string& secret) {
  const std::string secret_path = WriteScratch("pyjwt-secret", secret);
  return RunProcess(
      {IDSIGN_TEST_PYTHON3, "-c",
       "import json, sys, jwt\n"
       "secret = open(sys.argv[1], 'rb').read()\n"
       "claims = jwt.decode(sys.stdin.read().strip(), secret,\n"
       "                    algorithms=['HS256'],\n"
       "                    options={'require': ['exp', 'iat']})\n"
       "print(json.dumps(claims, sort_keys=True))\n",
       secret_path},
      jwt);
}

class JwtE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (const auto& [name, secret] :
         {std::pair<std::string, std::string>{kKey, kSecret},
          {kMonitorKey, kMonitorSecret}}) {
      RunResult imported = ImportKey(name, secret);
      ASSERT_EQ(imported.exit_code, 0) << imported.Describe();
    }
    std::vector<std::string> legacy = {
        "key", "import", std::string("--name=") + kLegacyKey,
        "--scheme=legacy-sha1",
        "--secret-file=" + WriteScratch("legacy-secret", kLegacySecret)};
    for (const std::string& flag : TokenFlags()) legacy.push_back(flag);
    RunResult imported = RunIdsign(legacy);
    ASSERT_EQ(imported.exit_code, 0) << imported.Describe();
    EXPECT_THAT(imported.stderr_text + imported.stdout_text, HasSubstr("weak"));

    std::vector<std::string> rollout = {"key", "rollout",
                                        std::string("--name=") + kMonitorKey,
                                        "--mode=monitor"};
    for (const std::string& flag : TokenFlags()) rollout.push_back(flag);
    RunResult moved = RunIdsign(rollout);
    ASSERT_EQ(moved.exit_code, 0) << moved.Describe();

    std::string error;
    server_ = IdsigndProcess::Start("unix:" + ScratchPath("idsignd.sock"),
                                    {"--jwt-max-ttl=2h"}, &error)
                  .release();
    ASSERT_NE(server_, nullptr) << error;
    ASSERT_TRUE(server_->WaitUntilServing());
  }

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override { ASSERT_NE(server_, nullptr); }

  static RunResult Client(const std::string& command,
                          std::vector<std::string> args,
                          const std::string& stdin_text = "") {
    std::vector<std::string> words = absl::StrSplit(command, ' ');
    words.push_back("--server=" + server_->target());
    words.push_back("--timeout=30s");
    for (std::string& arg : args) words.push_back(std::move(arg));
    return RunIdsign(words, stdin_text);
  }

  static IdsigndProcess* server_;
};

IdsigndProcess* JwtE2eTest::server_ = nullptr;

TEST_F(JwtE2eTest, SignWritesBase64UrlWhenAsked) {
  RunResult result = Client("sign", {std::string("--key=") + kKey,
                                     "--user-id=42", "--encoding=base64url"});
  ASSERT_EQ(result.exit_code, 0) << result.Describe();
  EXPECT_EQ(result.stdout_text,
            OpenSslBase64Url(OpenSslHmacSha256(kSecret, "42")) + "\n");
}

TEST_F(JwtE2eTest, VerifyAcceptsBase64UrlAndReportsMissing) {
  RunResult valid = Client(
      "verify",
      {std::string("--key=") + kKey, "--user-id=42",
       "--user-hash=" + OpenSslBase64Url(OpenSslHmacSha256(kSecret, "42"))});
  EXPECT_EQ(valid.exit_code, 0) << valid.Describe();

  RunResult missing = Client(
      "verify", {std::string("--key=") + kKey, "--user-id=42", "--user-hash="});
  EXPECT_EQ(missing.exit_code, 1) << missing.Describe();
  EXPECT_EQ(missing.stdout_text, "missing (decision: deny, enforce mode)\n");
}

TEST_F(JwtE2eTest, SignJwtIsAcceptedByPyJwt) {
  RunResult signed_jwt = Client(
      "sign-jwt", {std::string("--key=") + kKey, "--user-id=user-7",
                   "--email=Jo@Example.com", "--ttl=15m", "--claim=plan=pro",
                   "--claim-number=seats=12", "--claim-bool=beta=true"});
  ASSERT_EQ(signed_jwt.exit_code, 0) << signed_jwt.Describe();
  const std::string jwt(absl::StripAsciiWhitespace(signed_jwt.stdout_text));

  // The signature is HMAC-SHA256 over header.payload, by OpenSSL too.
  const size_t last_dot = jwt.rfind('.');
  ASSERT_NE(last_dot, std::string::npos);
  EXPECT_EQ(jwt.substr(last_dot + 1), OpenSslBase64Url(OpenSslHmacSha256(
                                          kSecret, jwt.substr(0, last_dot))));
  std::string header;
  ASSERT_TRUE(
      absl::WebSafeBase64Unescape(jwt.substr(0, jwt.find('.')), &header));
  EXPECT_EQ(header, R"({"alg":"HS256","typ":"JWT"})");

  RunResult decoded = PyJwtDecode(jwt, kSecret);
  ASSERT_EQ(decoded.exit_code, 0) << decoded.Describe();
  google::protobuf::Struct claims;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(decoded.stdout_text, &claims)
          .ok())
      << decoded.stdout_text;
  const auto& fields = claims.fields();
  EXPECT_EQ(fields.at("user_id").string_value(), "user-7");
  EXPECT_EQ(fields.at("email").string_value(), "Jo@Example.com");
  EXPECT_EQ(fields.at("plan").string_value(), "pro");
  EXPECT_EQ(fields.at("seats").number_value(), 12);
  EXPECT_TRUE(fields.at("beta").bool_value());
  EXPECT_EQ(fields.at("exp").number_value() - fields.at("iat").number_value(),
            15 * 60);

  // The same token fails python3-jwt under another secret.
  RunResult wrong = PyJwtDecode(jwt, kMonitorSecret);
  EXPECT_NE(wrong.exit_code, 0) << wrong.Describe();
}

TEST_F(JwtE2eTest, VerifyJwtReadsStdinAndRejectsTampering) {
  RunResult signed_jwt =
      Client("sign-jwt", {std::string("--key=") + kKey, "--user-id=user-8"});
  ASSERT_EQ(signed_jwt.exit_code, 0) << signed_jwt.Describe();
  const std::string jwt(absl::StripAsciiWhitespace(signed_jwt.stdout_text));

  RunResult valid =
      Client("verify-jwt", {std::string("--key=") + kKey}, jwt + "\n");
  EXPECT_EQ(valid.exit_code, 0) << valid.Describe();
  EXPECT_THAT(valid.stdout_text, HasSubstr("\"user_id\":\"user-8\""));

  std::string tampered = jwt;
  const size_t payload = tampered.find('.') + 3;
  tampered[payload] = tampered[payload] == 'A' ? 'B' : 'A';
  RunResult invalid =
      Client("verify-jwt", {std::string("--key=") + kKey}, tampered);
  EXPECT_EQ(invalid.exit_code, 1) << invalid.Describe();
  EXPECT_THAT(invalid.stdout_text, HasSubstr("invalid"));
  EXPECT_THAT(invalid.stdout_text, HasSubstr("decision: deny"));
}

TEST_F(JwtE2eTest, TtlAboveTheServersMaximumIsRefused) {
  RunResult result = Client("sign-jwt", {std::string("--key=") + kKey,
                                         "--user-id=user-9", "--ttl=3h"});
  EXPECT_EQ(result.exit_code, 2) << result.Describe();
  EXPECT_THAT(result.stderr_text, HasSubstr("INVALID_ARGUMENT"));
}

TEST_F(JwtE2eTest, MonitorModeAllowsAndCounts) {
  const std::string wrong = OpenSslHmacSha256Hex(kSecret, "someone-else");
  RunResult invalid =
      Client("verify", {std::string("--key=") + kMonitorKey, "--user-id=u1",
                        "--user-hash=" + wrong});
  EXPECT_EQ(invalid.exit_code, 1) << invalid.Describe();
  EXPECT_EQ(invalid.stdout_text, "invalid (decision: allow, monitor mode)\n");
  RunResult missing = Client("verify", {std::string("--key=") + kMonitorKey,
                                        "--user-id=u1", "--user-hash="});
  EXPECT_EQ(missing.stdout_text, "missing (decision: allow, monitor mode)\n");
  RunResult valid = Client(
      "verify", {std::string("--key=") + kMonitorKey, "--user-id=u1",
                 "--user-hash=" + OpenSslHmacSha256Hex(kMonitorSecret, "u1")});
  EXPECT_EQ(valid.exit_code, 0) << valid.Describe();

  RunResult status =
      Client("rollout status", {std::string("--key=") + kMonitorKey, "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.Describe();
  v1::GetRolloutStatusResponse response;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(status.stdout_text, &response)
          .ok())
      << status.stdout_text;
  ASSERT_EQ(response.keys_size(), 1);
  EXPECT_EQ(response.keys(0).mode(), v1::ROLLOUT_MODE_MONITOR);
  EXPECT_EQ(response.keys(0).user_hash().valid(), 1u);
  EXPECT_EQ(response.keys(0).user_hash().invalid(), 1u);
  EXPECT_EQ(response.keys(0).user_hash().missing(), 1u);
  EXPECT_EQ(response.keys(0).user_hash().denied(), 0u);

  RunResult table = Client("rollout status", {});
  ASSERT_EQ(table.exit_code, 0) << table.Describe();
  EXPECT_THAT(table.stdout_text, HasSubstr(kMonitorKey));
  EXPECT_THAT(table.stdout_text, HasSubstr("monitor"));
}

TEST_F(JwtE2eTest, LegacyKeySignsSha1OfSecretAndDataAndRefusesJwt) {
  RunResult result =
      Client("sign", {std::string("--key=") + kLegacyKey, "--user-id=42"});
  ASSERT_EQ(result.exit_code, 0) << result.Describe();
  EXPECT_EQ(
      result.stdout_text,
      absl::BytesToHexString(OpenSslSha1(std::string(kLegacySecret) + "42")) +
          "\n");

  RunResult verified =
      Client("verify", {std::string("--key=") + kLegacyKey, "--user-id=42",
                        "--user-hash=" + std::string(absl::StripAsciiWhitespace(
                                             result.stdout_text))});
  EXPECT_EQ(verified.exit_code, 0) << verified.Describe();

  RunResult jwt =
      Client("sign-jwt", {std::string("--key=") + kLegacyKey, "--user-id=42"});
  EXPECT_EQ(jwt.exit_code, 3) << jwt.Describe();
  EXPECT_THAT(jwt.stderr_text, HasSubstr("FAILED_PRECONDITION"));
  EXPECT_THAT(jwt.stderr_text, HasSubstr("legacy-sha1"));
}

}  // namespace
}  // namespace idsign::e2e
