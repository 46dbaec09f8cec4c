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
// call_limiter.h). Admission runs on gRPC's callback thread; the token-bound
// rest of Sign, BatchSign, Verify, SignJwt and VerifyJwt runs on the
// TokenWorkers when given (see token_workers.h), inline otherwise. A call
// whose deadline passed while it waited gets DEADLINE_EXCEEDED and no token
// work.
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
#include "service/token_workers.h"

namespace idsign::service {

// Who may call, and how much. Null members are off. Borrowed.
struct CallGuards {
  const CallerPolicy* policy = nullptr;
  CallLimiter* limiter = nullptr;
};

class SignerService final : public v1::Signer::CallbackService {
 public:
  // `audit` may be null (no audit trail).
  // `workers` may be null (token work inline on gRPC's threads).
  SignerService(keys::KeyStore* store, Limits limits,
                audit::AuditLog* audit = nullptr, CallGuards guards = {},
                TokenWorkers* workers = nullptr)
      : store_(store),
        limits_(limits),
        audit_(audit),
        guards_(guards),
        workers_(workers) {}

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
  // Admits the call, then runs `body(admitted)` (which returns the status
  // the call finishes with) on the workers, or inline when there are none
  // or the call was refused.
  template <typename Body>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context,
                                  Operation operation, absl::string_view key,
                                  absl::string_view rpc, Body body);

  keys::KeyStore* const store_;
  const Limits limits_;
  audit::AuditLog* const audit_;
  const CallGuards guards_;
  TokenWorkers* const workers_;
  RolloutCounters counters_;
};

}  // namespace idsign::service

#endif  // IDSIGN_SERVICE_SIGNER_SERVICE_H_
