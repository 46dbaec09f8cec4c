#include "service/server.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
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
namespace {

// True if a server accepts connections on the unix socket at `path`.
bool UnixSocketIsLive(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) return false;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&address),
                              sizeof(address)) == 0;
  ::close(fd);
  return live;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(
    const ServerConfig& config, keys::KeyStore* store) {
  ASSIGN_OR_RETURN(ListenAddress address, ParseListenAddress(config.listen));
  std::shared_ptr<grpc::ServerCredentials> credentials =
      grpc::InsecureServerCredentials();
  if (config.tls.enabled()) {
    ASSIGN_OR_RETURN(credentials, MakeServerTls(config.tls));
  } else {
    RETURN_IF_ERROR(CheckTlsFlags(config.tls));
    RETURN_IF_ERROR(CheckPlaintextAllowed(address));
  }
  if (address.is_unix) {
    // A stale socket from a previous run would make the bind fail. A live
    // one belongs to a running server: taking its path over would strand it.
    if (UnixSocketIsLive(address.unix_path)) {
      return absl::UnavailableError(absl::StrCat(
          "cannot listen on ", config.listen,
          ": another server is accepting connections on that socket"));
    }
    ::unlink(address.unix_path.c_str());
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  std::unique_ptr<Server> server(new Server());
  server->service_ = std::make_unique<SignerService>(
      store, config.limits, config.audit, config.guards);
  grpc::ServerBuilder builder;
  const size_t max_request = MaxRequestBytes(config.limits);
  builder.SetMaxReceiveMessageSize(static_cast<int>(
      std::min<size_t>(max_request, std::numeric_limits<int>::max())));
  // gRPC sets SO_REUSEPORT by default, which lets a second server bind a
  // port in use and silently share its connections.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(address.grpc_uri, credentials,
                           address.is_unix ? nullptr : &server->port_);
  builder.RegisterService(server->service_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || (!address.is_unix && server->port_ == 0)) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config.listen,
                     ": the address is in use or not available on this host"));
  }
  server->address_ =
      address.is_unix
          ? address.grpc_uri
          : absl::StrCat(config.listen.substr(0, config.listen.rfind(':')), ":",
                         server->port_);
  server->SetServing(false);
  // Without TLS the line stays as it always was.
  const std::string transport = !config.tls.enabled() ? ""
                                : config.tls.client_ca.empty()
                                    ? " transport=tls"
                                    : " transport=mtls";
  log::Info("listening", absl::StrCat("address=", server->address_, transport,
                                      " max_request_bytes=", max_request));
  return server;
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
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
}

}  // namespace idsign::service
