// ChainFile: appends chained, checkpointed lines to one audit file. The
// building block of FileAuditLog's writer thread and of AppendNow.
//
// Each Append holds flock(LOCK_EX) on the file from "learn where the chain
// ends" to "written", so writers in several processes (the server, the CLI)
// or several ChainFiles in one process never fork the chain. Under the lock
// it compares the file size with where its own last append ended; when
// another writer appended meanwhile, it reads the file backwards to the last
// checkpoint to learn the last seq, the record count and the last line's
// hash. Hashes (C_Digest, CKM_SHA256) and checkpoint MACs (the audit key)
// are computed in the token. A batch goes out in one write(2); fdatasync
// runs whenever a checkpoint was written.
//
// If the file was renamed or removed (log rotation), the next Append opens
// a new file at the path, which starts a new chain at seq 1.
//
// Thread safety: not thread-safe; one owner. Ownership: borrows the Token,
// which must outlive it; holds one of the token's sessions between appends
// and owns its file descriptor.
#ifndef IDSIGN_SERVICE_AUDIT_CHAIN_FILE_H_
#define IDSIGN_SERVICE_AUDIT_CHAIN_FILE_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hsm/pkcs11.h"
#include "hsm/session_pool.h"
#include "hsm/token.h"
#include "service/audit/record.h"

namespace idsign::audit {

class ChainFile {
 public:
  struct Options {
    // Writes a checkpoint as soon as this many records follow the file's
    // last checkpoint; 0 means never in the middle of a batch.
    size_t checkpoint_every = 0;
    // After the records, writes a checkpoint if any record is uncovered,
    // and fdatasyncs even if nothing was written.
    bool seal = false;
  };
  struct Result {
    // The batch's lines are in the file (even if fdatasync then failed).
    bool lines_written = false;
    size_t checkpoints_written = 0;
    // Records after the file's last checkpoint once this call ended.
    uint64_t uncovered = 0;
  };

  ChainFile(std::string path, hsm::Token* token);
  ~ChainFile();
  ChainFile(const ChainFile&) = delete;
  ChainFile& operator=(const ChainFile&) = delete;

  // Opens (creating it 0600) and locks the file and learns where its chain
  // ends; nothing is written. Lets a caller fail early on a bad path.
  absl::Status Probe();

  // Appends `records` (their time must be set). A token error leaves the
  // file untouched. A write error (ENOSPC, EFBIG, EIO) truncates the file
  // back to where this call found it, so the batch is either wholly in the
  // file or not at all. Errors are UNAVAILABLE, except token errors, which
  // keep their code.
  absl::Status Append(const std::vector<Record>& records,
                      const Options& options, Result* result);

  const std::string& path() const { return path_; }

 private:
  // What this writer knows about the end of the file.
  struct Tail {
    bool known = false;
    dev_t dev = 0;
    ino_t ino = 0;
    uint64_t end = 0;   // file size the rest describes
    bool torn = false;  // the file does not end with a newline
    uint64_t last_seq = 0;
    std::string last_hash = std::string(kZeroHash);
    uint64_t records = 0;
    uint64_t covered = 0;  // records covered by the last checkpoint
  };

  absl::Status EnsureOpen();
  absl::Status EnsureSession();
  // Brings tail_ up to the current file size; the lock must be held.
  absl::Status CatchUp();
  absl::StatusOr<std::string> HashHex(absl::string_view line);
  absl::StatusOr<std::string> MacHex(absl::string_view body);
  // Formats a checkpoint on `tail` and appends it (with newline) to `out`.
  absl::Status AddCheckpoint(Tail* tail, std::string* out);
  absl::Status WriteAll(absl::string_view data);
  absl::Status Sync();
  absl::Status LockedAppend(const std::vector<Record>& records,
                            const Options& options, Result* result);

  const std::string path_;
  hsm::Token* const token_;
  int fd_ = -1;
  Tail tail_;
  std::optional<hsm::Session> session_;
  std::optional<CK_OBJECT_HANDLE> key_;
};

// Text of errno value `error`, thread-safe.
std::string ErrnoText(int error);

}  // namespace idsign::audit

#endif  // IDSIGN_SERVICE_AUDIT_CHAIN_FILE_H_
