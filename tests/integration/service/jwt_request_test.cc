// SignJwt and VerifyJwt requests that are errors rather than invalid
// tokens, and both RPCs and GetRolloutStatus over a real channel.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "service/signer_service.h"
#include "tests/integration/service/service_fixture.h"

namespace idsign::service::testing {
namespace {

using ::testing::HasSubstr;

class JwtRequestTest : public ::testing::Test {
 protected:
  static ServiceEnvironment& env() { return ServiceEnvironment::Get(); }
  SignerService service_{&env().store(), Limits{}};
};

v1::SignJwtRequest Request(const std::string& user_id,
                           const std::string& email) {
  v1::SignJwtRequest request;
  request.set_key(kWebKey);
  *request.mutable_identity() = MakeIdentity(user_id, email);
  return request;
}

TEST_F(JwtRequestTest, BadRequestsAreErrors) {
  v1::SignJwtResponse response;
  EXPECT_EQ(service_.DoSignJwt(Request("", ""), &response).code(),
            absl::StatusCode::kInvalidArgument);
  v1::SignJwtRequest request = Request("u", "");
  request.set_key("no/such/key");
  EXPECT_EQ(service_.DoSignJwt(request, &response).code(),
            absl::StatusCode::kNotFound);
  request = Request("u", "");
  request.mutable_ttl()->set_seconds(25 * 3600);
  EXPECT_EQ(service_.DoSignJwt(request, &response).code(),
            absl::StatusCode::kInvalidArgument);
  for (const char* reserved : {"exp", "sub", "user_id", "aud"}) {
    request = Request("u", "");
    (*request.mutable_claims()->mutable_fields())[reserved].set_number_value(1);
    absl::Status status = service_.DoSignJwt(request, &response);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << reserved;
    EXPECT_THAT(status.message(), HasSubstr("reserved"));
  }
  request = Request("u", "");
  (*request.mutable_claims()->mutable_fields())["org"]
      .mutable_struct_value()
      ->mutable_fields()
      ->insert({"id", google::protobuf::Value()});
  absl::Status nested = service_.DoSignJwt(request, &response);
  EXPECT_EQ(nested.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(nested.message(), HasSubstr("\"org\""));

  v1::VerifyJwtRequest verify;
  verify.set_key("no/such/key");
  verify.set_jwt("x.y.z");
  v1::VerifyJwtResponse verified;
  EXPECT_EQ(service_.DoVerifyJwt(verify, &verified).code(),
            absl::StatusCode::kNotFound);
  verify.set_key("");
  EXPECT_EQ(service_.DoVerifyJwt(verify, &verified).code(),
            absl::StatusCode::kInvalidArgument);
}

// Over a real channel, with the gRPC plumbing.
TEST_F(JwtRequestTest, OverGrpc) {
  std::unique_ptr<Server> server = StartServer(&env().store());
  std::unique_ptr<v1::Signer::Stub> stub =
      v1::Signer::NewStub(ChannelTo(*server));
  v1::SignJwtResponse signed_jwt;
  {
    grpc::ClientContext context;
    SetTestDeadline(&context);
    grpc::Status status =
        stub->SignJwt(&context, Request("user-42", ""), &signed_jwt);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  v1::VerifyJwtRequest request;
  request.set_key(kWebKey);
  request.set_jwt(signed_jwt.jwt());
  v1::VerifyJwtResponse verified;
  {
    grpc::ClientContext context;
    SetTestDeadline(&context);
    ASSERT_TRUE(stub->VerifyJwt(&context, request, &verified).ok());
  }
  EXPECT_TRUE(verified.valid());
  EXPECT_EQ(verified.user_id(), "user-42");
  {
    grpc::ClientContext context;
    SetTestDeadline(&context);
    v1::SignJwtResponse response;
    grpc::Status status = stub->SignJwt(&context, Request("", ""), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("unidentified"));
  }
  v1::GetRolloutStatusRequest status_request;
  status_request.set_key(kWebKey);
  v1::GetRolloutStatusResponse status;
  {
    grpc::ClientContext context;
    SetTestDeadline(&context);
    ASSERT_TRUE(stub->GetRolloutStatus(&context, status_request, &status).ok());
  }
  ASSERT_EQ(status.keys_size(), 1);
  EXPECT_EQ(status.keys(0).jwt().valid(), 1u);
}

}  // namespace
}  // namespace idsign::service::testing
