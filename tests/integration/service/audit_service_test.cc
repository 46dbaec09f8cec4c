// The audit trail of the gRPC service: a Server with a FileAuditLog writes
// one record per Sign, BatchSign and Verify call, with the caller, request
// id, key, versions, outcome and item counts and never an identifier; the
// file verifies intact in the token. A log that cannot be written makes
// signing fail closed (UNAVAILABLE), unless it is configured fail-open.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "grpcpp/client_context.h"
#include "service/audit/audit_key.h"
#include "service/audit/file_audit_log.h"
#include "service/audit/record.h"
#include "service/audit/verify.h"
#include "service/keys/hsm_key_store.h"
#include "service/keys/key_admin.h"
#include "tests/integration/service/service_fixture.h"
#include "tests/testing/oracle.h"
#include "tests/testing/softhsm_token.h"
#include "tests/testing/status_matchers.h"

namespace idsign::service::testing {
namespace {

using ::idsign::testing::IsOk;
using ::idsign::testing::OpenSslHmacSha256Hex;
using ::idsign::testing::TestToken;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Not;

constexpr char kKey[] = "audited/web/prod";
constexpr char kSecretV1[] = "audited-v1-secret-Lk3Jh4Gf5Dd6Ss7Aa8Qq9Ww0";
constexpr char kSecretV2[] = "audited-v2-secret-Pp1Oo2Ii3Uu4Yy5Tt6Rr7Ee8";

// Identifiers that must never reach the audit file.
constexpr char kUserId[] = "uid-4417-private-marker";
constexpr char kEmail[] = "private.person@marker.example";
constexpr char kBatchUserId[] = "uid-9921-batch-marker";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// The record lines of the file at `path`, parsed.
std::vector<audit::Record> ReadRecords(const std::string& path) {
  std::vector<audit::Record> records;
  for (absl::string_view line :
       absl::StrSplit(ReadAll(path), '\n', absl::SkipEmpty())) {
    absl::StatusOr<audit::ParsedLine> parsed = audit::ParseLine(line);
    EXPECT_TRUE(parsed.ok()) << parsed.status() << ": " << line;
    if (parsed.ok() && parsed->type == audit::LineType::kRecord) {
      records.push_back(parsed->record);
    }
  }
  return records;
}

class AuditServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::unique_ptr<hsm::Token> token = TestToken::Get().Open(true, 2);
    ASSERT_THAT(audit::EnsureAuditKey(*token), IsOk());
    hsm::SecretBytes v1(kSecretV1, sizeof(kSecretV1) - 1);
    hsm::SecretBytes v2(kSecretV2, sizeof(kSecretV2) - 1);
    ASSERT_THAT(keys::ImportKey(*token, kKey, v1), IsOk());
    ASSERT_THAT(keys::RotateKey(*token, kKey, {&v2}, /*make_primary=*/true),
                IsOk());
  }

  void SetUp() override {
    // One more session than signing needs: the audit writer keeps one.
    token_ = TestToken::Get().Open(/*read_write=*/false, /*pool_size=*/4);
    auto store = keys::HsmKeyStore::Create(token_.get());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  void TearDown() override {
    stub_.reset();
    server_.reset();
    log_.reset();
    store_.reset();
    token_.reset();
  }

  void Serve(const std::string& path, audit::FileAuditLogOptions options) {
    path_ = path;
    auto log = audit::FileAuditLog::Open(path, token_.get(), options);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    ServerConfig config;
    config.listen = "127.0.0.1:0";
    config.audit = log_.get();
    auto server = Server::Start(config, store_.get());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    stub_ = v1::Signer::NewStub(ChannelTo(*server_));
  }

  // Sends `request_id` (unless empty) and returns the id the server echoed.
  std::string Prepare(grpc::ClientContext* context,
                      const std::string& request_id) {
    SetTestDeadline(context);
    if (!request_id.empty()) context->AddMetadata("x-request-id", request_id);
    return request_id;
  }
  static std::string Echoed(const grpc::ClientContext& context) {
    const auto& metadata = context.GetServerInitialMetadata();
    auto it = metadata.find("x-request-id");
    if (it == metadata.end()) return "";
    return std::string(it->second.data(), it->second.size());
  }

  grpc::Status Sign(const std::string& key, const std::string& user_id,
                    const std::string& request_id, v1::SignResponse* response,
                    std::string* echoed) {
    grpc::ClientContext context;
    Prepare(&context, request_id);
    v1::SignRequest request;
    request.set_key(key);
    *request.mutable_identity() = MakeIdentity(user_id, "");
    grpc::Status status = stub_->Sign(&context, request, response);
    *echoed = Echoed(context);
    return status;
  }

  std::string path_;
  std::unique_ptr<hsm::Token> token_;
  std::unique_ptr<keys::HsmKeyStore> store_;
  std::unique_ptr<audit::FileAuditLog> log_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<v1::Signer::Stub> stub_;
};

TEST_F(AuditServiceTest, OneRecordPerCallWithoutIdentifiers) {
  Serve(TestToken::Get().dir() + "/service.audit", {});
  const std::string server_peer =
      absl::StrCat("ipv4:127.0.0.1:", server_->port());

  // Sign with a request id of the caller's.
  v1::SignResponse signed_response;
  std::string echoed;
  grpc::Status status =
      Sign(kKey, kUserId, "req-7.a:b_c-d", &signed_response, &echoed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(signed_response.key_version(), 2u);
  EXPECT_EQ(signed_response.user_hash(),
            OpenSslHmacSha256Hex(kSecretV2, kUserId));
  EXPECT_EQ(echoed, "req-7.a:b_c-d");

  // Sign of an unknown key, without a request id: the server makes one.
  v1::SignResponse unknown;
  std::string generated;
  status = Sign("audited/no/such", kUserId, "", &unknown, &generated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(generated, MatchesRegex("[0-9a-f]{16}"));

  // A request id with characters outside the allowed set is replaced.
  std::string replaced;
  ASSERT_TRUE(
      Sign(kKey, kUserId, "bad id/with space", &signed_response, &replaced)
          .ok());
  EXPECT_THAT(replaced, MatchesRegex("[0-9a-f]{16}"));

  // BatchSign: three identities, one of them unidentified.
  grpc::ClientContext batch_context;
  Prepare(&batch_context, "batch-1");
  v1::BatchSignRequest batch;
  batch.set_key(kKey);
  *batch.add_identities() = MakeIdentity(kBatchUserId, "");
  *batch.add_identities() = MakeIdentity("", "");
  *batch.add_identities() = MakeIdentity("", kEmail);
  v1::BatchSignResponse batch_response;
  ASSERT_TRUE(stub_->BatchSign(&batch_context, batch, &batch_response).ok());
  ASSERT_EQ(batch_response.results_size(), 3);
  EXPECT_TRUE(batch_response.results(1).has_error());
  EXPECT_EQ(batch_response.results(2).response().user_hash(),
            OpenSslHmacSha256Hex(kSecretV2, kEmail));
  EXPECT_EQ(Echoed(batch_context), "batch-1");

  // Verify: a v1 hash (valid, version 1) and a wrong one (invalid).
  for (const auto& [request_id, hash] :
       std::vector<std::pair<std::string, std::string>>{
           {"verify-ok", OpenSslHmacSha256Hex(kSecretV1, kEmail)},
           {"verify-bad", std::string(64, '0')}}) {
    grpc::ClientContext context;
    Prepare(&context, request_id);
    v1::VerifyRequest request;
    request.set_key(kKey);
    *request.mutable_identity() = MakeIdentity("", kEmail);
    request.set_user_hash(hash);
    v1::VerifyResponse verified;
    ASSERT_TRUE(stub_->Verify(&context, request, &verified).ok());
    EXPECT_EQ(verified.valid(), request_id == "verify-ok");
    EXPECT_EQ(Echoed(context), request_id);
  }

  // ListKeys is not a signing call: no record.
  v1::ListKeysResponse listed;
  SignerClient(*server_).ListKeys(&listed);

  server_.reset();
  ASSERT_THAT(log_->Close(), IsOk());
  const std::vector<audit::Record> records = ReadRecords(path_);
  ASSERT_EQ(records.size(), 6u);
  for (const audit::Record& record : records) {
    SCOPED_TRACE(record.request_id);
    EXPECT_THAT(record.caller, MatchesRegex("ipv4:127\\.0\\.0\\.1:[0-9]+"));
    EXPECT_NE(record.caller, server_peer);
    EXPECT_GE(record.latency_us, 0);
    EXPECT_THAT(record.details, IsEmpty());
  }
  const audit::Record& sign = records[0];
  EXPECT_EQ(sign.operation, "Sign");
  EXPECT_EQ(sign.request_id, "req-7.a:b_c-d");
  EXPECT_EQ(sign.key, kKey);
  EXPECT_THAT(sign.versions, ElementsAre(2u));
  EXPECT_EQ(sign.outcome, absl::StatusCode::kOk);
  EXPECT_EQ(sign.items, 1u);
  EXPECT_EQ(sign.failed_items, 0u);

  const audit::Record& missing = records[1];
  EXPECT_EQ(missing.operation, "Sign");
  EXPECT_EQ(missing.request_id, generated);
  EXPECT_EQ(missing.key, "audited/no/such");
  EXPECT_THAT(missing.versions, IsEmpty());
  EXPECT_EQ(missing.outcome, absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.items, 1u);
  EXPECT_EQ(missing.failed_items, 1u);

  EXPECT_EQ(records[2].request_id, replaced);

  const audit::Record& batch_record = records[3];
  EXPECT_EQ(batch_record.operation, "BatchSign");
  EXPECT_EQ(batch_record.request_id, "batch-1");
  EXPECT_THAT(batch_record.versions, ElementsAre(2u));
  EXPECT_EQ(batch_record.outcome, absl::StatusCode::kOk);
  EXPECT_EQ(batch_record.items, 3u);
  EXPECT_EQ(batch_record.failed_items, 1u);

  const audit::Record& verified = records[4];
  EXPECT_EQ(verified.operation, "Verify");
  EXPECT_EQ(verified.request_id, "verify-ok");
  EXPECT_THAT(verified.versions, ElementsAre(1u));
  EXPECT_EQ(verified.outcome, absl::StatusCode::kOk);
  EXPECT_EQ(verified.failed_items, 0u);
  const audit::Record& refused = records[5];
  EXPECT_EQ(refused.operation, "Verify");
  EXPECT_EQ(refused.request_id, "verify-bad");
  EXPECT_THAT(refused.versions, IsEmpty());
  EXPECT_EQ(refused.outcome, absl::StatusCode::kOk);
  EXPECT_EQ(refused.items, 1u);
  EXPECT_EQ(refused.failed_items, 1u);

  // No identifier, hash or secret anywhere in the file's bytes.
  const std::string bytes = ReadAll(path_);
  for (const std::string& needle :
       {std::string(kUserId), std::string(kEmail), std::string(kBatchUserId),
        std::string("private"), std::string("marker"),
        OpenSslHmacSha256Hex(kSecretV2, kUserId),
        OpenSslHmacSha256Hex(kSecretV2, kEmail), std::string(kSecretV1),
        std::string(kSecretV2)}) {
    EXPECT_THAT(bytes, Not(HasSubstr(needle)));
  }

  // Close sealed the file: it verifies intact, every record covered.
  absl::StatusOr<audit::VerifyReport> report =
      audit::VerifyAuditLog(path_, *token_);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->intact()) << audit::FormatVerifyReport(*report);
  EXPECT_EQ(report->records, 6u);
  EXPECT_GE(report->checkpoints, 1u);
  EXPECT_EQ(report->covered_records, 6u);
  EXPECT_EQ(report->uncovered_records, 0u);
}

// The token with its signature's first character changed.
std::string BadSignature(std::string jwt) {
  char& first = jwt[jwt.rfind('.') + 1];
  first = first == 'A' ? 'B' : 'A';
  return jwt;
}

// SignJwt and VerifyJwt are recorded like Sign and Verify; neither the
// token nor a claim nor the identity reaches the file.
TEST_F(AuditServiceTest, JwtCallsAreRecordedWithoutTokensOrClaims) {
  Serve(TestToken::Get().dir() + "/jwt.audit", {});
  v1::SignJwtRequest sign;
  sign.set_key(kKey);
  *sign.mutable_identity() = MakeIdentity(kUserId, kEmail);
  (*sign.mutable_claims()->mutable_fields())["plan"].set_string_value(
      "claim-marker-value");
  v1::SignJwtResponse signed_jwt;
  {
    grpc::ClientContext context;
    Prepare(&context, "jwt-sign");
    ASSERT_TRUE(stub_->SignJwt(&context, sign, &signed_jwt).ok());
  }
  for (const auto& [request_id, jwt] :
       std::vector<std::pair<std::string, std::string>>{
           {"jwt-ok", signed_jwt.jwt()},
           {"jwt-bad", BadSignature(signed_jwt.jwt())}}) {
    grpc::ClientContext context;
    Prepare(&context, request_id);
    v1::VerifyJwtRequest request;
    request.set_key(kKey);
    request.set_jwt(jwt);
    v1::VerifyJwtResponse verified;
    grpc::Status status = stub_->VerifyJwt(&context, request, &verified);
    ASSERT_TRUE(status.ok()) << request_id << ": " << status.error_message();
    EXPECT_EQ(verified.valid(), request_id == "jwt-ok");
  }
  server_.reset();
  ASSERT_THAT(log_->Close(), IsOk());
  const std::vector<audit::Record> records = ReadRecords(path_);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].operation, "SignJwt");
  EXPECT_EQ(records[0].request_id, "jwt-sign");
  EXPECT_THAT(records[0].versions, ElementsAre(2u));
  EXPECT_EQ(records[0].failed_items, 0u);
  EXPECT_EQ(records[1].operation, "VerifyJwt");
  EXPECT_THAT(records[1].versions, ElementsAre(2u));
  EXPECT_EQ(records[1].failed_items, 0u);
  EXPECT_EQ(records[2].operation, "VerifyJwt");
  EXPECT_THAT(records[2].versions, IsEmpty());
  EXPECT_EQ(records[2].outcome, absl::StatusCode::kOk);
  EXPECT_EQ(records[2].failed_items, 1u);
  const std::string bytes = ReadAll(path_);
  const std::vector<std::string> segments =
      absl::StrSplit(signed_jwt.jwt(), '.');
  for (const std::string& needle :
       {std::string(kUserId), std::string(kEmail), std::string("marker"),
        segments[1], segments[2]}) {
    EXPECT_THAT(bytes, Not(HasSubstr(needle)));
  }
}

// /dev/full accepts the open and refuses every write (ENOSPC).
TEST_F(AuditServiceTest, UnwritableLogFailsClosed) {
  Serve("/dev/full", {});
  v1::SignResponse response;
  std::string echoed;
  // Records are written off the request path: the first call may be
  // accepted before the writer finds the file unwritable. Flush makes the
  // writer try now and report.
  (void)Sign(kKey, kUserId, "", &response, &echoed);
  EXPECT_THAT(log_->Flush(), Not(IsOk()));
  EXPECT_FALSE(log_->Stats().healthy);

  for (int i = 0; i < 3; ++i) {
    v1::SignResponse refused;
    grpc::Status status = Sign(kKey, kUserId, "", &refused, &echoed);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_THAT(status.error_message(), HasSubstr("audit log"));
    EXPECT_TRUE(refused.user_hash().empty());
  }
  grpc::ClientContext context;
  SetTestDeadline(&context);
  v1::BatchSignRequest batch;
  batch.set_key(kKey);
  *batch.add_identities() = MakeIdentity(kUserId, "");
  v1::BatchSignResponse batch_response;
  grpc::Status status = stub_->BatchSign(&context, batch, &batch_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(batch_response.results_size(), 0);
  EXPECT_GE(log_->Stats().rejected, 1u);
}

TEST_F(AuditServiceTest, UnwritableLogFailOpenKeepsSigning) {
  audit::FileAuditLogOptions options;
  options.fail_closed = false;
  Serve("/dev/full", options);
  for (int i = 0; i < 4; ++i) {
    v1::SignResponse response;
    std::string echoed;
    grpc::Status status = Sign(kKey, kUserId, "", &response, &echoed);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.user_hash(), OpenSslHmacSha256Hex(kSecretV2, kUserId));
    // Flush returns once the writer has tried every record so far; its own
    // status is that of the last write, which may have had nothing left to
    // write.
    log_->Flush().IgnoreError();
    EXPECT_THAT(log_->Health(), IsOk());
  }
  const audit::FileAuditLogStats stats = log_->Stats();
  EXPECT_EQ(stats.appended, 4u);
  EXPECT_EQ(stats.dropped, 4u);
  EXPECT_EQ(stats.written, 0u);
  EXPECT_EQ(stats.rejected, 0u);
  EXPECT_GE(stats.write_failures, 1u);
}

}  // namespace
}  // namespace idsign::service::testing
