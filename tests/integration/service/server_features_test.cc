// What the Server hosts besides Signer: grpc.health.v1, server reflection,
// the plaintext address policy, unix sockets, and how malformed wire data
// (invalid UTF-8 in a proto3 string) is answered.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "tests/integration/service/service_fixture.h"
#include "tests/testing/oracle.h"
#include "tests/testing/softhsm_token.h"

namespace idsign::service::testing {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::DescriptorPool;
using ::google::protobuf::DynamicMessageFactory;
using ::google::protobuf::Message;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::idsign::testing::OpenSslHmacSha256Hex;
using ::testing::Contains;
using ::testing::HasSubstr;

ServiceEnvironment& env() { return ServiceEnvironment::Get(); }

// --- health -----------------------------------------------------------------

grpc::Status CheckHealth(const Server& server, const std::string& service,
                         HealthCheckResponse* response) {
  auto stub = grpc::health::v1::Health::NewStub(ChannelTo(server));
  grpc::ClientContext context;
  SetTestDeadline(&context);
  HealthCheckRequest request;
  request.set_service(service);
  return stub->Check(&context, request, response);
}

TEST(HealthTest, NotServingUntilSetServing) {
  auto server = StartServer(&env().store());
  for (const char* service : {"", "idsign.v1.Signer"}) {
    HealthCheckResponse response;
    grpc::Status status = CheckHealth(*server, service, &response);
    ASSERT_TRUE(status.ok()) << service << ": " << status.error_message();
    EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING) << service;
  }
  server->SetServing(true);
  for (const char* service : {"", "idsign.v1.Signer"}) {
    HealthCheckResponse response;
    ASSERT_TRUE(CheckHealth(*server, service, &response).ok());
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING) << service;
  }
  server->SetServing(false);
  for (const char* service : {"", "idsign.v1.Signer"}) {
    HealthCheckResponse response;
    ASSERT_TRUE(CheckHealth(*server, service, &response).ok());
    EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING) << service;
  }
}

// The overall status never overwrites a key's own entry.
TEST(HealthTest, KeyEntriesAreIndependentOfTheOverallStatus) {
  auto server = StartServer(&env().store());
  const std::string refused = "idsign.v1.Signer/refused/key";
  const std::string good = "idsign.v1.Signer/good/key";
  server->SetKeyServing("refused/key", false);
  server->SetKeyServing("good/key", true);
  for (bool serving : {true, false, true}) {
    server->SetServing(serving);
    HealthCheckResponse response;
    ASSERT_TRUE(CheckHealth(*server, refused, &response).ok());
    EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
    ASSERT_TRUE(CheckHealth(*server, good, &response).ok());
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
    ASSERT_TRUE(CheckHealth(*server, "", &response).ok());
    EXPECT_EQ(response.status(), serving ? HealthCheckResponse::SERVING
                                         : HealthCheckResponse::NOT_SERVING);
  }
}

TEST(HealthTest, UnknownServiceIsNotFound) {
  auto server = StartServer(&env().store());
  server->SetServing(true);
  HealthCheckResponse response;
  EXPECT_EQ(CheckHealth(*server, "no.such.Service", &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// --- reflection -------------------------------------------------------------

constexpr char kReflectionMethod[] =
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

std::string ToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buffer.Dump(&slices).ok());
  std::string out;
  for (const grpc::Slice& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// Sends one ServerReflectionRequest (serialized) on a new stream and returns
// the serialized reply. The reflection messages are built from the
// descriptors libgrpc++_reflection registers in the generated pool, so this
// binary compiles no reflection.proto of its own.
std::string ReflectionRoundTrip(const Server& server,
                                const std::string& request) {
  grpc::GenericStub stub(ChannelTo(server));
  grpc::ClientContext context;
  SetTestDeadline(&context);
  grpc::CompletionQueue cq;
  auto call = stub.PrepareCall(&context, kReflectionMethod, &cq);
  auto step = [&](intptr_t tag) {
    void* got = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&got, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(got), tag);
    return ok;
  };
  std::string reply;
  call->StartCall(reinterpret_cast<void*>(1));
  if (step(1)) {
    call->Write(ToBuffer(request), reinterpret_cast<void*>(2));
    step(2);
    call->WritesDone(reinterpret_cast<void*>(3));
    step(3);
    grpc::ByteBuffer buffer;
    call->Read(&buffer, reinterpret_cast<void*>(4));
    if (step(4)) reply = ToString(buffer);
  }
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  step(5);
  EXPECT_TRUE(status.ok()) << status.error_message();
  cq.Shutdown();
  void* ignored_tag;
  bool ignored_ok;
  while (cq.Next(&ignored_tag, &ignored_ok)) {
  }
  return reply;
}

class ReflectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    request_type_ = DescriptorPool::generated_pool()->FindMessageTypeByName(
        "grpc.reflection.v1alpha.ServerReflectionRequest");
    response_type_ = DescriptorPool::generated_pool()->FindMessageTypeByName(
        "grpc.reflection.v1alpha.ServerReflectionResponse");
    ASSERT_NE(request_type_, nullptr);
    ASSERT_NE(response_type_, nullptr);
    server_ = StartServer(&env().store());
  }

  // Asks with one string field of the request set, e.g. list_services.
  std::unique_ptr<Message> Ask(const std::string& field,
                               const std::string& value) {
    std::unique_ptr<Message> request(
        factory_.GetPrototype(request_type_)->New());
    request->GetReflection()->SetString(
        request.get(), request_type_->FindFieldByName(field), value);
    std::string reply =
        ReflectionRoundTrip(*server_, request->SerializeAsString());
    std::unique_ptr<Message> response(
        factory_.GetPrototype(response_type_)->New());
    EXPECT_TRUE(response->ParseFromString(reply));
    return response;
  }

  const Message& SubMessage(const Message& message, const std::string& field) {
    const auto* descriptor = message.GetDescriptor()->FindFieldByName(field);
    EXPECT_NE(descriptor, nullptr) << field;
    return message.GetReflection()->GetMessage(message, descriptor, &factory_);
  }

  DynamicMessageFactory factory_;
  const Descriptor* request_type_ = nullptr;
  const Descriptor* response_type_ = nullptr;
  std::unique_ptr<Server> server_;
};

TEST_F(ReflectionTest, ListsTheServices) {
  std::unique_ptr<Message> response = Ask("list_services", "");
  const Message& list = SubMessage(*response, "list_services_response");
  const auto* service_field = list.GetDescriptor()->FindFieldByName("service");
  ASSERT_NE(service_field, nullptr);
  std::vector<std::string> names;
  const auto* reflection = list.GetReflection();
  for (int i = 0; i < reflection->FieldSize(list, service_field); ++i) {
    const Message& service =
        reflection->GetRepeatedMessage(list, service_field, i);
    names.push_back(service.GetReflection()->GetString(
        service, service.GetDescriptor()->FindFieldByName("name")));
  }
  EXPECT_THAT(names, Contains("idsign.v1.Signer"));
  EXPECT_THAT(names, Contains("grpc.health.v1.Health"));
  EXPECT_THAT(names, Contains("grpc.reflection.v1alpha.ServerReflection"));
}

TEST_F(ReflectionTest, DescribesTheSignerService) {
  std::unique_ptr<Message> response =
      Ask("file_containing_symbol", "idsign.v1.Signer");
  const Message& files = SubMessage(*response, "file_descriptor_response");
  const auto* protos =
      files.GetDescriptor()->FindFieldByName("file_descriptor_proto");
  ASSERT_NE(protos, nullptr);
  const auto* reflection = files.GetReflection();
  ASSERT_GE(reflection->FieldSize(files, protos), 1);
  google::protobuf::FileDescriptorProto file;
  ASSERT_TRUE(
      file.ParseFromString(reflection->GetRepeatedString(files, protos, 0)));
  EXPECT_EQ(file.name(), "idsign/v1/signer.proto");
  EXPECT_EQ(file.package(), "idsign.v1");
  ASSERT_EQ(file.service_size(), 1);
  std::vector<std::string> methods;
  for (const auto& method : file.service(0).method()) {
    methods.push_back(method.name());
  }
  EXPECT_THAT(methods, ::testing::UnorderedElementsAre(
                           "Sign", "BatchSign", "Verify", "ListKeys", "SignJwt",
                           "VerifyJwt", "GetRolloutStatus"));
}

// --- invalid UTF-8 ----------------------------------------------------------

// Protobuf wire encoding by hand, so nothing on the client side validates.
std::string LengthDelimited(int field, const std::string& bytes) {
  std::string out(1, static_cast<char>(field << 3 | 2));
  size_t length = bytes.size();
  while (length >= 0x80) {
    out.push_back(static_cast<char>(0x80 | (length & 0x7f)));
    length >>= 7;
  }
  out.push_back(static_cast<char>(length));
  return out + bytes;
}

grpc::Status RawUnaryCall(const Server& server, const std::string& method,
                          const std::string& request, std::string* reply) {
  grpc::GenericStub stub(ChannelTo(server));
  grpc::ClientContext context;
  SetTestDeadline(&context);
  grpc::ByteBuffer request_buffer = ToBuffer(request);
  grpc::ByteBuffer reply_buffer;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request_buffer,
                 &reply_buffer,
                 [&done](grpc::Status status) { done.set_value(status); });
  grpc::Status status = done.get_future().get();
  if (status.ok()) *reply = ToString(reply_buffer);
  return status;
}

const std::string kInvalidUtf8 = "user-\xff\xfe-\xc3(";

// gRPC 1.51's callback API answers a request it cannot parse with
// UNIMPLEMENTED and an empty message (grpcpp/impl/codegen/
// server_callback_handlers.h); INVALID_ARGUMENT or INTERNAL would be as
// clean. Never OK, never a crash.
const auto kCleanRefusal = ::testing::AnyOf(grpc::StatusCode::UNIMPLEMENTED,
                                            grpc::StatusCode::INVALID_ARGUMENT,
                                            grpc::StatusCode::INTERNAL);

TEST(InvalidUtf8Test, HandEncodingMatchesProtobuf) {
  v1::SignRequest typed;
  typed.set_key(kWebKey);
  typed.mutable_identity()->set_user_id("user-1");
  EXPECT_EQ(LengthDelimited(1, kWebKey) +
                LengthDelimited(2, LengthDelimited(1, "user-1")),
            typed.SerializeAsString());
}

// Invalid UTF-8 in a proto3 string (or a truncated message) is refused before
// the handler runs: the caller gets an error status and no signature, and
// the server keeps going.
TEST(InvalidUtf8Test, IsACleanErrorAndNeverASignature) {
  auto server = StartServer(&env().store());
  const std::string identity = LengthDelimited(1, kInvalidUtf8);
  const std::string as_email = LengthDelimited(2, kInvalidUtf8);
  const std::string hash(64, 'a');
  struct Case {
    std::string method;
    std::string request;
  };
  for (const Case& c : std::vector<Case>{
           {"/idsign.v1.Signer/Sign",
            LengthDelimited(1, kWebKey) + LengthDelimited(2, identity)},
           {"/idsign.v1.Signer/Sign",
            LengthDelimited(1, kWebKey) + LengthDelimited(2, as_email)},
           {"/idsign.v1.Signer/Verify", LengthDelimited(1, kWebKey) +
                                            LengthDelimited(2, identity) +
                                            LengthDelimited(3, hash)},
           {"/idsign.v1.Signer/Sign", "\x0a\x40truncated"},
           {"/idsign.v1.Signer/BatchSign",
            LengthDelimited(1, kWebKey) +
                LengthDelimited(2, LengthDelimited(1, "fine")) +
                LengthDelimited(2, identity)},
       }) {
    std::string reply;
    grpc::Status status = RawUnaryCall(*server, c.method, c.request, &reply);
    EXPECT_THAT(status.error_code(), kCleanRefusal) << c.method;
    EXPECT_TRUE(reply.empty()) << c.method;
    std::cout << "[ observed ] invalid UTF-8 to " << c.method << " -> "
              << status.error_code() << " \"" << status.error_message()
              << "\"\n";
  }
  // The server is still up and signing correctly.
  SignerClient client(*server);
  v1::SignResponse response;
  ASSERT_TRUE(client.Sign(kWebKey, "user-1", "", &response).ok());
  EXPECT_EQ(response.user_hash(),
            OpenSslHmacSha256Hex(env().secret(kWebKey), "user-1"));
}

// The typed C++ stub does not stop a caller from sending invalid UTF-8: the
// outcome is the same.
TEST(InvalidUtf8Test, TypedStubGetsTheSameError) {
  auto server = StartServer(&env().store());
  SignerClient client(*server);
  v1::SignResponse response;
  grpc::Status status = client.Sign(kWebKey, kInvalidUtf8, "", &response);
  EXPECT_THAT(status.error_code(), kCleanRefusal);
  EXPECT_TRUE(response.user_hash().empty());
  std::cout << "[ observed ] typed stub with invalid UTF-8 -> "
            << status.error_code() << " \"" << status.error_message() << "\"\n";
}

// --- addresses --------------------------------------------------------------

TEST(ServerAddressTest, PlaintextOnANonLoopbackAddressIsRefused) {
  for (const char* listen : {"0.0.0.0:0", "[::]:0", "10.1.2.3:0"}) {
    ServerConfig config;
    config.listen = listen;
    auto server = Server::Start(config, &env().store());
    ASSERT_FALSE(server.ok()) << listen;
    EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(std::string(server.status().message()), HasSubstr("TLS"));
  }
}

TEST(ServerAddressTest, ServesOnAUnixSocket) {
  const std::string path =
      idsign::testing::TestToken::Get().dir() + "/idsign.sock";
  ServerConfig config;
  config.listen = "unix:" + path;
  auto server = Server::Start(config, &env().store());
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ((*server)->port(), 0);
  EXPECT_EQ((*server)->address(), "unix:" + path);
  EXPECT_TRUE(std::filesystem::exists(path));
  SignerClient client(grpc::CreateChannel((*server)->address(),
                                          grpc::InsecureChannelCredentials()));
  v1::SignResponse response;
  grpc::Status status = client.Sign(kWebKey, "user-1", "", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.user_hash(),
            OpenSslHmacSha256Hex(env().secret(kWebKey), "user-1"));
}

TEST(ServerAddressTest, BoundPortIsReported) {
  auto server = StartServer(&env().store());
  EXPECT_GT(server->port(), 0);
  EXPECT_EQ(server->address(), "127.0.0.1:" + std::to_string(server->port()));
}

}  // namespace
}  // namespace idsign::service::testing
