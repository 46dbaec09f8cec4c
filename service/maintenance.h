// Maintenance: idsignd's background upkeep. It checks the token login,
// reloads the key catalog, the server's TLS files and whatever
// Options::on_reload names (periodically and on demand, e.g. SIGHUP), and
// keeps the health service in step:
//   - ""and "idsign.v1.Signer": SERVING while the token is logged in and at
//     least one key can sign;
//   - "idsign.v1.Signer/<key>": SERVING while that key can sign, NOT_SERVING
//     when its ring is broken or its primary version is refused by the
//     custody policy (the reason is logged).
// A reload swaps the catalog atomically, so in-flight requests finish with
// the snapshot they started with.
//
// Thread safety: thread-safe. Ownership: borrows the Token, store and
// Server, which must outlive it; owns its thread, joined by Stop() or the
// destructor.
#ifndef IDSIGN_SERVICE_MAINTENANCE_H_
#define IDSIGN_SERVICE_MAINTENANCE_H_

#include <functional>
#include <set>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "hsm/token.h"
#include "service/keys/hsm_key_store.h"
#include "service/server.h"

namespace idsign::service {

class Maintenance {
 public:
  struct Options {
    absl::Duration health_interval = absl::Seconds(5);
    absl::Duration reload_interval = absl::Seconds(30);
    // Also run on every Reload (e.g. re-reading the caller policy), with
    // the trigger; may be empty.
    std::function<void(absl::string_view trigger)> on_reload;
  };

  Maintenance(hsm::Token* token, keys::HsmKeyStore* store, Server* server,
              Options options);
  ~Maintenance();

  // Runs one health check now (no reload). Returns whether serving.
  bool CheckHealth();
  // Reloads the catalog now, then updates health. `reason` is logged.
  void Reload(absl::string_view reason);

  void Start();
  void Stop();

 private:
  void Loop();

  hsm::Token* const token_;
  keys::HsmKeyStore* const store_;
  Server* const server_;
  const Options options_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool serving_ ABSL_GUARDED_BY(mu_) = false;
  std::set<std::string> refused_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace idsign::service

#endif  // IDSIGN_SERVICE_MAINTENANCE_H_
