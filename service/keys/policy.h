// The custody policy: which key objects idsign will sign or verify with.
//
// A key object is refused when the token reports (or cannot report) that it
// is extractable, not sensitive, modifiable, allowed to derive, encrypt,
// decrypt, wrap or unwrap, or when it is a session object rather than a
// token object. The reasons are stable, human-readable phrases.
//
// Thread safety: stateless. Ownership: none.
#ifndef IDSIGN_SERVICE_KEYS_POLICY_H_
#define IDSIGN_SERVICE_KEYS_POLICY_H_

#include <string>
#include <vector>

#include "hsm/objects.h"

namespace idsign::keys {

// Empty when the object satisfies the policy; otherwise one reason per
// violation, e.g. "CKA_EXTRACTABLE is true".
std::vector<std::string> PolicyViolations(const hsm::SecretKeyInfo& object);

}  // namespace idsign::keys

#endif  // IDSIGN_SERVICE_KEYS_POLICY_H_
