// VerifyAuditLog: checks an audit file line by line against the token.
//
// For every line it checks, in this order: the JSON parses into a known line
// type with no unknown fields; "seq" equals the line number (a deleted,
// inserted or moved line breaks this); "prev" equals the SHA-256 of the line
// before, computed in the token over the exact bytes read (an edited line
// breaks its successor's link); for a checkpoint, "records" equals the record
// lines before it and its MAC verifies in the token under the audit key. It
// reports the first problem, its line and why, and keeps counting lines.
//
// What it cannot see: records after the last checkpoint may have been
// edited, removed or appended together with their chain by anyone who can
// write the file, because only the audit key can seal them. The report
// counts them (uncovered_records); a writer that is running always has some.
// Truncation back to an earlier checkpoint is invisible to the file alone.
//
// Thread safety: thread-safe (uses one pooled session). Ownership: borrows
// the Token; the report is a plain value.
#ifndef IDSIGN_SERVICE_AUDIT_VERIFY_H_
#define IDSIGN_SERVICE_AUDIT_VERIFY_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hsm/token.h"

namespace idsign::audit {

enum class Problem {
  kNone,
  kBadJson,         // not JSON, an unknown field, or a bad field value
  kBadSeq,          // seq is not the line number: a line deleted/moved/added
  kChainBroken,     // the line does not hash to the next line's "prev"
  kBadRecordCount,  // a checkpoint counts the wrong number of records
  kBadMac,          // a checkpoint's MAC does not verify: forged or edited
  kTornLine,        // the last line has no newline (a write was cut short)
};

// "bad_json", "bad_seq", "chain_broken", ...; "none" for kNone.
absl::string_view ProblemName(Problem problem);

struct VerifyReport {
  uint64_t lines = 0;
  uint64_t records = 0;      // lines that parse as records
  uint64_t checkpoints = 0;  // lines that parse as checkpoints
  // Records sealed by the last checkpoint whose MAC verified before any
  // problem.
  uint64_t covered_records = 0;
  // Record lines after the file's last checkpoint line.
  uint64_t uncovered_records = 0;

  Problem problem = Problem::kNone;
  uint64_t first_bad_line = 0;  // 1-based; 0 when intact
  std::string detail;           // why, in words

  // True when no problem was found. A CLI exits 0 only then.
  bool intact() const { return problem == Problem::kNone; }
};

// A few lines of text for an operator: the verdict, the first bad line and
// why, the counts, and a note on uncovered records.
std::string FormatVerifyReport(const VerifyReport& report);

// Verifies the file at `path`. The status is an error only when the check
// itself cannot run: the file cannot be read (NOT_FOUND, PERMISSION_DENIED,
// UNAVAILABLE), the audit key is missing (NOT_FOUND), or the token fails.
// Damage to the file is reported in the VerifyReport, never as an error.
absl::StatusOr<VerifyReport> VerifyAuditLog(const std::string& path,
                                            hsm::Token& token);

}  // namespace idsign::audit

#endif  // IDSIGN_SERVICE_AUDIT_VERIFY_H_
