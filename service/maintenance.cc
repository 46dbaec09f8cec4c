#include "service/maintenance.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "hsm/log.h"

namespace idsign::service {

Maintenance::Maintenance(hsm::Token* token, keys::HsmKeyStore* store,
                         Server* server, Options options)
    : token_(token), store_(store), server_(server), options_(options) {}

Maintenance::~Maintenance() { Stop(); }

void Maintenance::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Maintenance::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool Maintenance::CheckHealth() {
  absl::Status login = token_->EnsureLoggedIn();
  if (!login.ok()) {
    log::Error("token_unavailable",
               absl::StrCat("reason=", log::Quote(login.message())));
  }
  std::set<std::string> refused;
  size_t usable = 0;
  for (const keys::KeyEntry& key : store_->List()) {
    const keys::KeyVersionEntry* primary = key.Primary();
    const bool ok =
        key.problem.empty() && primary != nullptr && primary->usable();
    server_->SetKeyServing(key.name, login.ok() && ok);
    if (ok) {
      ++usable;
    } else {
      refused.insert(key.name);
    }
  }
  const bool serving = login.ok() && usable > 0;
  server_->SetServing(serving);

  absl::MutexLock lock(&mu_);
  if (serving != serving_) {
    log::Info("health_changed",
              serving ? "status=SERVING" : "status=NOT_SERVING");
  }
  if (refused != refused_) {
    for (const std::string& problem : store_->Problems()) {
      log::Error("key_refused", absl::StrCat("detail=", log::Quote(problem)));
    }
  }
  if (usable == 0 && login.ok() && serving_ != serving) {
    log::Warning("no_usable_keys",
                 "hint=\"import a key with idsign key import\"");
  }
  serving_ = serving;
  refused_ = std::move(refused);
  return serving;
}

void Maintenance::Reload(absl::string_view reason) {
  absl::Status status = store_->Reload();
  if (!status.ok()) {
    log::Error("reload_failed", absl::StrCat("trigger=", reason,
                                             " action=keep_last_good "
                                             "reason=",
                                             log::Quote(status.message())));
  } else {
    // Periodic reloads are routine; only the asked-for ones are news.
    log::Write(reason == "interval" ? log::Level::kDebug : log::Level::kInfo,
               "reloaded", absl::StrCat("trigger=", reason));
  }
  // Logs its own outcome; a refused certificate keeps the last good one.
  server_->ReloadTls(reason).IgnoreError();
  if (options_.on_reload) options_.on_reload(reason);
  CheckHealth();
}

void Maintenance::Loop() {
  absl::Time next_reload = absl::Now() + options_.reload_interval;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_;
      };
      // Wake for whichever is due first: a reload interval shorter than the
      // health interval must not wait for the next health check.
      const absl::Duration wait =
          std::min(options_.health_interval,
                   std::max(absl::ZeroDuration(), next_reload - absl::Now()));
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping), wait)) {
        return;
      }
    }
    if (absl::Now() >= next_reload) {
      next_reload = absl::Now() + options_.reload_interval;
      Reload("interval");
    } else {
      CheckHealth();
    }
  }
}

}  // namespace idsign::service
