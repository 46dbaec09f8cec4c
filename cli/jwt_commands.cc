// idsign sign-jwt | verify-jwt: HS256 JWTs from a running idsignd.
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "cli/common.h"
#include "cli/signer_call.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace idsign::cli {
namespace {

struct SignJwtFlags {
  IdentityFlags identity;
  std::string ttl;
  std::vector<std::string> string_claims;
  std::vector<std::string> number_claims;
  std::vector<std::string> bool_claims;
  bool json = false;
};

struct VerifyJwtFlags {
  ServerFlags server;
  std::string key;
  std::string jwt_file = "-";
  bool json = false;
};

// Splits NAME=VALUE; a usage error message when there is no '=' or no name.
std::string SplitClaim(const std::string& flag, const std::string& text,
                       std::string* name, std::string* value) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return absl::StrCat(flag, " \"", text, "\": expected NAME=VALUE");
  }
  *name = text.substr(0, eq);
  *value = text.substr(eq + 1);
  return "";
}

// Adds the --claim* flags to the request's claims; a usage error message
// for a malformed one. The server checks names and types again.
std::string FillClaims(const SignJwtFlags& flags,
                       google::protobuf::Struct* claims) {
  auto& fields = *claims->mutable_fields();
  std::string name, value, problem;
  for (const std::string& text : flags.string_claims) {
    problem = SplitClaim("--claim", text, &name, &value);
    if (!problem.empty()) return problem;
    fields[name].set_string_value(value);
  }
  for (const std::string& text : flags.number_claims) {
    problem = SplitClaim("--claim-number", text, &name, &value);
    if (!problem.empty()) return problem;
    double number = 0;
    if (!absl::SimpleAtod(value, &number)) {
      return absl::StrCat("--claim-number ", name, ": \"", value,
                          "\" is not a number");
    }
    fields[name].set_number_value(number);
  }
  for (const std::string& text : flags.bool_claims) {
    problem = SplitClaim("--claim-bool", text, &name, &value);
    if (!problem.empty()) return problem;
    if (value != "true" && value != "false") {
      return absl::StrCat("--claim-bool ", name, ": expected true or false");
    }
    fields[name].set_bool_value(value == "true");
  }
  return "";
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

int SignJwt(const SignJwtFlags& flags) {
  v1::SignJwtRequest request;
  request.set_key(flags.identity.key);
  std::string problem =
      FillIdentity(flags.identity, request.mutable_identity());
  if (problem.empty()) problem = FillClaims(flags, request.mutable_claims());
  if (!problem.empty()) return UsageError(problem);
  if (!flags.ttl.empty()) {
    absl::Duration ttl;
    if (!absl::ParseDuration(flags.ttl, &ttl) || ttl <= absl::ZeroDuration()) {
      return UsageError(absl::StrCat("--ttl \"", flags.ttl,
                                     "\": expected a positive duration such "
                                     "as 15m or 1h"));
    }
    *request.mutable_ttl() =
        google::protobuf::util::TimeUtil::NanosecondsToDuration(
            absl::ToInt64Nanoseconds(ttl));
  }
  v1::SignJwtResponse response;
  if (std::optional<int> exit =
          CallSigner(flags.identity.server, &v1::Signer::Stub::SignJwt, request,
                     &response)) {
    return *exit;
  }
  std::cout << (flags.json ? ToJson(response) : response.jwt()) << "\n";
  return kExitOk;
}

// The JWT from a file or stdin ("-"), without surrounding whitespace.
absl::StatusOr<std::string> ReadJwt(const std::string& path) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read --jwt-file ", path));
    }
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  return std::string(absl::StripAsciiWhitespace(text));
}

int VerifyJwt(const VerifyJwtFlags& flags) {
  absl::StatusOr<std::string> jwt = ReadJwt(flags.jwt_file);
  if (!jwt.ok()) return ReportError(jwt.status());
  v1::VerifyJwtRequest request;
  request.set_key(flags.key);
  request.set_jwt(*jwt);
  v1::VerifyJwtResponse response;
  if (std::optional<int> exit = CallSigner(
          flags.server, &v1::Signer::Stub::VerifyJwt, request, &response)) {
    return *exit;
  }
  if (flags.json) {
    std::cout << ToJson(response) << "\n";
    return response.valid() ? kExitOk : kExitInvalid;
  }
  const std::string decision =
      DecisionText(response.decision(), response.mode());
  if (!response.valid()) {
    std::cout << (response.reason() == v1::VERIFY_REASON_MISSING ? "missing"
                                                                 : "invalid");
    if (!response.detail().empty()) std::cout << ": " << response.detail();
    std::cout << " (" << decision << ")\n";
    return kExitInvalid;
  }
  std::cout << "valid (key version " << response.key_version() << "; "
            << decision << ")\n"
            << ToJson(response.claims()) << "\n";
  return kExitOk;
}

}  // namespace

void AddJwtCommands(CLI::App* app, Action* action) {
  auto sign_flags = std::make_shared<SignJwtFlags>();
  CLI::App* sign = app->add_subcommand(
      "sign-jwt", "print an HS256 JWT for one identity, signed in the HSM");
  sign->footer(
      "Print an HS256 JWT whose payload holds user_id (and email when "
      "given), iat, exp and the extra claims. The server refuses reserved "
      "claim names (user_id, email, iat, exp, nbf, iss, sub, aud, jti) and "
      "ttls above its --jwt-max-ttl. --json prints the whole response.");
  AddIdentityFlags(sign, &sign_flags->identity, /*exclusive_identity=*/false);
  sign->add_option("--ttl", sign_flags->ttl,
                   "lifetime, e.g. 15m or 1h (server default: 1h)");
  sign->add_option("--claim", sign_flags->string_claims,
                   "an extra string claim NAME=VALUE (repeatable)");
  sign->add_option("--claim-number", sign_flags->number_claims,
                   "an extra number claim NAME=NUMBER (repeatable)");
  sign->add_option("--claim-bool", sign_flags->bool_claims,
                   "an extra boolean claim NAME=true|false (repeatable)");
  sign->add_flag("--json", sign_flags->json, "print the response as JSON");
  sign->callback([=] { *action = [=] { return SignJwt(*sign_flags); }; });

  auto verify_flags = std::make_shared<VerifyJwtFlags>();
  CLI::App* verify = app->add_subcommand(
      "verify-jwt", "check an HS256 JWT: signature in the HSM, then times");
  verify->footer(
      "Check a JWT read from --jwt-file (default: stdin; a JWT is a bearer "
      "credential, so it is never taken from the command line). Exits 0 and "
      "prints \"valid\" and the claims if the signature matches a version of "
      "the key and exp, nbf and iat hold; exits 1 and prints why not "
      "otherwise; 2 or 3 on errors. The server's decision under the key's "
      "rollout mode is shown too.");
  AddServerFlags(verify, &verify_flags->server);
  verify->add_option("--key", verify_flags->key, "logical key name")
      ->required();
  verify
      ->add_option("--jwt-file", verify_flags->jwt_file,
                   "file holding the JWT; - for stdin")
      ->capture_default_str();
  verify->add_flag("--json", verify_flags->json, "print the response as JSON");
  verify->callback([=] { *action = [=] { return VerifyJwt(*verify_flags); }; });
}

}  // namespace idsign::cli
