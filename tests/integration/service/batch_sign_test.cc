// BatchSign over a real channel: per-item results in order, batch limits,
// and the gRPC message size limit the server sets for a full batch.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/integration/service/service_fixture.h"
#include "tests/testing/oracle.h"

namespace idsign::service::testing {
namespace {

using ::idsign::testing::OpenSslHmacSha256Hex;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

class BatchSignTest : public ::testing::Test {
 protected:
  static ServiceEnvironment& env() { return ServiceEnvironment::Get(); }
  static const std::string& web_secret() { return env().secret(kWebKey); }

  // Expects `result` to be a signature of `data` (from `field`) by kWebKey.
  static void ExpectSigned(const v1::BatchSignResult& result,
                           const std::string& data, v1::IdentityField field) {
    ASSERT_TRUE(result.has_response()) << result.DebugString();
    EXPECT_EQ(result.response().user_hash(),
              OpenSslHmacSha256Hex(web_secret(), data));
    EXPECT_EQ(result.response().key(), kWebKey);
    EXPECT_EQ(result.response().key_version(), 1u);
    EXPECT_EQ(result.response().signed_field(), field);
  }
};

// `count` distinct identities whose user_id and email are both exactly
// `bytes` long.
v1::BatchSignRequest MaximalBatch(size_t count, size_t bytes) {
  v1::BatchSignRequest request;
  request.set_key(kWebKey);
  for (size_t i = 0; i < count; ++i) {
    std::string user_id = absl::StrCat("user-", i, "-");
    user_id.resize(bytes, 'u');
    std::string email = absl::StrCat("e", i, "@");
    email.resize(bytes, 'x');
    *request.add_identities() = MakeIdentity(user_id, email);
  }
  return request;
}

TEST_F(BatchSignTest, MixedItemsGiveResultsInOrder) {
  auto server = StartServer(&env().store());
  SignerClient client(*server);
  const std::string too_long = "private-" + std::string(1024, 'q');
  v1::BatchSignRequest request;
  request.set_key(kWebKey);
  *request.add_identities() = MakeIdentity("user-1", "");
  *request.add_identities() = MakeIdentity("", "");
  *request.add_identities() = MakeIdentity("", "two@example.com");
  *request.add_identities() = MakeIdentity(too_long, "");
  *request.add_identities() = MakeIdentity("user-4", "four@example.com");
  request.add_identities();  // identity with no fields at all

  v1::BatchSignResponse response;
  grpc::Status status = client.BatchSign(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), 6);
  ExpectSigned(response.results(0), "user-1", v1::IDENTITY_FIELD_USER_ID);
  ASSERT_TRUE(response.results(1).has_error());
  EXPECT_EQ(response.results(1).error().code(), 3);
  EXPECT_THAT(response.results(1).error().message(),
              HasSubstr("unidentified users cannot be verified"));
  ExpectSigned(response.results(2), "two@example.com",
               v1::IDENTITY_FIELD_EMAIL);
  ASSERT_TRUE(response.results(3).has_error());
  EXPECT_EQ(response.results(3).error().code(), 3);
  EXPECT_THAT(response.results(3).error().message(),
              AllOf(HasSubstr("1024"), Not(HasSubstr("private-")),
                    Not(HasSubstr("qqqq"))));
  ExpectSigned(response.results(4), "user-4", v1::IDENTITY_FIELD_USER_ID);
  ASSERT_TRUE(response.results(5).has_error());
  EXPECT_EQ(response.results(5).error().code(), 3);
}

TEST_F(BatchSignTest, AllItemsBadIsStillOk) {
  auto server = StartServer(&env().store());
  SignerClient client(*server);
  v1::BatchSignRequest request;
  request.set_key(kWebKey);
  request.add_identities();
  request.add_identities();
  v1::BatchSignResponse response;
  ASSERT_TRUE(client.BatchSign(request, &response).ok());
  ASSERT_EQ(response.results_size(), 2);
  for (const v1::BatchSignResult& result : response.results()) {
    EXPECT_TRUE(result.has_error());
    EXPECT_EQ(result.error().code(), 3);
  }
}

TEST_F(BatchSignTest, EmptyBatchHasNoResults) {
  auto server = StartServer(&env().store());
  SignerClient client(*server);
  v1::BatchSignRequest request;
  request.set_key(kWebKey);
  v1::BatchSignResponse response;
  ASSERT_TRUE(client.BatchSign(request, &response).ok());
  EXPECT_EQ(response.results_size(), 0);
}

TEST_F(BatchSignTest, KeyErrorsFailTheWholeBatch) {
  auto server = StartServer(&env().store());
  SignerClient client(*server);
  v1::BatchSignRequest request;
  *request.add_identities() = MakeIdentity("user-1", "");
  for (const std::string& key :
       {std::string(), std::string("bad key!"), std::string(129, 'k')}) {
    request.set_key(key);
    v1::BatchSignResponse response;
    grpc::Status status = client.BatchSign(request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << key;
    EXPECT_THAT(status.error_message(), HasSubstr("key"));
    EXPECT_EQ(response.results_size(), 0);
  }
  request.set_key("no/such/key");
  v1::BatchSignResponse response;
  grpc::Status status = client.BatchSign(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("no/such/key"));
}

TEST_F(BatchSignTest, ConfiguredBatchLimitIsExact) {
  Limits limits;
  limits.max_batch = 5;
  auto server = StartServer(&env().store(), limits);
  SignerClient client(*server);
  v1::BatchSignRequest request = MaximalBatch(5, 10);
  v1::BatchSignResponse response;
  ASSERT_TRUE(client.BatchSign(request, &response).ok());
  ASSERT_EQ(response.results_size(), 5);
  for (int i = 0; i < 5; ++i) {
    ExpectSigned(response.results(i), request.identities(i).user_id(),
                 v1::IDENTITY_FIELD_USER_ID);
  }
  *request.add_identities() = MakeIdentity("one-too-many", "");
  response.Clear();
  grpc::Status status = client.BatchSign(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              AllOf(HasSubstr("6 identities"), HasSubstr("the limit is 5"),
                    HasSubstr("--max-batch")));
  EXPECT_EQ(response.results_size(), 0);
}

// The default limits: 1000 identities, each 1024 bytes in user_id AND email.
TEST_F(BatchSignTest, FullDefaultBatchFitsAndOneMoreIsRefused) {
  Limits limits;
  auto server = StartServer(&env().store(), limits);
  SignerClient client(*server);
  v1::BatchSignRequest request =
      MaximalBatch(limits.max_batch, limits.max_identifier_bytes);
  v1::BatchSignResponse response;
  grpc::Status status = client.BatchSign(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << " "
                           << status.error_message();
  ASSERT_EQ(response.results_size(), static_cast<int>(limits.max_batch));
  for (size_t i = 0; i < limits.max_batch; ++i) {
    ExpectSigned(response.results(i), request.identities(i).user_id(),
                 v1::IDENTITY_FIELD_USER_ID);
  }

  *request.add_identities() = MakeIdentity("one-too-many", "");
  response.Clear();
  status = client.BatchSign(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("the limit is 1000"));
}

// 1000 x 2 x 4096 bytes is about 8 MB, twice gRPC's default 4 MiB receive
// limit: this passes only because the server raises the limit to fit.
TEST_F(BatchSignTest, ServerRaisesTheMessageLimitForLargerIdentifiers) {
  Limits limits;
  limits.max_identifier_bytes = 4096;
  auto server = StartServer(&env().store(), limits);
  SignerClient client(*server);
  v1::BatchSignRequest request =
      MaximalBatch(limits.max_batch, limits.max_identifier_bytes);
  ASSERT_GT(request.ByteSizeLong(), 4u * 1024 * 1024);
  v1::BatchSignResponse response;
  grpc::Status status = client.BatchSign(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << " "
                           << status.error_message();
  ASSERT_EQ(response.results_size(), static_cast<int>(limits.max_batch));
  ExpectSigned(response.results(999), request.identities(999).user_id(),
               v1::IDENTITY_FIELD_USER_ID);
}

// A message beyond MaxRequestBytes is refused by gRPC itself.
TEST_F(BatchSignTest, MessageBeyondTheLimitIsRefusedByGrpc) {
  Limits limits;
  limits.max_identifier_bytes = 16;
  limits.max_batch = 3;
  auto server = StartServer(&env().store(), limits);
  SignerClient client(*server);
  v1::BatchSignRequest request = MaximalBatch(3, 16);
  v1::BatchSignResponse response;
  ASSERT_TRUE(client.BatchSign(request, &response).ok());

  request = MaximalBatch(3, MaxRequestBytes(limits) / 2);
  ASSERT_GT(request.ByteSizeLong(), MaxRequestBytes(limits));
  response.Clear();
  grpc::Status status = client.BatchSign(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message();
  EXPECT_EQ(response.results_size(), 0);
}

}  // namespace
}  // namespace idsign::service::testing
