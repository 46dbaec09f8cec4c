// Caller policy: which callers (mutual-TLS identities, or uid:N for a unix
// socket peer) may run which operations on which keys (idsignd
// --policy=FILE).
//
// The file is JSON (see policy.proto):
//   {"rules":[{"caller":"spiffe://example.org/backend-a",
//              "operations":["sign","batch_sign","verify","sign_jwt",
//                            "verify_jwt","rollout_status","list_keys"],
//              "keys":["intercom/web/prod","intercom/ios/*"]}]}
// A rule grants its caller (matched exactly) its operations on its keys: an
// exact key name, or a prefix ending in '*'. Anything not granted is denied.
// A rollout_status request for every key (an empty key) is admitted for a
// caller granted rollout_status on some key; the service then shows it only
// the keys it is granted.
// Parse() refuses unknown fields and operations, an empty caller, a rule
// without keys or operations, a '*' other than at the end of a key entry,
// and invalid key names, naming the rule by index and caller.
//
// CallerPolicy holds the policy in force and swaps it on Reload(); a file
// that no longer parses keeps the last good policy, and the reason is logged.
//
// Thread safety: Policy is immutable; CallerPolicy is thread-safe.
// Ownership: CallerPolicy owns its Policy snapshots.
#ifndef IDSIGN_SERVICE_CALLER_POLICY_H_
#define IDSIGN_SERVICE_CALLER_POLICY_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace idsign::service {

enum class Operation {
  kSign,
  kBatchSign,
  kVerify,
  kSignJwt,
  kVerifyJwt,
  kRolloutStatus,
  kListKeys
};

// "sign", "batch_sign", "verify", "sign_jwt", "verify_jwt",
// "rollout_status", "list_keys".
absl::string_view OperationName(Operation operation);
std::optional<Operation> ParseOperation(absl::string_view name);

class Policy {
 public:
  // Parses and validates the JSON text; INVALID_ARGUMENT naming the rule.
  static absl::StatusOr<Policy> Parse(absl::string_view json);
  // Reads and parses `path`; errors name the file.
  static absl::StatusOr<Policy> Load(const std::string& path);

  // Whether a rule grants `caller` `operation` on `key`. For kListKeys, and
  // for kRolloutStatus with an empty key, the key is ignored.
  bool Allows(absl::string_view caller, Operation operation,
              absl::string_view key) const;

  size_t rule_count() const { return rules_.size(); }

 private:
  struct Rule {
    std::string caller;
    std::vector<Operation> operations;
    std::vector<std::string> exact_keys;
    std::vector<std::string> key_prefixes;
  };
  std::vector<Rule> rules_;
};

class CallerPolicy {
 public:
  // Loads `path`; the error says what is wrong with it.
  static absl::StatusOr<std::unique_ptr<CallerPolicy>> Open(
      const std::string& path);

  // Re-reads the file. On error keeps the policy in force and logs why;
  // `trigger` ("SIGHUP", "interval") is logged.
  absl::Status Reload(absl::string_view trigger);

  // OK if `caller` may run `operation` on `key`. UNAUTHENTICATED when the
  // caller has no identity (empty), PERMISSION_DENIED naming the caller,
  // the operation and the key otherwise.
  absl::Status Check(absl::string_view caller, Operation operation,
                     absl::string_view key) const;

 private:
  CallerPolicy(std::string path, Policy policy)
      : path_(std::move(path)),
        policy_(std::make_shared<const Policy>(std::move(policy))) {}

  const std::string path_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const Policy> policy_ ABSL_GUARDED_BY(mu_);
};

}  // namespace idsign::service

#endif  // IDSIGN_SERVICE_CALLER_POLICY_H_
