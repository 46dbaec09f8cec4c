// Helpers shared by the files that implement SignerService
// (signer_service.cc, jwt_calls.cc); not part of the service's interface.
//
// Thread safety: stateless. Ownership: none.
#ifndef IDSIGN_SERVICE_SIGNER_INTERNAL_H_
#define IDSIGN_SERVICE_SIGNER_INTERNAL_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace idsign::service {

// OK for a valid key name; INVALID_ARGUMENT starting "key: " otherwise.
absl::Status ValidateKeyArgument(absl::string_view key);

}  // namespace idsign::service

#endif  // IDSIGN_SERVICE_SIGNER_INTERNAL_H_
