#include "service/server.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "hsm/log.h"
#include "hsm/status_macros.h"
#include "service/listen_address.h"

namespace idsign::service {

absl::StatusOr<std::unique_ptr<Server>> Server::Start(
    const ServerConfig& config, keys::KeyStore* store) {
  ASSIGN_OR_RETURN(ListenAddress address, ParseListenAddress(config.listen));
  std::unique_ptr<Server> server(new Server());
  if (config.tls.enabled()) {
    ASSIGN_OR_RETURN(server->tls_, ServerTls::Open(config.tls));
  } else {
    RETURN_IF_ERROR(CheckTlsFlags(config.tls));
    RETURN_IF_ERROR(CheckPlaintextAllowed(address));
  }
  // Plaintext unix connections come through our own listener, which knows
  // each caller's uid; gRPC gets no port for them.
  const bool own_listener = address.is_unix && server->tls_ == nullptr;
  if (own_listener) {
    ASSIGN_OR_RETURN(
        server->unix_listener_,
        UnixListener::Listen(address.unix_path, config.unix_socket_mode));
  } else if (address.is_unix) {
    RETURN_IF_ERROR(ClearStaleUnixSocket(address.unix_path));
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  if (config.token_threads > 0) {
    server->workers_ = std::make_unique<TokenWorkers>(config.token_threads);
  }
  server->service_ =
      std::make_unique<SignerService>(store, config.limits, config.audit,
                                      config.guards, server->workers_.get());
  grpc::ServerBuilder builder;
  const size_t max_request = MaxRequestBytes(config.limits);
  builder.SetMaxReceiveMessageSize(static_cast<int>(
      std::min<size_t>(max_request, std::numeric_limits<int>::max())));
  // gRPC sets SO_REUSEPORT by default, which lets a second server bind a
  // port in use and silently share its connections.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  if (!own_listener) {
    builder.AddListeningPort(address.grpc_uri,
                             server->tls_ != nullptr
                                 ? server->tls_->Credentials()
                                 : grpc::InsecureServerCredentials(),
                             address.is_unix ? nullptr : &server->port_);
  }
  builder.RegisterService(server->service_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || (!address.is_unix && server->port_ == 0)) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config.listen,
                     ": the address is in use or not available on this host"));
  }
  if (own_listener) server->unix_listener_->Start(server->server_.get());
  server->address_ =
      address.is_unix
          ? address.grpc_uri
          : absl::StrCat(config.listen.substr(0, config.listen.rfind(':')), ":",
                         server->port_);
  server->SetServing(false);
  // Without TLS the line stays as it always was.
  const std::string transport = server->tls_ == nullptr  ? ""
                                : server->tls_->mutual() ? " transport=mtls"
                                                         : " transport=tls";
  log::Info("listening", absl::StrCat("address=", server->address_, transport,
                                      " max_request_bytes=", max_request));
  return server;
}

absl::Status Server::ReloadTls(absl::string_view trigger) {
  if (tls_ == nullptr) return absl::OkStatus();
  return tls_->Reload(trigger);
}

Server::~Server() { Shutdown(absl::ZeroDuration()); }

void Server::SetServing(bool serving) {
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  if (health == nullptr) return;
  // Not SetServingStatus(bool): it applies to every registered name, and
  // would overwrite the per-key entries SetKeyServing keeps.
  health->SetServingStatus("", serving);
  health->SetServingStatus(v1::Signer::service_full_name(), serving);
}

void Server::SetKeyServing(const std::string& key, bool serving) {
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  if (health == nullptr) return;
  health->SetServingStatus(
      absl::StrCat(v1::Signer::service_full_name(), "/", key), serving);
}

void Server::Shutdown(absl::Duration grace) {
  // server_ is null when Start() failed to bind.
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  SetServing(false);
  // No new connection may reach a server that is shutting down.
  if (unix_listener_ != nullptr) unix_listener_->Stop();
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
}

}  // namespace idsign::service
