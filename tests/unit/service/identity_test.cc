#include "service/identity.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "idsign/v1/signer.pb.h"
#include "tests/testing/status_matchers.h"

namespace idsign::service {
namespace {

using ::idsign::testing::IsOk;
using ::idsign::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

v1::Identity MakeIdentity(const std::string& user_id,
                          const std::string& email) {
  v1::Identity identity;
  identity.set_user_id(user_id);
  identity.set_email(email);
  return identity;
}

TEST(SelectIdentityTest, UserIdWinsWhenBothAreSet) {
  v1::Identity identity = MakeIdentity("user-42", "someone@example.com");
  auto selected = SelectIdentity(identity, Limits{});
  ASSERT_THAT(selected, IsOk());
  EXPECT_EQ(selected->field, v1::IDENTITY_FIELD_USER_ID);
  EXPECT_EQ(selected->data, "user-42");
}

TEST(SelectIdentityTest, UserIdAlone) {
  v1::Identity identity = MakeIdentity("user-42", "");
  auto selected = SelectIdentity(identity, Limits{});
  ASSERT_THAT(selected, IsOk());
  EXPECT_EQ(selected->field, v1::IDENTITY_FIELD_USER_ID);
  EXPECT_EQ(selected->data, "user-42");
}

TEST(SelectIdentityTest, EmailWhenUserIdIsEmpty) {
  v1::Identity identity = MakeIdentity("", "someone@example.com");
  auto selected = SelectIdentity(identity, Limits{});
  ASSERT_THAT(selected, IsOk());
  EXPECT_EQ(selected->field, v1::IDENTITY_FIELD_EMAIL);
  EXPECT_EQ(selected->data, "someone@example.com");
}

TEST(SelectIdentityTest, NeitherIsUnidentified) {
  v1::Identity identity;
  EXPECT_THAT(SelectIdentity(identity, Limits{}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unidentified users cannot be verified")));
}

TEST(SelectIdentityTest, ResultPointsIntoTheIdentity) {
  v1::Identity identity = MakeIdentity("user-42", "someone@example.com");
  auto selected = SelectIdentity(identity, Limits{});
  ASSERT_THAT(selected, IsOk());
  EXPECT_EQ(selected->data.data(), identity.user_id().data());
}

TEST(SelectIdentityTest, NoTrimmingOrCaseFolding) {
  for (const std::string& value :
       {std::string(" Alice "), std::string("\tBOB\n"),
        std::string("MiXeD@Example.COM"), std::string(" "),
        std::string("a\0b", 3), std::string("caf\xc3\xa9")}) {
    v1::Identity by_id = MakeIdentity(value, "other@example.com");
    auto selected = SelectIdentity(by_id, Limits{});
    ASSERT_THAT(selected, IsOk());
    EXPECT_EQ(selected->field, v1::IDENTITY_FIELD_USER_ID);
    EXPECT_EQ(std::string(selected->data), value);

    v1::Identity by_email = MakeIdentity("", value);
    selected = SelectIdentity(by_email, Limits{});
    ASSERT_THAT(selected, IsOk());
    EXPECT_EQ(selected->field, v1::IDENTITY_FIELD_EMAIL);
    EXPECT_EQ(std::string(selected->data), value);
  }
}

TEST(SelectIdentityTest, IdentifierAtTheLimitIsAccepted) {
  Limits limits;
  v1::Identity identity =
      MakeIdentity(std::string(limits.max_identifier_bytes, 'u'),
                   std::string(limits.max_identifier_bytes, 'e'));
  auto selected = SelectIdentity(identity, limits);
  ASSERT_THAT(selected, IsOk());
  EXPECT_EQ(selected->data.size(), limits.max_identifier_bytes);
}

// The message names the field and the limit but never the identifier.
TEST(SelectIdentityTest, OverLimitUserIdIsRefusedWithoutEchoingIt) {
  const std::string user_id = "private-user-" + std::string(1024, 'x');
  v1::Identity identity = MakeIdentity(user_id, "");
  EXPECT_THAT(
      SelectIdentity(identity, Limits{}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("user_id"), HasSubstr("1024"),
                     Not(HasSubstr("private-user")), Not(HasSubstr("xxxx")))));
}

TEST(SelectIdentityTest, OverLimitEmailIsRefusedWithoutEchoingIt) {
  const std::string email = std::string(1020, 'p') + "@example.com";
  v1::Identity identity = MakeIdentity("", email);
  EXPECT_THAT(
      SelectIdentity(identity, Limits{}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("email"), HasSubstr("1024"),
                     Not(HasSubstr("example.com")), Not(HasSubstr("pppp")))));
}

// Both fields are bounded, even the one that is not signed.
TEST(SelectIdentityTest, OverLimitEmailIsRefusedEvenBesideAUserId) {
  Limits limits;
  limits.max_identifier_bytes = 8;
  v1::Identity identity = MakeIdentity("user-1", "longer@example.com");
  EXPECT_THAT(SelectIdentity(identity, limits),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("email"), HasSubstr("8 bytes"),
                             Not(HasSubstr("longer")))));
}

TEST(SelectIdentityTest, LimitIsConfigurable) {
  Limits limits;
  limits.max_identifier_bytes = 5;
  v1::Identity at_limit = MakeIdentity("abcde", "");
  EXPECT_THAT(SelectIdentity(at_limit, limits), IsOk());
  v1::Identity over = MakeIdentity("abcdef", "");
  EXPECT_THAT(SelectIdentity(over, limits),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("the limit is 5 bytes"),
                             HasSubstr("--max-identifier-bytes"),
                             Not(HasSubstr("abcdef")))));
}

// The largest BatchSignRequest the limits allow, with a maximal key name.
v1::BatchSignRequest FullBatch(const Limits& limits) {
  v1::BatchSignRequest request;
  request.set_key(std::string(128, 'k'));
  for (size_t i = 0; i < limits.max_batch; ++i) {
    v1::Identity* identity = request.add_identities();
    identity->set_user_id(std::string(limits.max_identifier_bytes, 'u'));
    identity->set_email(std::string(limits.max_identifier_bytes, 'e'));
  }
  return request;
}

TEST(MaxRequestBytesTest, FitsAFullBatchWithDefaultLimits) {
  Limits limits;
  v1::BatchSignRequest request = FullBatch(limits);
  EXPECT_LE(request.ByteSizeLong(), MaxRequestBytes(limits));
}

TEST(MaxRequestBytesTest, FitsAFullBatchAcrossLimits) {
  // Sizes around the varint boundaries of the length prefixes (127/128,
  // 16383/16384) and a single-item batch.
  for (size_t identifier : {1u, 127u, 128u, 16383u, 16384u, 70000u}) {
    for (size_t batch : {1u, 7u, 100u}) {
      Limits limits;
      limits.max_identifier_bytes = identifier;
      limits.max_batch = batch;
      v1::BatchSignRequest request = FullBatch(limits);
      EXPECT_LE(request.ByteSizeLong(), MaxRequestBytes(limits))
          << "identifier=" << identifier << " batch=" << batch;
    }
  }
}

TEST(MaxRequestBytesTest, GrowsWithTheLimits) {
  Limits small;
  Limits large;
  large.max_identifier_bytes = 4096;
  EXPECT_GT(MaxRequestBytes(large), MaxRequestBytes(small));
  large = Limits{};
  large.max_batch = 5000;
  EXPECT_GT(MaxRequestBytes(large), MaxRequestBytes(small));
}

}  // namespace
}  // namespace idsign::service
