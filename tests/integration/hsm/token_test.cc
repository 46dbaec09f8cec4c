#include "hsm/token.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hsm/secret.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::hsm {
namespace {

using ::idsign::testing::IsOk;
using ::idsign::testing::StatusIs;
using ::idsign::testing::TestToken;
using ::testing::HasSubstr;

TEST(TokenTest, OpensByLabelAndLogsIn) {
  auto token = TestToken::Get().Open();
  EXPECT_EQ(token->description().label, TestToken::Get().label());
  EXPECT_THAT(token->EnsureLoggedIn(), IsOk());
}

TEST(TokenTest, OpensByUri) {
  SecretBytes pin(TestToken::Get().pin().data(), TestToken::Get().pin().size());
  auto token = Token::Open(TestToken::Get().module(),
                           "pkcs11:token=" + TestToken::Get().label(), pin);
  ASSERT_THAT(token, IsOk());
  EXPECT_EQ((*token)->description().label, TestToken::Get().label());
}

TEST(TokenTest, WrongPinIsUnauthenticatedAndNamesCkr) {
  SecretBytes pin("wrong-pin", 9);
  auto token =
      Token::Open(TestToken::Get().module(), TestToken::Get().label(), pin);
  EXPECT_THAT(token, StatusIs(absl::StatusCode::kUnauthenticated,
                              HasSubstr("CKR_PIN_INCORRECT")));
}

TEST(TokenTest, UnknownTokenIsNotFoundAndListsTokens) {
  SecretBytes pin("1234", 4);
  auto token = Token::Open(TestToken::Get().module(), "no-such-token", pin);
  EXPECT_THAT(token, StatusIs(absl::StatusCode::kNotFound,
                              HasSubstr(TestToken::Get().label())));
}

TEST(TokenTest, UriWithPinValueIsRefused) {
  SecretBytes pin("1234", 4);
  auto token = Token::Open(TestToken::Get().module(),
                           "pkcs11:token=x?pin-value=1234", pin);
  EXPECT_THAT(token, StatusIs(absl::StatusCode::kInvalidArgument,
                              HasSubstr("--pin-file")));
}

TEST(TokenTest, EmptyPinIsInvalidArgument) {
  auto token = Token::Open(TestToken::Get().module(), TestToken::Get().label(),
                           SecretBytes());
  EXPECT_THAT(token, StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(TokenTest, SessionsAreLoggedInAndFollowReadWriteOption) {
  for (bool read_write : {false, true}) {
    auto token = TestToken::Get().Open(read_write);
    EXPECT_EQ(token->read_write(), read_write);
    auto session = token->Acquire();
    ASSERT_THAT(session, IsOk());
    CK_SESSION_INFO info;
    ASSERT_EQ(session->fn()->C_GetSessionInfo(session->handle(), &info),
              CKR_OK);
    EXPECT_EQ(info.state,
              read_write ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS);
  }
}

TEST(TokenTest, PoolSizeBoundsBorrowedSessions) {
  TokenOptions options;
  options.pool_size = 1;
  options.acquire_timeout = absl::Milliseconds(20);
  SecretBytes pin(TestToken::Get().pin().data(), TestToken::Get().pin().size());
  auto token = Token::Open(TestToken::Get().module(), TestToken::Get().label(),
                           pin, options);
  ASSERT_THAT(token, IsOk());
  auto first = (*token)->Acquire();
  ASSERT_THAT(first, IsOk());
  EXPECT_THAT((*token)->Acquire(),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST(TokenTest, EnsureLoggedInRecoversAfterEverySessionWasClosed) {
  auto token = TestToken::Get().Open();
  CK_FUNCTION_LIST* fn = TestToken::Get().module()->fn();
  {
    auto session = token->Acquire();  // leaves an idle session in the pool
    ASSERT_THAT(session, IsOk());
  }
  // What a token reset looks like from here: every session and the login
  // are gone.
  ASSERT_EQ(fn->C_CloseAllSessions(token->slot()), CKR_OK);

  EXPECT_THAT(token->EnsureLoggedIn(), IsOk());
  auto session = token->Acquire();
  ASSERT_THAT(session, IsOk());
  CK_SESSION_INFO info;
  ASSERT_EQ(fn->C_GetSessionInfo(session->handle(), &info), CKR_OK);
  EXPECT_EQ(info.state, CKS_RW_USER_FUNCTIONS);
  EXPECT_THAT(token->EnsureLoggedIn(), IsOk());
}

TEST(TokenTest, MechanismKeySizesForHmac) {
  auto token = TestToken::Get().Open();
  auto range = token->MechanismKeySizes(CKM_SHA256_HMAC);
  ASSERT_THAT(range, IsOk());
  EXPECT_GT(range->min, 0u);
  EXPECT_GE(range->max, range->min);
  EXPECT_THAT(token->MechanismKeySizes(0x7ffffff0),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("C_GetMechanismInfo: CKR_MECHANISM_INVALID")));
}

}  // namespace
}  // namespace idsign::hsm
