// The key custody report: what ListKeys returns and what
// `idsign custody report` prints, built from one catalog snapshot.
//
// For each key version: state, origin, key type and size, the protection
// attributes read from the token, allowed usages, check value, provenance
// (created_at, created_by), scheme, whether the version is weak and why
// (legacy-sha1, a short secret), and the custody policy's verdict; per key,
// the rollout mode kept in its ring. For the token:
// label, manufacturer, model, serial and firmware.
//
// Thread safety: stateless. Ownership: returns a value.
#ifndef IDSIGN_SERVICE_KEY_REPORT_H_
#define IDSIGN_SERVICE_KEY_REPORT_H_

#include <vector>

#include "hsm/module.h"
#include "idsign/v1/signer.pb.h"
#include "service/keys/catalog.h"

namespace idsign::service {

v1::ListKeysResponse BuildKeyReport(const std::vector<keys::KeyEntry>& keys,
                                    const hsm::TokenDescription& token);

}  // namespace idsign::service

#endif  // IDSIGN_SERVICE_KEY_REPORT_H_
