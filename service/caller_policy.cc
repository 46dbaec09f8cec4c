#include "service/caller_policy.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "hsm/log.h"
#include "service/keys/key_name.h"
#include "service/policy.pb.h"

namespace idsign::service {
namespace {

constexpr struct {
  Operation operation;
  absl::string_view name;
} kOperations[] = {{Operation::kSign, "sign"},
                   {Operation::kBatchSign, "batch_sign"},
                   {Operation::kVerify, "verify"},
                   {Operation::kSignJwt, "sign_jwt"},
                   {Operation::kVerifyJwt, "verify_jwt"},
                   {Operation::kRolloutStatus, "rollout_status"},
                   {Operation::kListKeys, "list_keys"}};

constexpr size_t kMaxEchoedKey = 128;

bool KeyIgnored(Operation operation, absl::string_view key) {
  return operation == Operation::kListKeys ||
         (operation == Operation::kRolloutStatus && key.empty());
}

}  // namespace

absl::string_view OperationName(Operation operation) {
  for (const auto& entry : kOperations) {
    if (entry.operation == operation) return entry.name;
  }
  return "unknown";
}

std::optional<Operation> ParseOperation(absl::string_view name) {
  for (const auto& entry : kOperations) {
    if (entry.name == name) return entry.operation;
  }
  return std::nullopt;
}

absl::StatusOr<Policy> Policy::Parse(absl::string_view json) {
  policy::v1::PolicyFile file;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      std::string(json), &file, options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "not a policy file: ",
        absl::string_view(parsed.message().data(), parsed.message().size())));
  }
  Policy policy;
  for (int i = 0; i < file.rules_size(); ++i) {
    const policy::v1::Rule& in = file.rules(i);
    auto fail = [&](absl::string_view what) {
      return absl::InvalidArgumentError(
          absl::StrCat("rule ", i, " (caller \"", in.caller(), "\"): ", what));
    };
    if (in.caller().empty()) return fail("caller is empty");
    if (in.operations().empty()) return fail("operations is empty");
    if (in.keys().empty()) return fail("keys is empty");
    Rule rule;
    rule.caller = in.caller();
    for (const std::string& name : in.operations()) {
      std::optional<Operation> operation = ParseOperation(name);
      if (!operation.has_value()) {
        return fail(absl::StrCat(
            "unknown operation \"", name,
            "\" (expected sign, batch_sign, verify, sign_jwt, verify_jwt, "
            "rollout_status or list_keys)"));
      }
      rule.operations.push_back(*operation);
    }
    for (const std::string& key : in.keys()) {
      const size_t star = key.find('*');
      if (star != std::string::npos && star != key.size() - 1) {
        return fail(
            absl::StrCat("key \"", key, "\": '*' may only end a key prefix"));
      }
      const bool prefix = star != std::string::npos;
      const std::string stem = key.substr(0, prefix ? star : key.size());
      // A prefix must be the start of some valid key name.
      absl::Status valid = keys::ValidateKeyName(prefix ? stem + "x" : stem);
      if (!valid.ok()) {
        return fail(absl::StrCat("key \"", key, "\": ", valid.message()));
      }
      (prefix ? rule.key_prefixes : rule.exact_keys).push_back(stem);
    }
    policy.rules_.push_back(std::move(rule));
  }
  return policy;
}

absl::StatusOr<Policy> Policy::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read the policy file ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<Policy> policy = Parse(text.str());
  if (!policy.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("policy file ", path, ": ", policy.status().message()));
  }
  return policy;
}

bool Policy::Allows(absl::string_view caller, Operation operation,
                    absl::string_view key) const {
  for (const Rule& rule : rules_) {
    if (rule.caller != caller) continue;
    if (std::find(rule.operations.begin(), rule.operations.end(), operation) ==
        rule.operations.end()) {
      continue;
    }
    if (KeyIgnored(operation, key)) return true;
    for (const std::string& exact : rule.exact_keys) {
      if (exact == key) return true;
    }
    for (const std::string& prefix : rule.key_prefixes) {
      if (absl::StartsWith(key, prefix)) return true;
    }
  }
  return false;
}

absl::StatusOr<std::unique_ptr<CallerPolicy>> CallerPolicy::Open(
    const std::string& path) {
  absl::StatusOr<Policy> policy = Policy::Load(path);
  if (!policy.ok()) return policy.status();
  log::Info("policy_loaded", absl::StrCat("path=", log::Quote(path),
                                          " rules=", policy->rule_count()));
  return std::unique_ptr<CallerPolicy>(
      new CallerPolicy(path, std::move(*policy)));
}

absl::Status CallerPolicy::Reload(absl::string_view trigger) {
  absl::StatusOr<Policy> policy = Policy::Load(path_);
  if (!policy.ok()) {
    log::Error("policy_reload_failed",
               absl::StrCat("trigger=", trigger, " action=keep_last_good",
                            " reason=", log::Quote(policy.status().message())));
    return policy.status();
  }
  const size_t rules = policy->rule_count();
  {
    absl::MutexLock lock(&mu_);
    policy_ = std::make_shared<const Policy>(std::move(*policy));
  }
  log::Write(trigger == "interval" ? log::Level::kDebug : log::Level::kInfo,
             "policy_reloaded",
             absl::StrCat("trigger=", trigger, " rules=", rules));
  return absl::OkStatus();
}

absl::Status CallerPolicy::Check(absl::string_view caller, Operation operation,
                                 absl::string_view key) const {
  if (caller.empty()) {
    return absl::UnauthenticatedError(
        "no caller identity: call with a client certificate (idsignd "
        "--client-ca) or over idsignd's unix socket");
  }
  std::shared_ptr<const Policy> policy;
  {
    absl::MutexLock lock(&mu_);
    policy = policy_;
  }
  if (policy->Allows(caller, operation, key)) return absl::OkStatus();
  if (KeyIgnored(operation, key)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "caller \"", caller, "\" may not ", OperationName(operation)));
  }
  return absl::PermissionDeniedError(
      absl::StrCat("caller \"", caller, "\" may not ", OperationName(operation),
                   " with key \"", key.substr(0, kMaxEchoedKey), "\""));
}

}  // namespace idsign::service
