#include "service/listen_address.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/testing/status_matchers.h"

namespace idsign::service {
namespace {

using ::idsign::testing::IsOk;
using ::idsign::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

ListenAddress ParseOrDie(const std::string& text) {
  auto address = ParseListenAddress(text);
  EXPECT_THAT(address, IsOk()) << text;
  return address.ok() ? *address : ListenAddress{};
}

TEST(ListenAddressTest, LoopbackAddressesAllowPlaintext) {
  for (const char* text : {"127.0.0.1:50051", "127.0.0.1:0", "127.5.6.7:65535",
                           "[::1]:50051", "localhost:8080"}) {
    ListenAddress address = ParseOrDie(text);
    EXPECT_TRUE(address.is_loopback) << text;
    EXPECT_FALSE(address.is_unix) << text;
    EXPECT_EQ(address.grpc_uri, text);
    EXPECT_THAT(CheckPlaintextAllowed(address), IsOk()) << text;
  }
}

TEST(ListenAddressTest, UnixSocketWithAbsolutePath) {
  ListenAddress address = ParseOrDie("unix:/run/idsign/idsign.sock");
  EXPECT_TRUE(address.is_unix);
  EXPECT_EQ(address.unix_path, "/run/idsign/idsign.sock");
  EXPECT_EQ(address.grpc_uri, "unix:/run/idsign/idsign.sock");
  EXPECT_THAT(CheckPlaintextAllowed(address), IsOk());
}

TEST(ListenAddressTest, UnixSocketInUriForm) {
  ListenAddress address = ParseOrDie("unix:///tmp/idsign.sock");
  EXPECT_TRUE(address.is_unix);
  EXPECT_EQ(address.unix_path, "/tmp/idsign.sock");
  EXPECT_EQ(address.grpc_uri, "unix:/tmp/idsign.sock");
}

TEST(ListenAddressTest, RelativeOrEmptyUnixPathIsRefused) {
  for (const char* text :
       {"unix:relative.sock", "unix:run/idsign.sock", "unix:", "unix://"}) {
    EXPECT_THAT(ParseListenAddress(text),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("absolute path")))
        << text;
  }
}

TEST(ListenAddressTest, NonLoopbackAddressesNeedTls) {
  for (const char* text :
       {"0.0.0.0:50051", "10.1.2.3:50051", "[::]:50051", "128.0.0.1:50051",
        "192.168.0.1:1", "example.com:443", "localhost.example.com:50051",
        "[2001:db8::1]:50051"}) {
    ListenAddress address = ParseOrDie(text);
    EXPECT_FALSE(address.is_loopback) << text;
    EXPECT_FALSE(address.is_unix) << text;
    EXPECT_THAT(CheckPlaintextAllowed(address),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         AllOf(HasSubstr("TLS"), HasSubstr(text))))
        << text;
  }
}

TEST(ListenAddressTest, BadPortsAreRefused) {
  for (const char* text :
       {"127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:", "127.0.0.1:http",
        "127.0.0.1:80x", "127.0.0.1:99999999999", "[::1]:65536"}) {
    EXPECT_THAT(ParseListenAddress(text),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("port must be a number from 0 to 65535")))
        << text;
  }
}

TEST(ListenAddressTest, MalformedAddressesAreRefused) {
  EXPECT_THAT(
      ParseListenAddress("127.0.0.1"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("host:port")));
  EXPECT_THAT(ParseListenAddress(""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseListenAddress(":50051"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("host is missing")));
  EXPECT_THAT(ParseListenAddress("[]:50051"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("host is missing")));
  EXPECT_THAT(
      ParseListenAddress("::1:50051"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("brackets")));
}

}  // namespace
}  // namespace idsign::service
