// Process hardening for programs that hold PINs or key material in memory.
//
// Thread safety: call once, early in main, before other threads start.
// Ownership: none.
#ifndef IDSIGN_HSM_PROCESS_H_
#define IDSIGN_HSM_PROCESS_H_

#include "absl/status/status.h"

namespace idsign::hsm {

// Stops the process from dumping core or being attached to by other
// processes of the same user: PR_SET_DUMPABLE 0 and RLIMIT_CORE 0.
absl::Status DisableCoreDumps();

}  // namespace idsign::hsm

#endif  // IDSIGN_HSM_PROCESS_H_
