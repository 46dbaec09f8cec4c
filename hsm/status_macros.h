// Minimal absl::Status propagation helpers. Debian's abseil (20220623) ships
// no status macros, so the project keeps these two here.
//
// Thread safety: stateless macros. Ownership: none.
#ifndef IDSIGN_HSM_STATUS_MACROS_H_
#define IDSIGN_HSM_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define IDSIGN_CONCAT_INNER_(a, b) a##b
#define IDSIGN_CONCAT_(a, b) IDSIGN_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` yields a non-OK status.
#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    const absl::Status idsign_status_ = (expr);      \
    if (!idsign_status_.ok()) return idsign_status_; \
  } while (false)

// `ASSIGN_OR_RETURN(auto x, Foo());` declares x from an absl::StatusOr, or
// returns its error status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(IDSIGN_CONCAT_(idsign_statusor_, __LINE__), lhs, expr)

#define ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                           \
  if (!statusor.ok()) return statusor.status();     \
  lhs = std::move(statusor).value()

#endif  // IDSIGN_HSM_STATUS_MACROS_H_
