// idsignd: the idsign signing server.
#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "hsm/log.h"
#include "hsm/module.h"
#include "hsm/secret.h"
#include "hsm/token.h"
#include "service/keys/hsm_key_store.h"
#include "service/server.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "Address to serve on: host:port or unix:/path. Plaintext is only "
          "allowed on loopback or a unix socket.");
ABSL_FLAG(std::string, pkcs11_module, IDSIGN_DEFAULT_PKCS11_MODULE,
          "PKCS#11 module (.so) of the HSM.");
ABSL_FLAG(std::string, token, "",
          "Token label, or a pkcs11: URI (RFC 7512) naming the token.");
ABSL_FLAG(std::string, pin_file, "",
          "File holding the token user PIN (one trailing newline ignored).");
ABSL_FLAG(uint32_t, max_identifier_bytes, 1024,
          "Longest user_id or email accepted, in bytes.");
ABSL_FLAG(uint32_t, max_batch, 1000, "Most identities in one BatchSign.");
ABSL_FLAG(uint32_t, sessions, 4,
          "Most PKCS#11 sessions used at once for signing.");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(4),
          "How long in-flight calls may finish after SIGTERM or SIGINT.");
ABSL_FLAG(absl::Duration, health_interval, absl::Seconds(5),
          "How often the token login is checked.");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error.");

namespace idsign {
namespace {

int Fail(const absl::Status& status) {
  std::cerr << "idsignd: " << status.message() << "\n";
  return 2;
}

int Run() {
  log::Level level;
  if (!log::ParseLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    return Fail(absl::InvalidArgumentError(
        "--log-level must be debug, info, warning or error"));
  }
  log::SetMinLevel(level);
  if (absl::GetFlag(FLAGS_token).empty()) {
    return Fail(absl::InvalidArgumentError(
        "--token is required (a token label or a pkcs11: URI)"));
  }
  if (absl::GetFlag(FLAGS_pin_file).empty()) {
    return Fail(absl::InvalidArgumentError("--pin-file is required"));
  }
  if (absl::GetFlag(FLAGS_max_identifier_bytes) == 0 ||
      absl::GetFlag(FLAGS_max_batch) == 0 ||
      absl::GetFlag(FLAGS_sessions) == 0) {
    return Fail(absl::InvalidArgumentError(
        "--max-identifier-bytes, --max-batch and --sessions must be > 0"));
  }

  // Block the stop signals in every thread; this one waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::StatusOr<hsm::SecretBytes> pin =
      hsm::ReadSecretFile(absl::GetFlag(FLAGS_pin_file), "PIN file");
  if (!pin.ok()) return Fail(pin.status());
  auto module = hsm::Module::Load(absl::GetFlag(FLAGS_pkcs11_module));
  if (!module.ok()) return Fail(module.status());
  hsm::TokenOptions options;
  options.pool_size = absl::GetFlag(FLAGS_sessions);
  auto token =
      hsm::Token::Open(*module, absl::GetFlag(FLAGS_token), *pin, options);
  pin->Clear();
  if (!token.ok()) return Fail(token.status());
  auto store = keys::HsmKeyStore::Create(token->get());
  if (!store.ok()) return Fail(store.status());

  service::ServerConfig config;
  config.listen = absl::GetFlag(FLAGS_listen);
  config.limits.max_identifier_bytes =
      absl::GetFlag(FLAGS_max_identifier_bytes);
  config.limits.max_batch = absl::GetFlag(FLAGS_max_batch);
  auto server = service::Server::Start(config, store->get());
  if (!server.ok()) return Fail(server.status());

  auto update_health = [&] {
    absl::Status login = (*token)->EnsureLoggedIn();
    size_t keys = (*store)->key_count();
    bool serving = login.ok() && keys > 0;
    (*server)->SetServing(serving);
    if (!login.ok()) {
      log::Error("token_unavailable",
                 absl::StrCat("reason=", log::Quote(login.message())));
    } else if (keys == 0) {
      log::Warning("no_keys",
                   "health=NOT_SERVING hint=\"import a key with idsign key "
                   "import\"");
    }
    return serving;
  };
  bool serving = update_health();
  log::Info("ready", absl::StrCat("address=", (*server)->address(),
                                  " keys=", (*store)->key_count(),
                                  " serving=", serving));

  absl::Notification stopping;
  std::thread health([&] {
    bool last = serving;
    while (!stopping.WaitForNotificationWithTimeout(
        absl::GetFlag(FLAGS_health_interval))) {
      bool now = update_health();
      if (now != last) {
        log::Info("health_changed", now ? "status=SERVING"
                                        : "status=NOT_SERVING");
      }
      last = now;
    }
  });

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  log::Info("stopping", absl::StrCat("signal=", strsignal(signal_number)));
  stopping.Notify();
  health.join();
  (*server)->Shutdown(absl::GetFlag(FLAGS_shutdown_grace));
  server->reset();
  store->reset();
  token->reset();
  log::Info("stopped");
  return 0;
}

}  // namespace
}  // namespace idsign

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "idsign signing server: computes HMAC-SHA256 user_hash values with "
      "keys held in a PKCS#11 token.\n\n"
      "Usage: idsignd --token=LABEL|pkcs11:URI --pin-file=FILE "
      "[--listen=127.0.0.1:50051] [--pkcs11-module=SO] [flags]\n\n"
      "Stops cleanly on SIGTERM or SIGINT. See README.md for details.");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    std::cerr << "idsignd: unexpected argument \"" << positional[1]
              << "\"; see idsignd --help\n";
    return 2;
  }
  return idsign::Run();
}
