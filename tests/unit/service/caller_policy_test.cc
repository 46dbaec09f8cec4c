// Caller policy: parsing, validation errors that name the rule, matching
// (exact keys, prefixes, operations, default deny) and CallerPolicy's
// statuses and reload.
#include "service/caller_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace idsign::service {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPolicy[] = R"({"rules":[
  {"caller":"spiffe://example.org/backend-a",
   "operations":["sign","verify","list_keys"],
   "keys":["intercom/web/prod","intercom/ios/*"]},
  {"caller":"spiffe://example.org/backend-b",
   "operations":["batch_sign","sign_jwt"],
   "keys":["*"]}]})";

constexpr char kA[] = "spiffe://example.org/backend-a";
constexpr char kB[] = "spiffe://example.org/backend-b";

Policy MustParse(const std::string& json) {
  absl::StatusOr<Policy> policy = Policy::Parse(json);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? *policy : Policy();
}

std::string ParseError(const std::string& json) {
  absl::StatusOr<Policy> policy = Policy::Parse(json);
  EXPECT_FALSE(policy.ok()) << json;
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(policy.status().message());
}

TEST(OperationTest, NamesRoundTrip) {
  for (Operation operation :
       {Operation::kSign, Operation::kBatchSign, Operation::kVerify,
        Operation::kSignJwt, Operation::kVerifyJwt, Operation::kRolloutStatus,
        Operation::kListKeys}) {
    EXPECT_EQ(ParseOperation(OperationName(operation)), operation);
  }
  EXPECT_EQ(ParseOperation("Sign"), std::nullopt);
  EXPECT_EQ(ParseOperation("batchSign"), std::nullopt);
  EXPECT_EQ(OperationName(Operation::kVerifyJwt), "verify_jwt");
  EXPECT_EQ(OperationName(Operation::kRolloutStatus), "rollout_status");
}

TEST(PolicyTest, JwtAndRolloutOperations) {
  Policy policy = MustParse(R"({"rules":[
    {"caller":"verifier","operations":["verify_jwt","rollout_status"],
     "keys":["intercom/web/*"]},
    {"caller":"signer","operations":["sign_jwt"],"keys":["intercom/web/prod"]}]})");
  EXPECT_TRUE(
      policy.Allows("verifier", Operation::kVerifyJwt, "intercom/web/prod"));
  EXPECT_FALSE(
      policy.Allows("verifier", Operation::kVerifyJwt, "intercom/ios/prod"));
  EXPECT_FALSE(
      policy.Allows("verifier", Operation::kSignJwt, "intercom/web/prod"));
  EXPECT_FALSE(
      policy.Allows("verifier", Operation::kVerify, "intercom/web/prod"));
  EXPECT_TRUE(
      policy.Allows("signer", Operation::kSignJwt, "intercom/web/prod"));
  EXPECT_FALSE(
      policy.Allows("signer", Operation::kVerifyJwt, "intercom/web/prod"));
  // Rollout status of one key needs that key; of every key (empty), any
  // grant of the operation (the service then filters the keys).
  EXPECT_TRUE(policy.Allows("verifier", Operation::kRolloutStatus,
                            "intercom/web/test"));
  EXPECT_FALSE(policy.Allows("verifier", Operation::kRolloutStatus,
                             "intercom/ios/test"));
  EXPECT_TRUE(policy.Allows("verifier", Operation::kRolloutStatus, ""));
  EXPECT_FALSE(policy.Allows("signer", Operation::kRolloutStatus, ""));
}

TEST(PolicyTest, ExactKeysAndPrefixes) {
  Policy policy = MustParse(kPolicy);
  EXPECT_EQ(policy.rule_count(), 2u);
  EXPECT_TRUE(policy.Allows(kA, Operation::kSign, "intercom/web/prod"));
  EXPECT_TRUE(policy.Allows(kA, Operation::kVerify, "intercom/ios/prod"));
  EXPECT_TRUE(policy.Allows(kA, Operation::kSign, "intercom/ios/a/b"));
  // Exact means exact; a prefix needs its whole stem.
  EXPECT_FALSE(policy.Allows(kA, Operation::kSign, "intercom/web/prod2"));
  EXPECT_FALSE(policy.Allows(kA, Operation::kSign, "intercom/web"));
  EXPECT_FALSE(policy.Allows(kA, Operation::kSign, "intercom/ios"));
  EXPECT_FALSE(policy.Allows(kA, Operation::kSign, "intercom/iosx"));
  EXPECT_TRUE(policy.Allows(kB, Operation::kBatchSign, "anything/at/all"));
}

TEST(PolicyTest, OperationsAreGrantedOneByOne) {
  Policy policy = MustParse(kPolicy);
  EXPECT_FALSE(policy.Allows(kA, Operation::kBatchSign, "intercom/web/prod"));
  EXPECT_FALSE(policy.Allows(kA, Operation::kSignJwt, "intercom/web/prod"));
  EXPECT_TRUE(policy.Allows(kA, Operation::kListKeys, ""));
  EXPECT_FALSE(policy.Allows(kB, Operation::kSign, "intercom/web/prod"));
  EXPECT_FALSE(policy.Allows(kB, Operation::kListKeys, ""));
  EXPECT_TRUE(policy.Allows(kB, Operation::kSignJwt, "intercom/web/prod"));
}

TEST(PolicyTest, DefaultDeny) {
  Policy policy = MustParse(kPolicy);
  EXPECT_FALSE(policy.Allows("spiffe://example.org/backend-c", Operation::kSign,
                             "intercom/web/prod"));
  EXPECT_FALSE(policy.Allows("", Operation::kSign, "intercom/web/prod"));
  // Callers match exactly, not by prefix or case.
  EXPECT_FALSE(policy.Allows("spiffe://example.org/backend-a/x",
                             Operation::kSign, "intercom/web/prod"));
  EXPECT_FALSE(policy.Allows("SPIFFE://example.org/backend-a", Operation::kSign,
                             "intercom/web/prod"));
  Policy empty = MustParse(R"({"rules":[]})");
  EXPECT_FALSE(empty.Allows(kA, Operation::kListKeys, ""));
  EXPECT_EQ(MustParse("{}").rule_count(), 0u);
}

TEST(PolicyTest, ErrorsNameTheRule) {
  const std::string second_rule_prefix =
      R"({"rules":[{"caller":"ok","operations":["sign"],"keys":["a"]},)";
  EXPECT_THAT(
      ParseError(
          second_rule_prefix +
          R"({"caller":"c","operations":["sign","delete"],"keys":["a"]}]})"),
      AllOf(HasSubstr("rule 1"), HasSubstr("\"c\""),
            HasSubstr("unknown operation \"delete\"")));
  EXPECT_THAT(
      ParseError(
          R"({"rules":[{"caller":"","operations":["sign"],"keys":["a"]}]})"),
      AllOf(HasSubstr("rule 0"), HasSubstr("caller is empty")));
  EXPECT_THAT(ParseError(R"({"rules":[{"caller":"c","operations":["sign"]}]})"),
              AllOf(HasSubstr("rule 0"), HasSubstr("keys is empty")));
  EXPECT_THAT(ParseError(R"({"rules":[{"caller":"c","keys":["a"]}]})"),
              HasSubstr("operations is empty"));
  EXPECT_THAT(
      ParseError(
          R"({"rules":[{"caller":"c","operations":["sign"],"keys":["a/*/b"]}]})"),
      AllOf(HasSubstr("rule 0"), HasSubstr("a/*/b"), HasSubstr("'*'")));
  EXPECT_THAT(
      ParseError(
          R"({"rules":[{"caller":"c","operations":["sign"],"keys":["a**"]}]})"),
      HasSubstr("'*'"));
  EXPECT_THAT(
      ParseError(
          R"({"rules":[{"caller":"c","operations":["sign"],"keys":["a//b"]}]})"),
      AllOf(HasSubstr("rule 0"), HasSubstr("a//b")));
  EXPECT_THAT(
      ParseError(
          R"({"rules":[{"caller":"c","operations":["sign"],"keys":["bad key/*"]}]})"),
      HasSubstr("bad key/*"));
  EXPECT_THAT(ParseError(R"({"rules":[{"caller":"c","operation":["sign"]}]})"),
              HasSubstr("not a policy file"));
  EXPECT_THAT(ParseError("not json"), HasSubstr("not a policy file"));
}

class CallerPolicyTest : public ::testing::Test {
 protected:
  void Write(const std::string& text) {
    std::ofstream(path_, std::ios::trunc) << text;
  }
  void TearDown() override { std::remove(path_.c_str()); }

  std::string path_ = ::testing::TempDir() + "/caller_policy_test.json";
};

TEST_F(CallerPolicyTest, StatusesNameCallerOperationAndKeyOnly) {
  Write(kPolicy);
  auto policy = CallerPolicy::Open(path_);
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_TRUE((*policy)->Check(kA, Operation::kSign, "intercom/web/prod").ok());

  absl::Status none =
      (*policy)->Check("", Operation::kSign, "intercom/web/prod");
  EXPECT_EQ(none.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(none.message(), HasSubstr("client certificate"));
  EXPECT_THAT(none.message(), HasSubstr("unix socket"));

  absl::Status denied =
      (*policy)->Check(kA, Operation::kBatchSign, "intercom/web/prod");
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(denied.message(),
              AllOf(HasSubstr(kA), HasSubstr("batch_sign"),
                    HasSubstr("intercom/web/prod"), Not(HasSubstr("rule")),
                    Not(HasSubstr("intercom/ios"))));
}

TEST_F(CallerPolicyTest, ReloadSwapsOrKeepsTheLastGoodPolicy) {
  Write(kPolicy);
  auto policy = CallerPolicy::Open(path_);
  ASSERT_TRUE(policy.ok()) << policy.status();

  Write(R"({"rules":[{"caller":"x","operations":["nope"],"keys":["a"]}]})");
  EXPECT_FALSE((*policy)->Reload("test").ok());
  EXPECT_TRUE((*policy)->Check(kA, Operation::kSign, "intercom/web/prod").ok());

  Write(R"({"rules":[{"caller":"x","operations":["sign"],"keys":["a"]}]})");
  EXPECT_TRUE((*policy)->Reload("test").ok());
  EXPECT_EQ((*policy)->Check(kA, Operation::kSign, "intercom/web/prod").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE((*policy)->Check("x", Operation::kSign, "a").ok());
}

TEST_F(CallerPolicyTest, OpenRefusesAMissingFile) {
  auto policy = CallerPolicy::Open(path_ + ".missing");
  EXPECT_FALSE(policy.ok());
  EXPECT_THAT(policy.status().message(), HasSubstr(".missing"));
}

}  // namespace
}  // namespace idsign::service
