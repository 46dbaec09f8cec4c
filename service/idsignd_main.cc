// idsignd: the idsign signing server.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "hsm/log.h"
#include "hsm/module.h"
#include "hsm/process.h"
#include "hsm/secret.h"
#include "hsm/token.h"
#include "service/audit/file_audit_log.h"
#include "service/call_limiter.h"
#include "service/caller_policy.h"
#include "service/keys/hsm_key_store.h"
#include "service/maintenance.h"
#include "service/server.h"

namespace idsign {
namespace {

struct Flags {
  std::string listen = "127.0.0.1:50051";
  std::string module = IDSIGN_DEFAULT_PKCS11_MODULE;
  std::string token;
  std::string pin_file;
  uint32_t max_identifier_bytes = 1024;
  uint32_t max_batch = 1000;
  uint32_t sessions = 4;
  std::optional<uint32_t> token_threads;
  std::string shutdown_grace = "4s";
  std::string health_interval = "5s";
  std::string reload_interval = "30s";
  bool allow_core_dumps = false;
  std::string audit_log;
  bool audit_fail_open = false;
  std::string audit_checkpoint_interval = "10s";
  std::string log_level = "info";
  std::string socket_mode = "0660";
  std::string tls_cert;
  std::string tls_key;
  std::string client_ca;
  std::string policy;
  double rate_limit = 0;
  double rate_burst = 0;
  uint32_t max_inflight = 1024;
  std::string jwt_max_ttl = "24h";
  std::string jwt_leeway = "60s";
};

int Fail(const absl::Status& status) {
  std::cerr << "idsignd: " << status.message() << "\n";
  return 2;
}

int Run(const Flags& flags) {
  log::Level level;
  if (!log::ParseLevel(flags.log_level, &level)) {
    return Fail(absl::InvalidArgumentError(
        "--log-level must be debug, info, warning or error"));
  }
  log::SetMinLevel(level);
  if (!flags.allow_core_dumps) {
    // The process holds the PIN; a core file would too.
    absl::Status hardened = hsm::DisableCoreDumps();
    if (!hardened.ok()) return Fail(hardened);
  }
  absl::Duration shutdown_grace, health_interval, reload_interval;
  if (!absl::ParseDuration(flags.shutdown_grace, &shutdown_grace) ||
      shutdown_grace < absl::ZeroDuration()) {
    return Fail(absl::InvalidArgumentError(
        "--shutdown-grace must be a duration such as 4s"));
  }
  if (!absl::ParseDuration(flags.health_interval, &health_interval) ||
      health_interval <= absl::ZeroDuration()) {
    return Fail(absl::InvalidArgumentError(
        "--health-interval must be a positive duration such as 5s"));
  }
  audit::FileAuditLogOptions audit_options;
  audit_options.fail_closed = !flags.audit_fail_open;
  if (!absl::ParseDuration(flags.audit_checkpoint_interval,
                           &audit_options.checkpoint_interval) ||
      audit_options.checkpoint_interval <= absl::ZeroDuration()) {
    return Fail(absl::InvalidArgumentError(
        "--audit-checkpoint-interval must be a positive duration such as "
        "10s"));
  }
  if (!absl::ParseDuration(flags.reload_interval, &reload_interval) ||
      reload_interval <= absl::ZeroDuration()) {
    return Fail(absl::InvalidArgumentError(
        "--reload-interval must be a positive duration such as 30s"));
  }

  service::TlsFiles tls{.cert = flags.tls_cert,
                        .key = flags.tls_key,
                        .client_ca = flags.client_ca};
  if (absl::Status checked = service::CheckTlsFlags(tls); !checked.ok()) {
    return Fail(checked);
  }
  uint32_t socket_mode = 0;
  if (flags.socket_mode.empty() || flags.socket_mode.size() > 4 ||
      flags.socket_mode.find_first_not_of("01234567") != std::string::npos ||
      (socket_mode = std::stoul(flags.socket_mode, nullptr, 8)) > 0777) {
    return Fail(absl::InvalidArgumentError(
        "--socket-mode must be octal permission bits such as 0660"));
  }

  if (flags.rate_burst > 0 && flags.rate_limit <= 0) {
    return Fail(absl::InvalidArgumentError("--rate-burst needs --rate-limit"));
  }
  std::unique_ptr<service::CallerPolicy> policy;
  if (!flags.policy.empty()) {
    auto opened = service::CallerPolicy::Open(flags.policy);
    if (!opened.ok()) return Fail(opened.status());
    policy = std::move(*opened);
  } else {
    log::Warning("policy_disabled",
                 "detail=\"no --policy: only plaintext callers on loopback "
                 "or the unix socket are served, each may use every key; "
                 "callers over TLS are refused\" hint=\"pass --policy=FILE\"");
  }
  service::CallLimiter limiter({.rate = flags.rate_limit,
                                .burst = flags.rate_burst,
                                .max_inflight = flags.max_inflight});

  // Block the signals in every thread; this one waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<hsm::SecretBytes> pin = hsm::ReadPinFile(flags.pin_file);
  if (!pin.ok()) return Fail(pin.status());
  auto module = hsm::Module::Load(flags.module);
  if (!module.ok()) return Fail(module.status());
  hsm::TokenOptions options;
  // The audit writer keeps one session of its own.
  options.pool_size = flags.sessions + (flags.audit_log.empty() ? 0 : 1);
  auto token = hsm::Token::Open(*module, flags.token, *pin, options);
  pin->Clear();
  if (!token.ok()) return Fail(token.status());
  auto store = keys::HsmKeyStore::Create(token->get(), {});
  if (!store.ok()) return Fail(store.status());

  std::unique_ptr<audit::FileAuditLog> audit_log;
  if (!flags.audit_log.empty()) {
    auto opened =
        audit::FileAuditLog::Open(flags.audit_log, token->get(), audit_options);
    if (!opened.ok()) return Fail(opened.status());
    audit_log = std::move(*opened);
  } else {
    log::Warning("audit_disabled", "hint=\"pass --audit-log=PATH\"");
  }

  service::ServerConfig config;
  config.audit = audit_log.get();
  config.listen = flags.listen;
  config.token_threads = flags.token_threads.value_or(flags.sessions);
  config.tls = tls;
  config.unix_socket_mode = static_cast<mode_t>(socket_mode);
  config.guards = {.policy = policy.get(), .limiter = &limiter};
  config.limits.max_identifier_bytes = flags.max_identifier_bytes;
  config.limits.max_batch = flags.max_batch;
  if (!absl::ParseDuration(flags.jwt_max_ttl, &config.limits.jwt.max_ttl) ||
      config.limits.jwt.max_ttl < absl::Seconds(1)) {
    return Fail(absl::InvalidArgumentError(
        "--jwt-max-ttl must be a duration of at least 1s, such as 24h"));
  }
  if (!absl::ParseDuration(flags.jwt_leeway, &config.limits.jwt.leeway) ||
      config.limits.jwt.leeway < absl::ZeroDuration()) {
    return Fail(absl::InvalidArgumentError(
        "--jwt-leeway must be a duration such as 60s (0s for none)"));
  }
  auto server = service::Server::Start(config, store->get());
  if (!server.ok()) return Fail(server.status());

  service::Maintenance maintenance(
      token->get(), store->get(), server->get(),
      {.health_interval = health_interval,
       .reload_interval = reload_interval,
       .on_reload = [&policy](absl::string_view trigger) {
         if (policy != nullptr) policy->Reload(trigger).IgnoreError();
       }});
  const bool serving = maintenance.CheckHealth();
  log::Info("ready", absl::StrCat("address=", (*server)->address(), " keys=",
                                  (*store)->key_count(), " serving=", serving));
  maintenance.Start();

  int signal_number = 0;
  while (true) {
    sigwait(&signals, &signal_number);
    if (signal_number != SIGHUP) break;
    maintenance.Reload("SIGHUP");
  }
  log::Info("stopping", absl::StrCat("signal=", strsignal(signal_number)));
  maintenance.Stop();
  (*server)->Shutdown(shutdown_grace);
  server->reset();
  if (audit_log != nullptr) {
    absl::Status closed = audit_log->Close();
    if (!closed.ok()) {
      log::Error("audit_close_failed",
                 absl::StrCat("reason=", log::Quote(closed.message())));
    }
    audit_log.reset();
  }
  store->reset();
  token->reset();
  log::Info("stopped");
  return 0;
}

}  // namespace
}  // namespace idsign

int main(int argc, char** argv) {
  // Debian's abseil checks every mutex acquisition for lock-order cycles;
  // that bookkeeping costs a few percent of each call and finds nothing the
  // tests and thread annotations do not.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  idsign::Flags flags;
  CLI::App app{
      "idsignd: the idsign signing server. Computes HMAC-SHA256 user_hash "
      "values with keys held in a PKCS#11 token, over gRPC "
      "(idsign.v1.Signer, grpc.health.v1, server reflection). Stops "
      "cleanly on SIGTERM or SIGINT; re-reads key rings, the --policy file "
      "and the TLS files on SIGHUP.",
      "idsignd"};
  app.add_option("--listen", flags.listen,
                 "host:port or unix:/path; plaintext only on loopback or a "
                 "unix socket, whose callers are named by uid (uid:1000)")
      ->capture_default_str();
  app.add_option("--socket-mode", flags.socket_mode,
                 "permission bits (octal) of the --listen=unix:/path socket "
                 "file when serving plaintext: who may connect")
      ->capture_default_str();
  app.add_option("--tls-cert", flags.tls_cert,
                 "serve TLS (1.2 or later) with this PEM certificate chain; "
                 "needs --tls-key. With TLS, --listen may be any address");
  app.add_option("--tls-key", flags.tls_key, "PEM private key of --tls-cert");
  app.add_option("--client-ca", flags.client_ca,
                 "require mutual TLS: clients must present a certificate "
                 "issued by this PEM CA bundle; the audit log names them by "
                 "its URI SAN, else DNS SAN, else CN");
  app.add_option("--policy", flags.policy,
                 "JSON caller policy: which callers (mutual-TLS identities, "
                 "unix socket uids) may run which operations on which keys "
                 "(default deny; re-read on SIGHUP and every "
                 "--reload-interval)");
  app.add_option("--rate-limit", flags.rate_limit,
                 "calls per second allowed to each caller (0: no limit)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--rate-burst", flags.rate_burst,
                 "calls a caller may make at once before --rate-limit "
                 "applies (0: max(1, --rate-limit))")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--max-inflight", flags.max_inflight,
                 "most calls served at once; more get RESOURCE_EXHAUSTED "
                 "(0: no cap)")
      ->capture_default_str();
  app.add_option("--pkcs11-module", flags.module,
                 "PKCS#11 module (.so) of the HSM")
      ->capture_default_str();
  app.add_option("--token", flags.token,
                 "token label, or a pkcs11: URI (RFC 7512) naming it")
      ->required();
  app.add_option("--pin-file", flags.pin_file,
                 "file holding the token user PIN (one trailing newline "
                 "ignored)")
      ->required();
  app.add_option("--max-identifier-bytes", flags.max_identifier_bytes,
                 "longest user_id or email accepted, in bytes")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-batch", flags.max_batch,
                 "most identities in one BatchSign")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--jwt-max-ttl", flags.jwt_max_ttl,
                 "longest lifetime SignJwt issues a token for (the default "
                 "ttl is 1h)")
      ->capture_default_str();
  app.add_option("--jwt-leeway", flags.jwt_leeway,
                 "clock skew VerifyJwt allows on exp, nbf and iat")
      ->capture_default_str();
  app.add_option("--sessions", flags.sessions,
                 "most PKCS#11 sessions used at once for signing")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--token-threads", flags.token_threads,
                 "threads that run token operations (default: --sessions), "
                 "so a slow or hung HSM never holds gRPC's own threads; 0 "
                 "runs them on gRPC's threads");
  app.add_option("--shutdown-grace", flags.shutdown_grace,
                 "how long in-flight calls may finish after SIGTERM/SIGINT")
      ->capture_default_str();
  app.add_option("--health-interval", flags.health_interval,
                 "how often the token login is checked")
      ->capture_default_str();
  app.add_option("--reload-interval", flags.reload_interval,
                 "how often key rings are re-read from the token (also on "
                 "SIGHUP, and when a request names an unknown key), and how "
                 "often the TLS files are checked for changes (also on "
                 "SIGHUP)")
      ->capture_default_str();
  app.add_option("--audit-log", flags.audit_log,
                 "append one tamper-evident audit record per Sign, BatchSign "
                 "and Verify to this file (needs `idsign audit init` once)");
  app.add_flag("--audit-fail-open", flags.audit_fail_open,
               "keep signing when the audit log cannot be written (default: "
               "fail closed with UNAVAILABLE)");
  app.add_option("--audit-checkpoint-interval", flags.audit_checkpoint_interval,
                 "how often an HSM-sealed checkpoint is written and the log "
                 "flushed")
      ->capture_default_str();
  app.add_flag("--allow-core-dumps", flags.allow_core_dumps,
               "let the process dump core (off by default: it holds the "
               "PIN)");
  app.add_option("--log-level", flags.log_level,
                 "debug, info, warning or error")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return idsign::Run(flags);
}
