#include "service/audit/verify.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "hsm/mac.h"
#include "hsm/objects.h"
#include "hsm/status_macros.h"
#include "service/audit/audit_key.h"
#include "service/audit/chain_file.h"
#include "service/audit/record.h"

namespace idsign::audit {
namespace {

absl::Status OpenError(const std::string& path, int error) {
  const std::string message =
      absl::StrCat("cannot read audit log ", path, ": ", ErrnoText(error));
  if (error == ENOENT) return absl::NotFoundError(message);
  if (error == EACCES || error == EPERM) {
    return absl::PermissionDeniedError(message);
  }
  return absl::UnavailableError(message);
}

// Walks the lines in order, keeping what the next line is checked against.
class Verifier {
 public:
  Verifier(hsm::Session& session, CK_OBJECT_HANDLE key)
      : session_(session), key_(key) {}

  absl::Status Line(absl::string_view line, bool has_newline) {
    const uint64_t number = ++report_.lines;
    absl::StatusOr<ParsedLine> parsed = ParseLine(line);
    const uint64_t records_before = report_.records;
    if (parsed.ok() && parsed->type == LineType::kRecord) {
      ++report_.records;
      ++report_.uncovered_records;
    } else if (parsed.ok()) {
      ++report_.checkpoints;
      report_.uncovered_records = 0;
    }
    if (!report_.intact()) return absl::OkStatus();

    RETURN_IF_ERROR(Check(number, line, parsed, records_before));
    if (report_.intact() && !has_newline) {
      Fail(Problem::kTornLine, number,
           "the file does not end with a newline: the last write was cut "
           "short");
    }
    if (report_.intact()) {
      ASSIGN_OR_RETURN(std::string digest,
                       hsm::Digest(session_, CKM_SHA256, line));
      prev_hash_ = absl::BytesToHexString(digest);
    }
    return absl::OkStatus();
  }

  const VerifyReport& report() const { return report_; }

 private:
  void Fail(Problem problem, uint64_t line, std::string detail) {
    report_.problem = problem;
    report_.first_bad_line = line;
    report_.detail = std::move(detail);
  }

  absl::Status Check(uint64_t number, absl::string_view line,
                     const absl::StatusOr<ParsedLine>& parsed,
                     uint64_t records_before) {
    const bool after_sealed = previous_was_verified_checkpoint_;
    previous_was_verified_checkpoint_ = false;
    if (!parsed.ok()) {
      Fail(Problem::kBadJson, number, std::string(parsed.status().message()));
      return absl::OkStatus();
    }
    if (parsed->seq != number) {
      Fail(Problem::kBadSeq, number,
           absl::StrCat("seq is ", parsed->seq, " on line ", number,
                        ": a line was deleted, inserted or moved here"));
      return absl::OkStatus();
    }
    if (parsed->prev != prev_hash_) {
      if (number == 1) {
        Fail(Problem::kChainBroken, 1,
             "the first line's prev is not 64 zeros: the start of the file "
             "was removed or replaced");
      } else if (after_sealed) {
        // The line before is a checkpoint whose MAC verified: it is intact.
        Fail(Problem::kChainBroken, number,
             absl::StrCat("prev does not match the SHA-256 of line ",
                          number - 1, " (a verified checkpoint): line ", number,
                          " was changed"));
      } else {
        Fail(Problem::kChainBroken, number - 1,
             absl::StrCat("the SHA-256 of line ", number - 1,
                          " does not match the prev recorded on line ", number,
                          ": line ", number - 1, " was changed (or line ",
                          number, "'s prev was)"));
      }
      return absl::OkStatus();
    }
    if (parsed->type != LineType::kCheckpoint) return absl::OkStatus();

    if (parsed->records != records_before) {
      Fail(Problem::kBadRecordCount, number,
           absl::StrCat("checkpoint counts ", parsed->records,
                        " records, the file has ", records_before,
                        " before it"));
      return absl::OkStatus();
    }
    std::string body, mac_hex;
    if (!SplitCheckpointMac(line, &body, &mac_hex)) {
      Fail(Problem::kBadJson, number,
           "checkpoint does not end with its \"mac\" field");
      return absl::OkStatus();
    }
    const std::string mac = absl::HexStringToBytes(mac_hex);
    ASSIGN_OR_RETURN(
        bool valid,
        hsm::VerifyHmacSha256(
            session_, key_, body,
            std::span<const uint8_t>(
                reinterpret_cast<const uint8_t*>(mac.data()), mac.size())));
    if (!valid) {
      Fail(Problem::kBadMac, number,
           "checkpoint MAC does not verify under the audit key: the "
           "checkpoint was forged or edited");
      return absl::OkStatus();
    }
    report_.covered_records = parsed->records;
    previous_was_verified_checkpoint_ = true;
    return absl::OkStatus();
  }

  hsm::Session& session_;
  const CK_OBJECT_HANDLE key_;
  VerifyReport report_;
  std::string prev_hash_ = std::string(kZeroHash);
  bool previous_was_verified_checkpoint_ = false;
};

}  // namespace

absl::string_view ProblemName(Problem problem) {
  switch (problem) {
    case Problem::kNone:
      return "none";
    case Problem::kBadJson:
      return "bad_json";
    case Problem::kBadSeq:
      return "bad_seq";
    case Problem::kChainBroken:
      return "chain_broken";
    case Problem::kBadRecordCount:
      return "bad_record_count";
    case Problem::kBadMac:
      return "bad_mac";
    case Problem::kTornLine:
      return "torn_line";
  }
  return "unknown";
}

std::string FormatVerifyReport(const VerifyReport& report) {
  std::string out = report.intact() ? std::string("audit log INTACT\n")
                                    : absl::StrCat("audit log BROKEN at line ",
                                                   report.first_bad_line, " (",
                                                   ProblemName(report.problem),
                                                   "): ", report.detail, "\n");
  absl::StrAppend(&out, "lines: ", report.lines, ", records: ", report.records,
                  ", checkpoints: ", report.checkpoints, "\n");
  absl::StrAppend(&out, "records sealed by a verified checkpoint: ",
                  report.covered_records, "\n");
  if (report.uncovered_records > 0) {
    absl::StrAppend(
        &out, "records after the last checkpoint: ", report.uncovered_records,
        " (not yet sealed; they could be altered without detection)\n");
  }
  return out;
}

absl::StatusOr<VerifyReport> VerifyAuditLog(const std::string& path,
                                            hsm::Token& token) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(fopen(path.c_str(), "rbe"),
                                             &fclose);
  if (!file) return OpenError(path, errno);
  ASSIGN_OR_RETURN(hsm::Session session, token.Acquire());
  ASSIGN_OR_RETURN(CK_OBJECT_HANDLE key, FindAuditKey(session));
  Verifier verifier(session, key);

  char* buffer = nullptr;
  size_t capacity = 0;
  std::unique_ptr<char*, void (*)(char**)> release(&buffer,
                                                   [](char** p) { free(*p); });
  ssize_t length;
  while ((length = getline(&buffer, &capacity, file.get())) >= 0) {
    const bool has_newline = length > 0 && buffer[length - 1] == '\n';
    RETURN_IF_ERROR(verifier.Line(
        absl::string_view(buffer, has_newline ? length - 1 : length),
        has_newline));
  }
  if (ferror(file.get())) return OpenError(path, errno);
  return verifier.report();
}

}  // namespace idsign::audit
