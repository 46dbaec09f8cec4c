// SignerService: the idsign.v1.Signer gRPC service.
//
// It validates requests (key name, identity rule, limits, MAC format), asks
// the KeyStore for MACs, writes one audit record per Sign, BatchSign and
// Verify call (see audited_call.h), and maps every status once, at this
// edge. Handlers
// run inline on gRPC's callback threads: a MAC costs microseconds, and the
// session pool bounds concurrent token work.
//
// Thread safety: thread-safe. Ownership: borrows the KeyStore and the audit
// log, which must outlive the service.
#ifndef IDSIGN_SERVICE_SIGNER_SERVICE_H_
#define IDSIGN_SERVICE_SIGNER_SERVICE_H_

#include "idsign/v1/signer.grpc.pb.h"
#include "service/audit/audit_log.h"
#include "service/identity.h"
#include "service/keys/key_store.h"

namespace idsign::service {

class SignerService final : public v1::Signer::CallbackService {
 public:
  // `audit` may be null (no audit trail).
  SignerService(keys::KeyStore* store, Limits limits,
                audit::AuditLog* audit = nullptr)
      : store_(store), limits_(limits), audit_(audit) {}

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

  // The same operations without gRPC plumbing; each returns the status the
  // RPC finishes with.
  absl::Status DoSign(const v1::SignRequest& request,
                      v1::SignResponse* response);
  absl::Status DoBatchSign(const v1::BatchSignRequest& request,
                           v1::BatchSignResponse* response);
  absl::Status DoVerify(const v1::VerifyRequest& request,
                        v1::VerifyResponse* response);
  absl::Status DoListKeys(v1::ListKeysResponse* response);

 private:
  keys::KeyStore* const store_;
  const Limits limits_;
  audit::AuditLog* const audit_;
};

}  // namespace idsign::service

#endif  // IDSIGN_SERVICE_SIGNER_SERVICE_H_
