#include "hsm/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace idsign::hsm {

SecretBytes::SecretBytes(size_t size) : size_(size) {
  if (size_ == 0) return;
  data_ = static_cast<uint8_t*>(std::calloc(size_, 1));
  if (data_ == nullptr) throw std::bad_alloc();
  locked_ = ::mlock(data_, size_) == 0;
}

SecretBytes::SecretBytes(const void* data, size_t size) : SecretBytes(size) {
  if (size > 0) std::memcpy(data_, data, size);
}

SecretBytes::~SecretBytes() { Clear(); }

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      locked_(std::exchange(other.locked_, false)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Clear();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    locked_ = std::exchange(other.locked_, false);
  }
  return *this;
}

SecretBytes SecretBytes::PaddedTo(size_t size) const {
  SecretBytes out(size > size_ ? size : size_);
  if (size_ > 0) std::memcpy(out.data_, data_, size_);
  return out;
}

void SecretBytes::Clear() {
  if (data_ != nullptr) {
    ::explicit_bzero(data_, size_);
    if (locked_) ::munlock(data_, size_);
    std::free(data_);
  }
  data_ = nullptr;
  size_ = 0;
  locked_ = false;
}

absl::StatusOr<SecretBytes> ReadSecretFile(const std::string& path,
                                           absl::string_view what) {
  if (path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " path is empty"));
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    std::string msg =
        absl::StrCat("cannot open ", what, " ", path, ": ", strerror(err));
    if (err == ENOENT) return absl::NotFoundError(msg);
    if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(msg);
    return absl::InvalidArgumentError(msg);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", path, " is not a regular file"));
  }
  constexpr size_t kMaxSecretFile = 64 * 1024;
  if (static_cast<size_t>(st.st_size) > kMaxSecretFile) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat(
        what, " ", path, " is larger than ", kMaxSecretFile, " bytes"));
  }
  SecretBytes buffer(kMaxSecretFile);
  size_t total = 0;
  while (total < buffer.size()) {
    ssize_t n = ::read(fd, buffer.data() + total, buffer.size() - total);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read ", what, " ", path, ": ", strerror(err)));
    }
    if (n == 0) break;
    total += static_cast<size_t>(n);
  }
  ::close(fd);
  if (total > 0 && buffer.data()[total - 1] == '\n') {
    --total;
    if (total > 0 && buffer.data()[total - 1] == '\r') --total;
  }
  if (total == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", path, " is empty"));
  }
  return SecretBytes(buffer.data(), total);
}

absl::StatusOr<SecretBytes> ReadPinFile(const std::string& path) {
  struct stat st;
  if (!path.empty() && ::stat(path.c_str(), &st) == 0 &&
      (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "PIN file ", path, " is accessible to group or others (mode ",
        absl::StrFormat("%04o", st.st_mode & 07777), "); run chmod 600 on it"));
  }
  return ReadSecretFile(path, "PIN file");
}

}  // namespace idsign::hsm
