// Audit records and their JSON-lines encoding.
//
// A Record describes one signing RPC or one key lifecycle event. It has no
// field for user ids, e-mails, PINs or key bytes, so none can be logged.
//
// Every line is written in a fixed field order, so the bytes are canonical:
// the hash chain ("prev") and the checkpoint MACs cover the exact bytes of a
// line as it sits in the file. Record line (one line, wrapped here):
//
//   {"type":"record","seq":3,"prev":"<64 hex>",
//    "time":"2026-01-02T03:04:05.678Z","request_id":"r-1",
//    "caller":"ipv4:10.0.0.7:51234","operation":"Sign",
//    "key":"intercom/web/prod","versions":[2],"outcome":"OK","items":1,
//    "failed_items":0,"latency_us":412,"details":{}}
//
// Checkpoint line; its MAC covers the line with `,"mac":"..."` removed:
//
//   {"type":"checkpoint","seq":4,"prev":"<64 hex>","records":3,
//    "time":"2026-01-02T03:04:06.000Z","mac":"<64 hex>"}
//
// Thread safety: stateless functions on values. Ownership: values own their
// data.
#ifndef IDSIGN_SERVICE_AUDIT_RECORD_H_
#define IDSIGN_SERVICE_AUDIT_RECORD_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace idsign::audit {

// The "prev" of a file's first line.
inline constexpr absl::string_view kZeroHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct Record {
  // When the event happened; InfinitePast means "stamp it when appended".
  // Written with millisecond precision.
  absl::Time time = absl::InfinitePast();
  std::string request_id;
  // Peer address today; an authenticated identity later.
  std::string caller;
  // "Sign", "BatchSign", "Verify", or a lifecycle event such as "key.import".
  std::string operation;
  std::string key;
  std::vector<uint32_t> versions;
  absl::StatusCode outcome = absl::StatusCode::kOk;
  uint64_t items = 0;
  uint64_t failed_items = 0;
  int64_t latency_us = 0;
  // Lifecycle event details, e.g. {"check_value": "a1b2c3"}. Never secrets.
  std::map<std::string, std::string> details;

  bool operator==(const Record& other) const = default;
};

enum class LineType { kRecord, kCheckpoint };

// One line parsed back.
struct ParsedLine {
  LineType type = LineType::kRecord;
  uint64_t seq = 0;
  std::string prev;  // as written: lowercase hex
  absl::Time time;
  Record record;         // kRecord only
  uint64_t records = 0;  // kCheckpoint only
  std::string mac;       // kCheckpoint only, lowercase hex
};

// The record line for `record` at `seq`, chained to `prev_hex`. No newline.
std::string FormatRecordLine(uint64_t seq, absl::string_view prev_hex,
                             const Record& record);

// The bytes a checkpoint's MAC covers: the checkpoint line without its mac.
std::string FormatCheckpointBody(uint64_t seq, absl::string_view prev_hex,
                                 uint64_t records, absl::Time time);

// The full checkpoint line: `body` with `,"mac":"<mac_hex>"` before its
// closing brace.
std::string AddCheckpointMac(absl::string_view body, absl::string_view mac_hex);

// Splits a checkpoint line into the MAC'd body and the mac hex. False when
// the line does not end in `,"mac":"<64 lowercase hex>"}`.
bool SplitCheckpointMac(absl::string_view line, std::string* body,
                        std::string* mac_hex);

// Parses one line (without its newline). INVALID_ARGUMENT for malformed
// JSON, unknown fields, an unknown type, or a bad time, hash or outcome.
absl::StatusOr<ParsedLine> ParseLine(absl::string_view line);

// "2026-01-02T03:04:05.678Z".
std::string FormatAuditTime(absl::Time time);

// "OK", "NOT_FOUND", ...; false for any other text.
bool ParseStatusCodeName(absl::string_view name, absl::StatusCode* code);

// Appends `text` as a JSON string literal. Control characters are escaped;
// bytes that are not valid UTF-8 become U+FFFD, so every line is valid JSON.
void AppendJsonString(std::string* out, absl::string_view text);

}  // namespace idsign::audit

#endif  // IDSIGN_SERVICE_AUDIT_RECORD_H_
