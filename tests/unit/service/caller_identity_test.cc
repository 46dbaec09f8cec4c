// The caller identity order (URI SAN, then DNS SAN, then CN) and the TLS
// flag rules of idsignd.
#include "service/caller_identity.h"

#include <gtest/gtest.h>

#include "service/server_tls.h"

namespace idsign::service {
namespace {

TEST(IdentityFromCertificateTest, PrefersUriThenDnsThenCommonName) {
  PeerCertificateNames names{
      .uris = {"spiffe://example.org/a", "spiffe://example.org/b"},
      .dns_names = {"a.example"},
      .common_name = "a"};
  EXPECT_EQ(IdentityFromCertificate(names), "spiffe://example.org/a");
  names.uris.clear();
  EXPECT_EQ(IdentityFromCertificate(names), "a.example");
  names.dns_names.clear();
  EXPECT_EQ(IdentityFromCertificate(names), "a");
  names.common_name.clear();
  EXPECT_EQ(IdentityFromCertificate(names), "");
}

TEST(CheckTlsFlagsTest, NeedsCertificateAndKeyTogether) {
  EXPECT_TRUE(CheckTlsFlags({}).ok());
  EXPECT_TRUE(CheckTlsFlags({.cert = "c", .key = "k"}).ok());
  EXPECT_TRUE(CheckTlsFlags({.cert = "c", .key = "k", .client_ca = "a"}).ok());
  EXPECT_EQ(CheckTlsFlags({.cert = "c"}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckTlsFlags({.key = "k"}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckTlsFlags({.client_ca = "a"}).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ServerTlsTest, RefusesUnreadableFiles) {
  absl::StatusOr<std::unique_ptr<ServerTls>> made = ServerTls::Open(
      {.cert = "/nonexistent/cert.pem", .key = "/nonexistent/k"});
  EXPECT_EQ(made.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(made.status().message().find("--tls-cert=/nonexistent/cert.pem"),
            absl::string_view::npos);
}

}  // namespace
}  // namespace idsign::service
