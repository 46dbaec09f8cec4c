// SecretBytes: a byte buffer for PINs and key material that is wiped with
// explicit_bzero when destroyed or cleared, and locked in memory (mlock) when
// the system allows it.
//
// Thread safety: not thread-safe; own one per use. Ownership: owns its bytes.
// Move-only, so a secret is never silently duplicated.
#ifndef IDSIGN_HSM_SECRET_H_
#define IDSIGN_HSM_SECRET_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace idsign::hsm {

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t size);
  SecretBytes(const void* data, size_t size);
  ~SecretBytes();

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  absl::string_view view() const {
    return {reinterpret_cast<const char*>(data_), size_};
  }

  // Returns a copy padded with zero bytes up to `size` (no-op if larger).
  SecretBytes PaddedTo(size_t size) const;

  // Wipes and frees the buffer.
  void Clear();

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool locked_ = false;
};

// Reads a secret (PIN or key) file: its exact bytes, minus one trailing "\n"
// or "\r\n". Fails with INVALID_ARGUMENT for an empty result and NOT_FOUND /
// PERMISSION_DENIED when the file cannot be read. `what` names the file's
// role in messages ("PIN file", "secret file").
absl::StatusOr<SecretBytes> ReadSecretFile(const std::string& path,
                                           absl::string_view what);

// ReadSecretFile for a PIN, which is refused (PERMISSION_DENIED, saying how
// to fix it) when the file is readable or writable by group or others.
absl::StatusOr<SecretBytes> ReadPinFile(const std::string& path);

}  // namespace idsign::hsm

#endif  // IDSIGN_HSM_SECRET_H_
