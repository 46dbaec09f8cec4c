#include "service/server_tls.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpc/grpc.h"
#include "hsm/log.h"
#include "hsm/status_macros.h"

namespace idsign::service {
namespace {

absl::StatusOr<std::string> ReadPem(absl::string_view flag,
                                    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(flag, "=", path,
                                                   ": cannot read the file (",
                                                   std::strerror(errno), ")"));
  }
  std::stringstream text;
  text << in.rdbuf();
  if (!absl::StrContains(text.str(), "-----BEGIN ")) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, "=", path, ": not a PEM file"));
  }
  return text.str();
}

// Credentials whose port asks `fetch` for its certificates at every new
// connection. grpc::SslServerCredentials takes fixed certificates only, so
// the port is added through the C API.
class FetchingCredentials final : public grpc::ServerCredentials {
 public:
  FetchingCredentials(grpc_ssl_client_certificate_request_type request,
                      grpc_ssl_server_certificate_config_callback fetch,
                      void* user_data)
      : request_(request), fetch_(fetch), user_data_(user_data) {}

  void SetAuthMetadataProcessor(
      const std::shared_ptr<grpc::AuthMetadataProcessor>&) override {
    // Callers are named by their certificates alone; a processor installed
    // here would silently be ignored, so refuse loudly instead.
    log::Error("tls_misuse", "detail=\"no auth metadata processor\"");
    std::abort();
  }

 private:
  int AddPortToServer(const std::string& address,
                      grpc_server* server) override {
    grpc_server_credentials* credentials =
        grpc_ssl_server_credentials_create_with_options(
            grpc_ssl_server_credentials_create_options_using_config_fetcher(
                request_, fetch_, user_data_));
    const int port =
        grpc_server_add_http2_port(server, address.c_str(), credentials);
    grpc_server_credentials_release(credentials);
    return port;
  }

  const grpc_ssl_client_certificate_request_type request_;
  const grpc_ssl_server_certificate_config_callback fetch_;
  void* const user_data_;
};

// Whether gRPC can build a server TLS context from `config` (taken). gRPC
// builds it when a port is added, and the port is refused if it cannot:
// the throwaway server below is never started, and its abstract socket
// leaves nothing on disk.
bool GrpcAcceptsConfig(grpc_ssl_client_certificate_request_type request,
                       grpc_ssl_server_certificate_config* config) {
  static std::atomic<int> probes{0};
  grpc_init();
  grpc_server* server = grpc_server_create(nullptr, nullptr);
  grpc_completion_queue* queue =
      grpc_completion_queue_create_for_pluck(nullptr);
  grpc_server_register_completion_queue(server, queue, nullptr);
  grpc_server_credentials* credentials =
      grpc_ssl_server_credentials_create_with_options(
          grpc_ssl_server_credentials_create_options_using_config(request,
                                                                  config));
  const std::string address = absl::StrCat("unix-abstract:idsignd-tls-check-",
                                           ::getpid(), "-", probes++);
  const bool accepted =
      grpc_server_add_http2_port(server, address.c_str(), credentials) != 0;
  grpc_server_credentials_release(credentials);
  int tag = 0;
  grpc_server_shutdown_and_notify(server, queue, &tag);
  grpc_completion_queue_pluck(queue, &tag, gpr_inf_future(GPR_CLOCK_REALTIME),
                              nullptr);
  grpc_server_destroy(server);
  grpc_completion_queue_shutdown(queue);
  while (grpc_completion_queue_pluck(
             queue, nullptr, gpr_inf_future(GPR_CLOCK_REALTIME), nullptr)
             .type != GRPC_QUEUE_SHUTDOWN) {
  }
  grpc_completion_queue_destroy(queue);
  grpc_shutdown();
  return accepted;
}

}  // namespace

absl::Status CheckTlsFlags(const TlsFiles& files) {
  if (files.cert.empty() != files.key.empty()) {
    return absl::InvalidArgumentError(
        files.cert.empty() ? "--tls-key needs --tls-cert (the certificate)"
                           : "--tls-cert needs --tls-key (its private key)");
  }
  if (!files.client_ca.empty() && files.cert.empty()) {
    return absl::InvalidArgumentError(
        "--client-ca needs --tls-cert and --tls-key: mutual TLS is served "
        "only over TLS");
  }
  return absl::OkStatus();
}

// gRPC stays initialised while a ServerTls exists, so that each check does
// not start and tear down gRPC's internals when no server runs yet.
ServerTls::ServerTls(TlsFiles files) : files_(std::move(files)) { grpc_init(); }

ServerTls::~ServerTls() { grpc_shutdown(); }

absl::StatusOr<std::unique_ptr<ServerTls>> ServerTls::Open(
    const TlsFiles& files) {
  RETURN_IF_ERROR(CheckTlsFlags(files));
  if (!files.enabled()) {
    return absl::InvalidArgumentError("TLS needs --tls-cert and --tls-key");
  }
  std::unique_ptr<ServerTls> tls(new ServerTls(files));
  ASSIGN_OR_RETURN(Material material, tls->ReadFiles());
  RETURN_IF_ERROR(tls->Check(material));
  absl::MutexLock reload(&tls->reload_mu_);
  absl::MutexLock pending(&tls->pending_mu_);
  tls->current_ = material;
  tls->pending_ = std::move(material);
  tls->generation_ = 1;
  return tls;
}

std::shared_ptr<grpc::ServerCredentials> ServerTls::Credentials() {
  return std::make_shared<FetchingCredentials>(RequestType(), &ServerTls::Fetch,
                                               this);
}

absl::Status ServerTls::Reload(absl::string_view trigger) {
  absl::MutexLock lock(&reload_mu_);
  absl::StatusOr<Material> material = ReadFiles();
  if (material.ok() && *material == current_) {
    refused_.reset();
    // A signal usually follows a renewal: say when it found nothing new.
    log::Write(trigger == "interval" ? log::Level::kDebug : log::Level::kInfo,
               "tls_unchanged", absl::StrCat("trigger=", trigger));
    return absl::OkStatus();
  }
  absl::Status status = material.status();
  if (status.ok()) status = Check(*material);
  if (!status.ok()) {
    // An unreadable file has no content to remember; it is logged each time.
    const bool known = material.ok() && refused_ == *material;
    if (!known || trigger != "interval") {
      log::Error(
          "tls_reload_failed",
          absl::StrCat("trigger=", trigger, " action=keep_last_good reason=",
                       log::Quote(status.message())));
    }
    if (material.ok()) refused_ = *material;
    return status;
  }
  refused_.reset();
  current_ = *material;
  int generation = 0;
  {
    absl::MutexLock pending(&pending_mu_);
    pending_ = std::move(*material);
    generation = ++generation_;
  }
  log::Info("tls_reloaded", absl::StrCat("trigger=", trigger, " generation=",
                                         generation, " cert=", files_.cert));
  return absl::OkStatus();
}

int ServerTls::generation() const {
  absl::MutexLock lock(&pending_mu_);
  return generation_;
}

absl::StatusOr<ServerTls::Material> ServerTls::ReadFiles() const {
  Material material;
  ASSIGN_OR_RETURN(material.cert, ReadPem("--tls-cert", files_.cert));
  ASSIGN_OR_RETURN(material.key, ReadPem("--tls-key", files_.key));
  if (mutual()) {
    ASSIGN_OR_RETURN(material.client_ca,
                     ReadPem("--client-ca", files_.client_ca));
  }
  return material;
}

absl::Status ServerTls::Check(const Material& material) const {
  if (!absl::StrContains(material.cert, "-----BEGIN CERTIFICATE-----")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls-cert=", files_.cert, ": holds no PEM CERTIFICATE block"));
  }
  if (!absl::StrContains(material.key, "PRIVATE KEY-----")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls-key=", files_.key, ": holds no PEM PRIVATE KEY block"));
  }
  if (mutual() &&
      !absl::StrContains(material.client_ca, "-----BEGIN CERTIFICATE-----")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--client-ca=", files_.client_ca, ": holds no PEM CERTIFICATE block"));
  }
  if (!GrpcAcceptsConfig(RequestType(), NewConfig(material))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "gRPC's TLS stack refused --tls-key=", files_.key,
        " with --tls-cert=", files_.cert,
        mutual() ? absl::StrCat(" and --client-ca=", files_.client_ca) : "",
        ": the key does not match the certificate, is encrypted, or a file "
        "is malformed"));
  }
  return absl::OkStatus();
}

grpc_ssl_server_certificate_config* ServerTls::NewConfig(
    const Material& material) const {
  grpc_ssl_pem_key_cert_pair pair{material.key.c_str(), material.cert.c_str()};
  // gRPC 1.51 requires root certificates in a fetched config even when no
  // client certificate is requested; they are then never used, so the
  // server's own chain stands in.
  const std::string& roots = mutual() ? material.client_ca : material.cert;
  return grpc_ssl_server_certificate_config_create(roots.c_str(), &pair, 1);
}

grpc_ssl_client_certificate_request_type ServerTls::RequestType() const {
  return mutual() ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                  : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
}

grpc_ssl_certificate_config_reload_status ServerTls::Fetch(
    void* self, grpc_ssl_server_certificate_config** config) {
  ServerTls* tls = static_cast<ServerTls*>(self);
  absl::MutexLock lock(&tls->pending_mu_);
  if (!tls->pending_.has_value()) {
    return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
  }
  *config = tls->NewConfig(*tls->pending_);
  tls->pending_.reset();
  return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
}

}  // namespace idsign::service
