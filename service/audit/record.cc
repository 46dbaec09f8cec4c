#include "service/audit/record.h"

#include <google/protobuf/stubs/stringpiece.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "service/audit/audit.pb.h"

namespace idsign::audit {
namespace {

constexpr absl::string_view kMacPrefix = ",\"mac\":\"";
constexpr size_t kHexHashSize = 64;

bool IsLowerHex(absl::string_view text, size_t size) {
  if (text.size() != size) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Length of the valid UTF-8 sequence starting at text[i], or 0.
size_t Utf8SequenceLength(absl::string_view text, size_t i) {
  const auto byte = [&](size_t k) {
    return static_cast<unsigned char>(text[k]);
  };
  const unsigned char lead = byte(i);
  size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // bounds of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // no overlong forms
    if (lead == 0xED) high = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = 2; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return length;
}

void AppendField(std::string* out, absl::string_view name,
                 absl::string_view value) {
  absl::StrAppend(out, ",\"", name, "\":");
  AppendJsonString(out, value);
}

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(what);
}

bool HasRecordFields(const format::AuditLine& line) {
  return !line.request_id().empty() || !line.caller().empty() ||
         !line.operation().empty() || !line.key().empty() ||
         line.versions_size() > 0 || !line.outcome().empty() ||
         line.items() != 0 || line.failed_items() != 0 ||
         line.latency_us() != 0 || !line.details().empty();
}

}  // namespace

void AppendJsonString(std::string* out, absl::string_view text) {
  out->push_back('"');
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const size_t length = Utf8SequenceLength(text, i);
      if (length == 0) {
        out->append("\\ufffd");
        ++i;
      } else {
        out->append(text.data() + i, length);
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          static constexpr char kHex[] = "0123456789abcdef";
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xf]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out->push_back('"');
}

std::string FormatAuditTime(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

bool ParseStatusCodeName(absl::string_view name, absl::StatusCode* code) {
  for (int i = 0; i <= static_cast<int>(absl::StatusCode::kUnauthenticated);
       ++i) {
    const auto candidate = static_cast<absl::StatusCode>(i);
    if (absl::StatusCodeToString(candidate) == name) {
      *code = candidate;
      return true;
    }
  }
  return false;
}

std::string FormatRecordLine(uint64_t seq, absl::string_view prev_hex,
                             const Record& record) {
  const absl::Time time =
      record.time == absl::InfinitePast() ? absl::Now() : record.time;
  std::string out;
  out.reserve(256);
  absl::StrAppend(&out, "{\"type\":\"record\",\"seq\":", seq, ",\"prev\":\"",
                  prev_hex, "\",\"time\":\"", FormatAuditTime(time), "\"");
  AppendField(&out, "request_id", record.request_id);
  AppendField(&out, "caller", record.caller);
  AppendField(&out, "operation", record.operation);
  AppendField(&out, "key", record.key);
  out.append(",\"versions\":[");
  for (size_t i = 0; i < record.versions.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ",", record.versions[i]);
  }
  out.append("]");
  AppendField(&out, "outcome", absl::StatusCodeToString(record.outcome));
  absl::StrAppend(&out, ",\"items\":", record.items,
                  ",\"failed_items\":", record.failed_items,
                  ",\"latency_us\":", record.latency_us, ",\"details\":{");
  bool first = true;
  for (const auto& [name, value] : record.details) {
    if (!first) out.push_back(',');
    first = false;
    AppendJsonString(&out, name);
    out.push_back(':');
    AppendJsonString(&out, value);
  }
  out.append("}}");
  return out;
}

std::string FormatCheckpointBody(uint64_t seq, absl::string_view prev_hex,
                                 uint64_t records, absl::Time time) {
  return absl::StrCat("{\"type\":\"checkpoint\",\"seq\":", seq, ",\"prev\":\"",
                      prev_hex, "\",\"records\":", records, ",\"time\":\"",
                      FormatAuditTime(time), "\"}");
}

std::string AddCheckpointMac(absl::string_view body,
                             absl::string_view mac_hex) {
  body.remove_suffix(1);  // the closing brace
  return absl::StrCat(body, kMacPrefix, mac_hex, "\"}");
}

bool SplitCheckpointMac(absl::string_view line, std::string* body,
                        std::string* mac_hex) {
  const size_t tail = kMacPrefix.size() + kHexHashSize + 2;  // + "}
  if (line.size() < tail + 1 || !absl::EndsWith(line, "\"}")) return false;
  absl::string_view mac_part = line.substr(line.size() - tail);
  if (!absl::StartsWith(mac_part, kMacPrefix)) return false;
  absl::string_view hex = mac_part.substr(kMacPrefix.size(), kHexHashSize);
  if (!IsLowerHex(hex, kHexHashSize)) return false;
  *body = absl::StrCat(line.substr(0, line.size() - tail), "}");
  *mac_hex = std::string(hex);
  return true;
}

absl::StatusOr<ParsedLine> ParseLine(absl::string_view text) {
  format::AuditLine line;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(text.data(), text.size()), &line, options);
  if (!parsed.ok()) {
    return Invalid(absl::StrCat("not a valid audit JSON line: ",
                                std::string(parsed.message())));
  }
  ParsedLine out;
  if (line.seq() == 0) return Invalid("missing or zero \"seq\"");
  out.seq = line.seq();
  if (!IsLowerHex(line.prev(), kHexHashSize)) {
    return Invalid("\"prev\" is not 64 lowercase hex digits");
  }
  out.prev = line.prev();
  if (!absl::ParseTime(absl::RFC3339_full, line.time(), &out.time, nullptr) ||
      FormatAuditTime(out.time) != line.time()) {
    return Invalid("\"time\" is not RFC 3339 UTC with milliseconds");
  }
  if (line.type() == "checkpoint") {
    out.type = LineType::kCheckpoint;
    if (HasRecordFields(line)) return Invalid("a checkpoint has record fields");
    if (!IsLowerHex(line.mac(), kHexHashSize)) {
      return Invalid("\"mac\" is not 64 lowercase hex digits");
    }
    out.records = line.records();
    out.mac = line.mac();
    return out;
  }
  if (line.type() != "record") {
    return Invalid(absl::StrCat("unknown \"type\": \"", line.type(), "\""));
  }
  if (line.records() != 0 || !line.mac().empty()) {
    return Invalid("a record has checkpoint fields");
  }
  out.type = LineType::kRecord;
  Record& record = out.record;
  record.time = out.time;
  record.request_id = line.request_id();
  record.caller = line.caller();
  record.operation = line.operation();
  record.key = line.key();
  record.versions.assign(line.versions().begin(), line.versions().end());
  if (!ParseStatusCodeName(line.outcome(), &record.outcome)) {
    return Invalid(
        absl::StrCat("unknown \"outcome\": \"", line.outcome(), "\""));
  }
  record.items = line.items();
  record.failed_items = line.failed_items();
  record.latency_us = line.latency_us();
  for (const auto& [name, value] : line.details()) {
    record.details[name] = value;
  }
  return out;
}

}  // namespace idsign::audit
