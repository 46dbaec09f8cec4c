// idsign rollout status: verification counters of a running idsignd.
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cli/common.h"
#include "cli/signer_call.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "service/rollout.h"

namespace idsign::cli {
namespace {

struct StatusFlags {
  ServerFlags server;
  std::string key;
  bool json = false;
};

std::string Counts(const v1::VerificationCounts& counts) {
  return absl::StrCat(counts.valid(), "/", counts.invalid(), "/",
                      counts.missing(), "/", counts.denied());
}

// The share of checks that carried a valid value, e.g. "97.5%", or "-".
std::string Adoption(const v1::VerificationCounts& counts) {
  const uint64_t total = counts.valid() + counts.invalid() + counts.missing();
  if (total == 0) return "-";
  return absl::StrCat(
      absl::SixDigits(100.0 * static_cast<double>(counts.valid()) / total),
      "%");
}

int Status(const StatusFlags& flags) {
  v1::GetRolloutStatusRequest request;
  request.set_key(flags.key);
  v1::GetRolloutStatusResponse response;
  if (std::optional<int> exit =
          CallSigner(flags.server, &v1::Signer::Stub::GetRolloutStatus, request,
                     &response)) {
    return *exit;
  }
  if (flags.json) {
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    options.always_print_primitive_fields = true;
    std::string json;
    (void)google::protobuf::util::MessageToJsonString(response, &json, options);
    std::cout << json << "\n";
    return kExitOk;
  }
  std::cout << "counting since "
            << google::protobuf::util::TimeUtil::ToString(
                   response.counting_since())
            << " (this server process; valid/invalid/missing/denied)\n";
  std::cout << std::left << std::setw(28) << "KEY" << std::setw(17) << "MODE"
            << std::setw(22) << "USER_HASH" << std::setw(10) << "ADOPTION"
            << std::setw(22) << "JWT"
            << "ADOPTION\n";
  for (const v1::KeyRolloutStatus& key : response.keys()) {
    std::cout << std::left << std::setw(28) << key.key() << std::setw(17)
              << service::RolloutModeName(key.mode()) << std::setw(22)
              << Counts(key.user_hash()) << std::setw(10)
              << Adoption(key.user_hash()) << std::setw(22) << Counts(key.jwt())
              << Adoption(key.jwt()) << "\n";
  }
  return kExitOk;
}

}  // namespace

void AddRolloutCommands(CLI::App* app, Action* action) {
  CLI::App* rollout = app->add_subcommand(
      "rollout", "watch verification adoption before enforcing it");
  rollout->require_subcommand(1);
  auto flags = std::make_shared<StatusFlags>();
  CLI::App* status = rollout->add_subcommand(
      "status", "per-key counts of valid, invalid and missing values");
  status->footer(
      "Show, per key, the rollout mode (set with `idsign key rollout`) and "
      "how many Verify and VerifyJwt calls this server saw with a valid, "
      "invalid or missing value, and how many it denied. Counters start "
      "at zero when idsignd starts and are per server process. Move a key "
      "to enforce once invalid and missing stay near zero.");
  AddServerFlags(status, &flags->server);
  status->add_option("--key", flags->key, "only this key");
  status->add_flag("--json", flags->json,
                   "print the GetRolloutStatusResponse as JSON");
  status->callback([=] { *action = [=] { return Status(*flags); }; });
}

}  // namespace idsign::cli
