#include "service/audit/chain_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "hsm/log.h"
#include "hsm/mac.h"
#include "hsm/objects.h"
#include "hsm/status_macros.h"
#include "service/audit/audit_key.h"

namespace idsign::audit {
namespace {

constexpr size_t kChunk = size_t{64} * 1024;

absl::Status Errno(absl::string_view what, const std::string& path, int error) {
  return absl::UnavailableError(
      absl::StrCat(what, " ", path, ": ", ErrnoText(error)));
}

// Holds flock(LOCK_EX) on a descriptor for its lifetime.
class FileLock {
 public:
  explicit FileLock(int fd) : fd_(fd) {}
  ~FileLock() {
    if (locked_) flock(fd_, LOCK_UN);
  }
  int Lock() {
    int rc;
    do {
      rc = flock(fd_, LOCK_EX);
    } while (rc != 0 && errno == EINTR);
    locked_ = rc == 0;
    return locked_ ? 0 : errno;
  }

 private:
  const int fd_;
  bool locked_ = false;
};

// A line read back from the file, newest first, with its parse.
struct TailLine {
  std::string text;
  std::optional<ParsedLine> parsed;
};

// Reads the lines of bytes [floor, end) of `fd` from the last to the first,
// stopping after a checkpoint line. `end` excludes the final newline; `floor`
// is the start of a line.
absl::Status ReadBackToCheckpoint(int fd, uint64_t floor, uint64_t end,
                                  std::vector<TailLine>* lines) {
  std::string pending;  // bytes [pos, end) not yet split off as lines
  uint64_t pos = end;
  while (true) {
    const size_t newline = pending.rfind('\n');
    if (newline == std::string::npos && pos > floor) {
      const size_t size =
          static_cast<size_t>(std::min<uint64_t>(kChunk, pos - floor));
      std::string chunk(size, '\0');
      const ssize_t got =
          pread(fd, chunk.data(), size, static_cast<off_t>(pos - size));
      if (got != static_cast<ssize_t>(size)) {
        return absl::UnavailableError(
            absl::StrCat("read: ", got < 0 ? ErrnoText(errno) : "short read"));
      }
      pending.insert(0, chunk);
      pos -= size;
      continue;
    }
    const bool reached_floor = newline == std::string::npos;
    TailLine line;
    if (reached_floor) {
      line.text = std::exchange(pending, std::string());
    } else {
      line.text = pending.substr(newline + 1);
      pending.resize(newline);
    }
    absl::StatusOr<ParsedLine> parsed = ParseLine(line.text);
    if (parsed.ok()) line.parsed = *std::move(parsed);
    const bool checkpoint =
        line.parsed && line.parsed->type == LineType::kCheckpoint;
    lines->push_back(std::move(line));
    if (checkpoint || reached_floor) return absl::OkStatus();
  }
}

}  // namespace

std::string ErrnoText(int error) {
  char buffer[128];
  return strerror_r(error, buffer, sizeof(buffer));
}

ChainFile::ChainFile(std::string path, hsm::Token* token)
    : path_(std::move(path)), token_(token) {}

ChainFile::~ChainFile() {
  if (fd_ >= 0) close(fd_);
}

absl::Status ChainFile::EnsureOpen() {
  if (fd_ >= 0) {
    struct stat at_path, open_file;
    if (stat(path_.c_str(), &at_path) == 0 && fstat(fd_, &open_file) == 0 &&
        at_path.st_dev == open_file.st_dev &&
        at_path.st_ino == open_file.st_ino) {
      return absl::OkStatus();
    }
    log::Info("audit_file_reopened", absl::StrCat("path=", log::Quote(path_)));
    close(fd_);
    fd_ = -1;
    tail_ = Tail();
  }
  fd_ = open(path_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) return Errno("open", path_, errno);
  return absl::OkStatus();
}

absl::Status ChainFile::EnsureSession() {
  if (session_ && session_->broken()) session_.reset();
  if (!session_) {
    ASSIGN_OR_RETURN(hsm::Session session, token_->Acquire());
    session_.emplace(std::move(session));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ChainFile::HashHex(absl::string_view line) {
  ASSIGN_OR_RETURN(std::string digest,
                   hsm::Digest(*session_, CKM_SHA256, line));
  return absl::BytesToHexString(digest);
}

absl::StatusOr<std::string> ChainFile::MacHex(absl::string_view body) {
  for (int attempt = 0;; ++attempt) {
    if (!key_) {
      ASSIGN_OR_RETURN(CK_OBJECT_HANDLE key, FindAuditKey(*session_));
      key_ = key;
    }
    absl::StatusOr<hsm::HmacSha256Mac> mac =
        hsm::HmacSha256(*session_, *key_, body);
    if (mac.ok()) {
      return absl::BytesToHexString(absl::string_view(
          reinterpret_cast<const char*>(mac->data()), mac->size()));
    }
    // The key object may have been re-created (token restore): find it again.
    if (attempt > 0 ||
        !absl::StrContains(mac.status().message(), "HANDLE_INVALID")) {
      return mac.status();
    }
    key_.reset();
  }
}

absl::Status ChainFile::CatchUp() {
  struct stat st;
  if (fstat(fd_, &st) != 0) return Errno("stat", path_, errno);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (tail_.known && tail_.dev == st.st_dev && tail_.ino == st.st_ino &&
      tail_.end == size) {
    return absl::OkStatus();
  }
  // Start from what this writer wrote last if the file only grew after it.
  Tail next;
  if (tail_.known && tail_.dev == st.st_dev && tail_.ino == st.st_ino &&
      size > tail_.end && !tail_.torn) {
    next = tail_;
  }
  next.known = true;
  next.dev = st.st_dev;
  next.ino = st.st_ino;
  const uint64_t floor = next.end;
  next.end = size;
  next.torn = false;
  std::vector<TailLine> lines;
  if (size > floor) {
    char last = '\n';
    if (pread(fd_, &last, 1, static_cast<off_t>(size - 1)) != 1) {
      return Errno("read", path_, errno);
    }
    next.torn = last != '\n';
    RETURN_IF_ERROR(
        ReadBackToCheckpoint(fd_, floor, next.torn ? size : size - 1, &lines));
  }
  // Walk forward from the checkpoint (or from the known state) to the end.
  auto it = lines.rbegin();
  if (it != lines.rend() && it->parsed &&
      it->parsed->type == LineType::kCheckpoint) {
    next.last_seq = it->parsed->seq;
    next.records = next.covered = it->parsed->records;
    ++it;
  }
  for (; it != lines.rend(); ++it) {
    next.last_seq = it->parsed ? it->parsed->seq : next.last_seq + 1;
    if (it->parsed && it->parsed->type == LineType::kRecord) ++next.records;
  }
  if (!lines.empty()) {
    ASSIGN_OR_RETURN(next.last_hash, HashHex(lines.front().text));
  }
  if (next.torn) {
    log::Warning("audit_file_torn_line",
                 absl::StrCat("path=", log::Quote(path_),
                              " line=", next.last_seq, " action=terminate"));
  }
  tail_ = std::move(next);
  return absl::OkStatus();
}

absl::Status ChainFile::AddCheckpoint(Tail* tail, std::string* out) {
  const std::string body = FormatCheckpointBody(
      tail->last_seq + 1, tail->last_hash, tail->records, absl::Now());
  ASSIGN_OR_RETURN(std::string mac, MacHex(body));
  const std::string line = AddCheckpointMac(body, mac);
  ASSIGN_OR_RETURN(tail->last_hash, HashHex(line));
  ++tail->last_seq;
  tail->covered = tail->records;
  absl::StrAppend(out, line, "\n");
  return absl::OkStatus();
}

absl::Status ChainFile::WriteAll(absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("write", path_, errno);
    // A short write means the next one reports why (ENOSPC, EFBIG).
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status ChainFile::Probe() {
  RETURN_IF_ERROR(EnsureOpen());
  RETURN_IF_ERROR(EnsureSession());
  FileLock lock(fd_);
  if (int error = lock.Lock(); error != 0) return Errno("lock", path_, error);
  return CatchUp();
}

absl::Status ChainFile::Append(const std::vector<Record>& records,
                               const Options& options, Result* result) {
  *result = Result();
  RETURN_IF_ERROR(EnsureOpen());
  RETURN_IF_ERROR(EnsureSession());
  absl::Status status = LockedAppend(records, options, result);
  if (session_ && session_->broken()) session_.reset();
  return status;
}

absl::Status ChainFile::LockedAppend(const std::vector<Record>& records,
                                     const Options& options, Result* result) {
  FileLock lock(fd_);
  if (int error = lock.Lock(); error != 0) return Errno("lock", path_, error);
  RETURN_IF_ERROR(CatchUp());

  Tail next = tail_;
  std::string out;
  if (next.torn) out.push_back('\n');  // end the torn line; it stays as is
  for (const Record& record : records) {
    const std::string line =
        FormatRecordLine(next.last_seq + 1, next.last_hash, record);
    ASSIGN_OR_RETURN(next.last_hash, HashHex(line));
    ++next.last_seq;
    ++next.records;
    absl::StrAppend(&out, line, "\n");
    if (options.checkpoint_every > 0 &&
        next.records - next.covered >= options.checkpoint_every) {
      RETURN_IF_ERROR(AddCheckpoint(&next, &out));
      ++result->checkpoints_written;
    }
  }
  if (options.seal && next.records > next.covered) {
    RETURN_IF_ERROR(AddCheckpoint(&next, &out));
    ++result->checkpoints_written;
  }
  result->uncovered = tail_.records - tail_.covered;
  if (out.empty()) return options.seal ? Sync() : absl::OkStatus();

  if (absl::Status written = WriteAll(out); !written.ok()) {
    // Take back any part of the batch that made it, so the next line does
    // not land in the middle of a broken one. Fails harmlessly on devices.
    if (ftruncate(fd_, static_cast<off_t>(tail_.end)) != 0 && errno != EINVAL) {
      log::Error("audit_truncate_failed",
                 absl::StrCat("path=", log::Quote(path_),
                              " error=", log::Quote(ErrnoText(errno))));
      tail_.known = false;  // re-read the end next time
    }
    return written;
  }
  next.end = tail_.end + out.size();
  next.torn = false;
  tail_ = std::move(next);
  result->lines_written = true;
  result->uncovered = tail_.records - tail_.covered;
  if (result->checkpoints_written > 0 || options.seal) return Sync();
  return absl::OkStatus();
}

absl::Status ChainFile::Sync() {
  // EINVAL: the path is a device that has nothing to synchronise.
  if (fdatasync(fd_) != 0 && errno != EINVAL) {
    return Errno("fdatasync", path_, errno);
  }
  return absl::OkStatus();
}

}  // namespace idsign::audit
