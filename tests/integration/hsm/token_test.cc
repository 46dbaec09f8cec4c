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

}  // namespace
}  // namespace idsign::hsm
