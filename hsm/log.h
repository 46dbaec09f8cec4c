// A small structured logger writing one line per event to stderr.
//
// Lines look like `2026-01-02T03:04:05.678Z INFO event key=value ...`. Callers
// pass only non-personal values: key names, versions, codes, CKR_ names, peer
// addresses. Never an identifier, PIN or secret.
//
// Thread safety: all functions may be called from any thread; each line is
// written with a single write(2). Ownership: none.
#ifndef IDSIGN_HSM_LOG_H_
#define IDSIGN_HSM_LOG_H_

#include <string>

#include "absl/strings/string_view.h"

namespace idsign::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Lines below `level` are dropped. Default: kInfo.
void SetMinLevel(Level level);
Level MinLevel();

// Parses "debug", "info", "warning" or "error".
bool ParseLevel(absl::string_view text, Level* level);

void Write(Level level, absl::string_view event, absl::string_view fields = {});

inline void Debug(absl::string_view event, absl::string_view fields = {}) {
  Write(Level::kDebug, event, fields);
}
inline void Info(absl::string_view event, absl::string_view fields = {}) {
  Write(Level::kInfo, event, fields);
}
inline void Warning(absl::string_view event, absl::string_view fields = {}) {
  Write(Level::kWarning, event, fields);
}
inline void Error(absl::string_view event, absl::string_view fields = {}) {
  Write(Level::kError, event, fields);
}

// Quotes a value for a key=value field when it holds spaces or quotes.
std::string Quote(absl::string_view value);

}  // namespace idsign::log

#endif  // IDSIGN_HSM_LOG_H_
