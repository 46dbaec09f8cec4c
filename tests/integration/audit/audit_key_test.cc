// The audit key on a fresh token: missing at first (and nothing can be
// audited), created once by EnsureAuditKey with locked-down attributes,
// never duplicated, and refused when ambiguous.
#include "service/audit/audit_key.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "hsm/objects.h"
#include "service/audit/file_audit_log.h"
#include "service/audit/verify.h"
#include "tests/integration/audit/audit_test_util.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::audit {
namespace {

using ::idsign::testing::IsOk;
using ::idsign::testing::StatusIs;
using ::idsign::testing::TestToken;
using ::testing::HasSubstr;
using ::testing::Optional;

size_t CountAuditKeys(hsm::Token& token) {
  auto session = token.Acquire();
  if (!session.ok()) return 0;
  auto found = hsm::FindSecretKeysByLabel(*session, kAuditKeyLabel);
  return found.ok() ? found->size() : 0;
}

// One test, because every step depends on the token state the last one left.
TEST(AuditKeyTest, Lifecycle) {
  std::unique_ptr<hsm::Token> token = TestToken::Get().Open(true);
  std::unique_ptr<hsm::Token> read_only = TestToken::Get().Open(false);

  // Missing: every user of the key says how to create it.
  EXPECT_THAT(FindAuditKey(*token), StatusIs(absl::StatusCode::kNotFound,
                                             HasSubstr("idsign audit init")));
  EXPECT_THAT(
      FileAuditLog::Open(test::TempLogPath("nokey"), token.get()),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("idsign audit init")));
  const std::string path = test::TempLogPath("nokey-now");
  EXPECT_THAT(AppendNow(path, *token, test::MakeRecord(1, "key.import")),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(test::ReadFile(path), "");  // nothing was written
  auto report = VerifyAuditLog(path, *token);
  EXPECT_THAT(report, StatusIs(absl::StatusCode::kNotFound));

  // A read-only token cannot create it.
  EXPECT_THAT(
      EnsureAuditKey(*read_only),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("read/write")));
  EXPECT_EQ(CountAuditKeys(*token), 0u);

  // Created once; idempotent.
  ASSERT_THAT(EnsureAuditKey(*token), IsOk());
  ASSERT_THAT(EnsureAuditKey(*token), IsOk());
  EXPECT_EQ(CountAuditKeys(*token), 1u);
  auto handle = FindAuditKey(*token);
  ASSERT_THAT(handle, IsOk());
  EXPECT_THAT(FindAuditKey(*read_only), IsOk());

  // Locked down like a signing key.
  auto session = token->Acquire();
  ASSERT_THAT(session, IsOk());
  auto info = hsm::ReadSecretKeyInfo(*session, *handle);
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->label, kAuditKeyLabel);
  EXPECT_THAT(info->value_len, Optional(kAuditKeyBytes));
  EXPECT_THAT(info->token, Optional(true));
  EXPECT_THAT(info->is_private, Optional(true));
  EXPECT_THAT(info->sensitive, Optional(true));
  EXPECT_THAT(info->extractable, Optional(false));
  EXPECT_THAT(info->modifiable, Optional(false));
  EXPECT_THAT(info->sign, Optional(true));
  EXPECT_THAT(info->verify, Optional(true));
  EXPECT_THAT(info->encrypt, Optional(false));
  EXPECT_THAT(info->derive, Optional(false));
  EXPECT_THAT(info->wrap, Optional(false));

  // A second object with the same label makes the key ambiguous: refused.
  hsm::NewKey twin{std::string(kAuditKeyLabel), "twin"};
  ASSERT_THAT(hsm::GenerateHmacKey(*session, twin, kAuditKeyBytes), IsOk());
  EXPECT_THAT(
      FindAuditKey(*token),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("2 objects")));
  EXPECT_THAT(EnsureAuditKey(*token),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(CountAuditKeys(*token), 2u);
}

}  // namespace
}  // namespace idsign::audit
