// SignerService: the idsign.v1.Signer gRPC service.
//
// It validates requests (key name, identity rule, limits, MAC format, the
// identifier guard of identifier_guard.h), asks the KeyStore for MACs,
// builds and checks JWTs (jwt.h), decides what a verifier should do by the
// key's rollout mode and counts the outcomes (rollout.h), writes one audit
// record per Sign, BatchSign, Verify, SignJwt and VerifyJwt call (see
// audited_call.h), and maps every status once, at this edge. With CallGuards,
// every call first takes an in-flight slot, then passes the caller policy (by
// its mutual-TLS identity) and the caller's rate limit (see caller_policy.h,
// call_limiter.h). Handlers run inline on gRPC's callback threads: a MAC costs
// microseconds, and the session pool bounds concurrent token work.
//
// Thread safety: thread-safe. Ownership: borrows the KeyStore, the audit
// log and the guards, which must outlive the service.
#ifndef IDSIGN_SERVICE_SIGNER_SERVICE_H_
#define IDSIGN_SERVICE_SIGNER_SERVICE_H_

#include <functional>

#include "idsign/v1/signer.grpc.pb.h"
#include "service/audit/audit_log.h"
#include "service/call_limiter.h"
#include "service/caller_policy.h"
#include "service/identity.h"
#include "service/keys/key_store.h"
#include "service/rollout.h"

namespace idsign::service {

// Who may call, and how much. Null members are off. Borrowed.
struct CallGuards {
  const CallerPolicy* policy = nullptr;
  CallLimiter* limiter = nullptr;
};

class SignerService final : public v1::Signer::CallbackService {
 public:
  // `audit` may be null (no audit trail).
  SignerService(keys::KeyStore* store, Limits limits,
                audit::AuditLog* audit = nullptr, CallGuards guards = {})
      : store_(store), limits_(limits), audit_(audit), guards_(guards) {}

  grpc::ServerUnaryReactor* Sign(grpc::CallbackServerContext* context,
                                 const v1::SignRequest* request,
                                 v1::SignResponse* response) override;
  grpc::ServerUnaryReactor* BatchSign(grpc::CallbackServerContext* context,
                                      const v1::BatchSignRequest* request,
                                      v1::BatchSignResponse* response) override;
  grpc::ServerUnaryReactor* Verify(grpc::CallbackServerContext* context,
                                   const v1::VerifyRequest* request,
                                   v1::VerifyResponse* response) override;
  grpc::ServerUnaryReactor* ListKeys(grpc::CallbackServerContext* context,
                                     const v1::ListKeysRequest* request,
                                     v1::ListKeysResponse* response) override;
  grpc::ServerUnaryReactor* SignJwt(grpc::CallbackServerContext* context,
                                    const v1::SignJwtRequest* request,
                                    v1::SignJwtResponse* response) override;
  grpc::ServerUnaryReactor* VerifyJwt(grpc::CallbackServerContext* context,
                                      const v1::VerifyJwtRequest* request,
                                      v1::VerifyJwtResponse* response) override;
  grpc::ServerUnaryReactor* GetRolloutStatus(
      grpc::CallbackServerContext* context,
      const v1::GetRolloutStatusRequest* request,
      v1::GetRolloutStatusResponse* response) override;

  // The same operations without gRPC plumbing; each returns the status the
  // RPC finishes with.
  absl::Status DoSign(const v1::SignRequest& request,
                      v1::SignResponse* response);
  absl::Status DoBatchSign(const v1::BatchSignRequest& request,
                           v1::BatchSignResponse* response);
  absl::Status DoVerify(const v1::VerifyRequest& request,
                        v1::VerifyResponse* response);
  absl::Status DoListKeys(v1::ListKeysResponse* response);
  absl::Status DoSignJwt(const v1::SignJwtRequest& request,
                         v1::SignJwtResponse* response);
  absl::Status DoVerifyJwt(const v1::VerifyJwtRequest& request,
                           v1::VerifyJwtResponse* response);
  // `visible`, when set, says which keys an all-keys request may see.
  absl::Status DoGetRolloutStatus(
      const v1::GetRolloutStatusRequest& request,
      v1::GetRolloutStatusResponse* response,
      const std::function<bool(absl::string_view key)>& visible = nullptr);

 private:
  keys::KeyStore* const store_;
  const Limits limits_;
  audit::AuditLog* const audit_;
  const CallGuards guards_;
  RolloutCounters counters_;
};

}  // namespace idsign::service

#endif  // IDSIGN_SERVICE_SIGNER_SERVICE_H_
