// idsign sign | verify | batch-sign: clients of a running idsignd.
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/common.h"
#include "cli/signer_call.h"
#include "google/protobuf/util/json_util.h"
#include "idsign/v1/signer.grpc.pb.h"

namespace idsign::cli {
namespace {

struct SignFlags {
  IdentityFlags identity;
  std::string encoding = "hex";
};

struct VerifyFlags {
  IdentityFlags identity;
  std::string user_hash;
};

int Sign(const SignFlags& flags) {
  v1::SignRequest request;
  request.set_key(flags.identity.key);
  request.set_encoding(EncodingNamed(flags.encoding));
  std::string problem =
      FillIdentity(flags.identity, request.mutable_identity());
  if (!problem.empty()) return UsageError(problem);
  v1::SignResponse response;
  if (std::optional<int> exit = CallSigner(
          flags.identity.server, &v1::Signer::Stub::Sign, request, &response)) {
    return *exit;
  }
  std::cout << response.user_hash() << "\n";
  return kExitOk;
}

int Verify(const VerifyFlags& flags) {
  v1::VerifyRequest request;
  request.set_key(flags.identity.key);
  request.set_user_hash(flags.user_hash);
  std::string problem =
      FillIdentity(flags.identity, request.mutable_identity());
  if (!problem.empty()) return UsageError(problem);
  v1::VerifyResponse response;
  if (std::optional<int> exit =
          CallSigner(flags.identity.server, &v1::Signer::Stub::Verify, request,
                     &response)) {
    return *exit;
  }
  const std::string decision =
      DecisionText(response.decision(), response.mode());
  if (!response.valid()) {
    const char* what =
        response.reason() == v1::VERIFY_REASON_MISSING ? "missing" : "invalid";
    std::cout << what << " (" << decision << ")\n";
    return kExitInvalid;
  }
  std::cout << "valid (key version " << response.key_version() << "; "
            << decision << ")\n";
  return kExitOk;
}

struct BatchFlags {
  ServerFlags server;
  std::string key;
  std::string encoding = "hex";
  uint32_t chunk = 1000;
};

int BatchSign(const BatchFlags& flags) {
  if (flags.chunk == 0) return UsageError("--chunk must be at least 1");
  // Read and check all input first: a bad line signs nothing.
  std::vector<v1::Identity> identities;
  std::string line;
  size_t line_number = 0;
  while (std::getline(std::cin, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    v1::Identity identity;
    auto parsed = google::protobuf::util::JsonStringToMessage(line, &identity);
    if (!parsed.ok()) {
      return UsageError(absl::StrCat(
          "stdin line ", line_number,
          ": expected a JSON object such as {\"user_id\":\"42\"} or "
          "{\"email\":\"a@example.com\"}: ",
          parsed.message().as_string()));
    }
    identities.push_back(std::move(identity));
  }

  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      Connect(flags.server);
  if (!channel.ok()) return ReportError(channel.status());
  auto stub = v1::Signer::NewStub(*channel);
  std::vector<v1::BatchSignResult> results;
  results.reserve(identities.size());
  for (size_t start = 0; start < identities.size(); start += flags.chunk) {
    v1::BatchSignRequest request;
    request.set_key(flags.key);
    request.set_encoding(EncodingNamed(flags.encoding));
    const size_t end = std::min<size_t>(identities.size(), start + flags.chunk);
    for (size_t i = start; i < end; ++i) {
      *request.add_identities() = identities[i];
    }
    absl::StatusOr<absl::Time> deadline = Deadline(flags.server);
    if (!deadline.ok()) return ReportError(deadline.status());
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(*deadline));
    v1::BatchSignResponse response;
    grpc::Status status = stub->BatchSign(&context, request, &response);
    if (!status.ok()) {
      std::cerr << "idsign: nothing printed; the batch starting at identity "
                << start + 1 << " failed\n";
      return ReportRpcError(status);
    }
    for (auto& result : *response.mutable_results()) {
      results.push_back(std::move(result));
    }
  }
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  for (const v1::BatchSignResult& result : results) {
    std::string json;
    (void)google::protobuf::util::MessageToJsonString(result, &json, options);
    std::cout << json << "\n";
  }
  return kExitOk;
}

}  // namespace

void AddClientCommands(CLI::App* app, Action* action) {
  auto sign_flags = std::make_shared<SignFlags>();
  CLI::App* sign =
      app->add_subcommand("sign", "print the user_hash of one identity");
  sign->footer(
      "Print the user_hash of one identity: the HMAC-SHA256 of the user id "
      "(or, without one, the e-mail) as 64 lowercase hex digits, or 43 "
      "base64url characters with --encoding=base64url. A legacy-sha1 key "
      "version gives SHA-1(secret || data): 40 hex or 27 base64url.");
  AddIdentityFlags(sign, &sign_flags->identity, /*exclusive_identity=*/true);
  AddEncodingFlag(sign, &sign_flags->encoding);
  sign->callback([=] { *action = [=] { return Sign(*sign_flags); }; });

  auto verify_flags = std::make_shared<VerifyFlags>();
  CLI::App* verify =
      app->add_subcommand("verify", "check a user_hash inside the HSM");
  verify->footer(
      "Check a user_hash inside the HSM. Exits 0 and prints \"valid\" if it "
      "matches a version of the key; exits 1 and prints \"invalid\" (or "
      "\"missing\" for an empty --user-hash) if not; 2 or 3 on errors. The "
      "line also shows the server's decision under the key's rollout mode: "
      "in monitor mode an invalid or missing hash is still allowed.");
  AddIdentityFlags(verify, &verify_flags->identity,
                   /*exclusive_identity=*/true);
  verify
      ->add_option("--user-hash", verify_flags->user_hash,
                   "the hash to check: hex (64 digits, either case) or "
                   "base64url (43 characters); 40 or 27 for legacy-sha1 "
                   "keys; empty (--user-hash=) means missing")
      ->required()
      ->expected(0, 1);
  verify->callback([=] { *action = [=] { return Verify(*verify_flags); }; });

  auto batch_flags = std::make_shared<BatchFlags>();
  CLI::App* batch = app->add_subcommand(
      "batch-sign", "sign identities read from stdin (JSON lines)");
  batch->footer(
      "Sign identities read from stdin. Input: one JSON object per line, "
      "{\"user_id\":\"...\"} or {\"email\":\"...\"} (with both, user_id is "
      "signed); blank lines are skipped. Output: one JSON line per identity, "
      "in order: {\"response\":{\"user_hash\":...}} or "
      "{\"error\":{\"code\":3,\"message\":...}}. All input is checked before "
      "anything is sent, and nothing is printed if a call fails.");
  AddServerFlags(batch, &batch_flags->server);
  batch->add_option("--key", batch_flags->key, "logical key name")->required();
  AddEncodingFlag(batch, &batch_flags->encoding);
  batch
      ->add_option("--chunk", batch_flags->chunk,
                   "identities per BatchSign call; keep it within the "
                   "server's --max-batch")
      ->capture_default_str();
  batch->callback([=] { *action = [=] { return BatchSign(*batch_flags); }; });
}

}  // namespace idsign::cli
