// `idsign custody report`, run as a process: --json parses as an
// idsign.v1.ListKeysResponse, and every field of an imported and of a
// generated key version equals what raw PKCS#11 calls read from the token
// (C_GetAttributeValue, C_GetTokenInfo) or what the test knows (the secret's
// check value, who ran the CLI and when). The text form runs too.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "idsign/v1/signer.pb.h"
#include "tests/e2e/idsignd_process.h"
#include "tests/e2e/subprocess.h"
#include "tests/testing/oracle.h"
#include "tests/testing/raw_pkcs11.h"
#include "tests/testing/softhsm_token.h"

namespace idsign::e2e {
namespace {

using ::idsign::testing::OpenSslSha1;
using ::idsign::testing::TestToken;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

namespace raw = ::idsign::testing::raw;

constexpr char kImported[] = "custody/web/prod";
constexpr char kImportedSecret[] = "custody-vendor-secret-Xy7Zw6Vu5Ts4Rq3Po2";
constexpr char kGenerated[] = "custody/own/scheme";

// "user@host", as the CLI records its operator.
std::string ExpectedActor() {
  const passwd* pw = getpwuid(geteuid());
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return absl::StrCat(pw != nullptr ? pw->pw_name : "", "@", host);
}

absl::Time ToTime(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) +
         absl::Nanoseconds(timestamp.nanos());
}

class CustodyReportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Ring timestamps have millisecond precision.
    *before_ = absl::FromUnixMillis(absl::ToUnixMillis(absl::Now()));
    RunResult imported = ImportKey(kImported, kImportedSecret);
    ASSERT_EQ(imported.exit_code, 0) << imported.Describe();
    std::vector<std::string> generate = {
        "key", "generate", std::string("--name=") + kGenerated, "--bytes=40"};
    for (const std::string& flag : TokenFlags()) generate.push_back(flag);
    RunResult generated = RunIdsign(generate);
    ASSERT_EQ(generated.exit_code, 0) << generated.Describe();
    *after_ = absl::Now() + absl::Milliseconds(1);
  }

  static RunResult Report(bool json) {
    std::vector<std::string> args = {"custody", "report"};
    if (json) args.push_back("--json");
    for (const std::string& flag : TokenFlags()) args.push_back(flag);
    return RunIdsign(args);
  }

  static const v1::Key* Find(const v1::ListKeysResponse& report,
                             const std::string& name) {
    for (const v1::Key& key : report.keys()) {
      if (key.name() == name) return &key;
    }
    return nullptr;
  }

  // Compares one reported version with the token object behind it.
  static void ExpectMatchesToken(const v1::KeyVersion& got,
                                 const std::string& label) {
    std::unique_ptr<hsm::Token> token = TestToken::Get().Open(false, 1);
    auto session = token->Acquire();
    ASSERT_TRUE(session.ok()) << session.status();
    std::vector<CK_OBJECT_HANDLE> objects =
        raw::FindSecretKeys(*session, label);
    ASSERT_EQ(objects.size(), 1u) << label;
    const CK_OBJECT_HANDLE o = objects[0];
    hsm::Session& s = *session;
    const v1::KeyAttributes& a = got.attributes();
    EXPECT_EQ(raw::GetBool(s, o, CKA_SENSITIVE), a.sensitive());
    EXPECT_EQ(raw::GetBool(s, o, CKA_ALWAYS_SENSITIVE), a.always_sensitive());
    EXPECT_EQ(raw::GetBool(s, o, CKA_EXTRACTABLE), a.extractable());
    EXPECT_EQ(raw::GetBool(s, o, CKA_NEVER_EXTRACTABLE), a.never_extractable());
    EXPECT_EQ(raw::GetBool(s, o, CKA_MODIFIABLE), a.modifiable());
    EXPECT_EQ(raw::GetBool(s, o, CKA_COPYABLE), a.copyable());
    EXPECT_EQ(raw::GetBool(s, o, CKA_LOCAL), a.local());
    EXPECT_EQ(raw::GetBool(s, o, CKA_TOKEN), a.token());
    EXPECT_EQ(raw::GetBool(s, o, CKA_PRIVATE), a.private_());
    // Every attribute was reported, not left out.
    EXPECT_TRUE(a.has_sensitive() && a.has_always_sensitive() &&
                a.has_extractable() && a.has_never_extractable() &&
                a.has_modifiable() && a.has_local());
    EXPECT_EQ(got.origin(), raw::GetBool(s, o, CKA_LOCAL).value_or(false)
                                ? v1::KEY_ORIGIN_GENERATED
                                : v1::KEY_ORIGIN_IMPORTED);
    EXPECT_EQ(raw::Hex(raw::GetBytes(s, o, CKA_ID).value_or("?")),
              got.object_id());
    EXPECT_EQ(raw::Hex(raw::GetBytes(s, o, CKA_CHECK_VALUE).value_or("?")),
              got.check_value());
    EXPECT_EQ(raw::GetUlong(s, o, CKA_VALUE_LEN), got.size_bytes());
    EXPECT_EQ(raw::GetUlong(s, o, CKA_KEY_TYPE), CK_ULONG{CKK_GENERIC_SECRET});
    EXPECT_EQ(got.key_type(), "CKK_GENERIC_SECRET");
    std::vector<std::string> usages;
    const std::pair<CK_ATTRIBUTE_TYPE, const char*> kUsages[] = {
        {CKA_SIGN, "sign"},       {CKA_VERIFY, "verify"},
        {CKA_ENCRYPT, "encrypt"}, {CKA_DECRYPT, "decrypt"},
        {CKA_WRAP, "wrap"},       {CKA_UNWRAP, "unwrap"},
        {CKA_DERIVE, "derive"}};
    for (const auto& [type, name] : kUsages) {
      if (raw::GetBool(s, o, type).value_or(false)) usages.push_back(name);
    }
    EXPECT_THAT(got.usages(), ElementsAreArray(usages));
  }

  // Fields every version the CLI just created shares.
  static void ExpectFreshVersion(const v1::Key& key) {
    EXPECT_TRUE(key.usable());
    EXPECT_EQ(key.problem(), "");
    EXPECT_EQ(key.primary_version(), 1u);
    EXPECT_EQ(key.min_verify_version(), 1u);
    EXPECT_EQ(key.ring_generation(), 1u);
    ASSERT_EQ(key.versions_size(), 1);
    const v1::KeyVersion& v = key.versions(0);
    EXPECT_EQ(v.version(), 1u);
    EXPECT_TRUE(v.primary());
    EXPECT_EQ(v.state(), v1::KEY_VERSION_STATE_ENABLED);
    EXPECT_EQ(v.scheme(), "hmac-sha256");
    EXPECT_EQ(v.created_by(), ExpectedActor());
    ASSERT_TRUE(v.has_created_at());
    EXPECT_GE(ToTime(v.created_at()), *before_);
    EXPECT_LE(ToTime(v.created_at()), *after_);
    EXPECT_TRUE(v.policy().allowed());
    EXPECT_THAT(v.policy().reasons(), IsEmpty());
    ExpectMatchesToken(v, "idsign:" + key.name() + ":v1");
  }

  static absl::Time* before_;
  static absl::Time* after_;
};

absl::Time* CustodyReportTest::before_ = new absl::Time();
absl::Time* CustodyReportTest::after_ = new absl::Time();

TEST_F(CustodyReportTest, JsonMatchesTheToken) {
  RunResult result = Report(/*json=*/true);
  ASSERT_EQ(result.exit_code, 0) << result.Describe();
  v1::ListKeysResponse report;
  // Strict: an unknown field would fail the parse.
  auto parsed =
      google::protobuf::util::JsonStringToMessage(result.stdout_text, &report);
  ASSERT_TRUE(parsed.ok()) << parsed.message() << "\n" << result.stdout_text;
  // The JSON uses the proto field names (documented schema).
  EXPECT_THAT(result.stdout_text, HasSubstr("\"primary_version\""));
  EXPECT_THAT(result.stdout_text, HasSubstr("\"never_extractable\""));

  std::unique_ptr<hsm::Token> token = TestToken::Get().Open(false, 1);
  auto info = raw::GetTokenInfo(token->module().fn(), token->slot());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(report.token().label(), TestToken::Get().label());
  EXPECT_EQ(report.token().label(), info->label);
  EXPECT_EQ(report.token().manufacturer(), info->manufacturer);
  EXPECT_EQ(report.token().model(), info->model);
  EXPECT_EQ(report.token().serial(), info->serial);
  EXPECT_EQ(report.token().firmware(), info->firmware);

  const v1::Key* imported = Find(report, kImported);
  ASSERT_NE(imported, nullptr);
  ExpectFreshVersion(*imported);
  const v1::KeyVersion& iv = imported->versions(0);
  EXPECT_EQ(iv.origin(), v1::KEY_ORIGIN_IMPORTED);
  EXPECT_EQ(iv.size_bytes(), sizeof(kImportedSecret) - 1);
  // The check value an operator reproduces with `openssl sha1`.
  EXPECT_EQ(iv.check_value(),
            absl::BytesToHexString(OpenSslSha1(kImportedSecret).substr(0, 3)));
  EXPECT_FALSE(iv.attributes().always_sensitive());
  EXPECT_FALSE(iv.attributes().never_extractable());

  const v1::Key* generated = Find(report, kGenerated);
  ASSERT_NE(generated, nullptr);
  ExpectFreshVersion(*generated);
  const v1::KeyVersion& gv = generated->versions(0);
  EXPECT_EQ(gv.origin(), v1::KEY_ORIGIN_GENERATED);
  EXPECT_EQ(gv.size_bytes(), 40u);
  EXPECT_TRUE(gv.attributes().always_sensitive());
  EXPECT_TRUE(gv.attributes().never_extractable());
  EXPECT_NE(gv.object_id(), iv.object_id());
}

TEST_F(CustodyReportTest, TextFormRuns) {
  RunResult result = Report(/*json=*/false);
  ASSERT_EQ(result.exit_code, 0) << result.Describe();
  for (const std::string& expected :
       {std::string("token: ") + TestToken::Get().label(),
        std::string("manufacturer: SoftHSM"),
        std::string("key ") + kImported + ": primary v1",
        std::string("key ") + kGenerated + ": primary v1",
        std::string("KEY_ORIGIN_IMPORTED"), std::string("KEY_ORIGIN_GENERATED"),
        std::string("SENSITIVE=true"), std::string("EXTRACTABLE=false"),
        std::string("MODIFIABLE=false"), std::string("usages: sign, verify"),
        std::string("policy: allowed"), std::string("by ") + ExpectedActor()}) {
    EXPECT_THAT(result.stdout_text, HasSubstr(expected));
  }
  EXPECT_THAT(result.stdout_text, Not(HasSubstr(kImportedSecret)));
}

}  // namespace
}  // namespace idsign::e2e
