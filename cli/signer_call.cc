#include "cli/signer_call.h"

#include "absl/strings/str_cat.h"
#include "service/rollout.h"

namespace idsign::cli {

void AddIdentityFlags(CLI::App* command, IdentityFlags* flags,
                      bool exclusive_identity) {
  AddServerFlags(command, &flags->server);
  command->add_option("--key", flags->key, "logical key name")->required();
  CLI::Option* user_id = command->add_option(
      "--user-id", flags->user_id, "the user's id (exact bytes are signed)");
  CLI::Option* email = command->add_option(
      "--email", flags->email,
      exclusive_identity ? "the user's e-mail, when there is no user id"
                         : "the user's e-mail (signed when there is no user "
                           "id; added to the payload either way)");
  if (exclusive_identity) user_id->excludes(email);
}

std::string FillIdentity(const IdentityFlags& flags, v1::Identity* identity) {
  identity->set_user_id(flags.user_id);
  identity->set_email(flags.email);
  if (flags.user_id.empty() && flags.email.empty()) {
    return "give --user-id or --email (a non-empty value)";
  }
  return "";
}

void AddEncodingFlag(CLI::App* command, std::string* name) {
  command
      ->add_option("--encoding", *name,
                   "how to write the hash: hex (lowercase) or base64url (no "
                   "padding)")
      ->check(CLI::IsMember({"hex", "base64url"}))
      ->capture_default_str();
}

v1::Encoding EncodingNamed(const std::string& name) {
  return name == "base64url" ? v1::ENCODING_BASE64URL : v1::ENCODING_HEX;
}

std::string DecisionText(v1::Decision decision, v1::RolloutMode mode) {
  const char* name = decision == v1::DECISION_ALLOW  ? "allow"
                     : decision == v1::DECISION_DENY ? "deny"
                                                     : "unspecified";
  return absl::StrCat("decision: ", name, ", ", service::RolloutModeName(mode),
                      " mode");
}

}  // namespace idsign::cli
