// Module: one PKCS#11 module (a vendor's .so) loaded through p11-kit and
// initialised with CKF_OS_LOCKING_OK, so the module does its own locking and
// may be called from many threads.
//
// It also finds the slot of a token named by label or RFC 7512 `pkcs11:` URI.
//
// Thread safety: all methods are thread-safe. Ownership: a Module owns the
// loaded library; it calls C_Finalize and unloads it when destroyed. Share it
// with std::shared_ptr; everything that uses the module keeps one.
#ifndef IDSIGN_HSM_MODULE_H_
#define IDSIGN_HSM_MODULE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hsm/pkcs11.h"

namespace idsign::hsm {

// The fields of CK_TOKEN_INFO a person needs, with padding trimmed.
struct TokenDescription {
  std::string label;
  std::string manufacturer;
  std::string model;
  std::string serial;
  std::string firmware;  // "major.minor"
};

class Module {
 public:
  // Loads the module at `path` and calls C_Initialize(CKF_OS_LOCKING_OK).
  static absl::StatusOr<std::shared_ptr<Module>> Load(const std::string& path);

  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The module's function list; valid for the Module's lifetime.
  CK_FUNCTION_LIST* fn() const { return fn_; }
  const std::string& path() const { return path_; }

  // Finds the one slot whose token matches `token`: a token label, or a
  // `pkcs11:` URI (RFC 7512) with token attributes. NOT_FOUND names what
  // was looked for; several matches are INVALID_ARGUMENT.
  absl::StatusOr<CK_SLOT_ID> FindSlot(absl::string_view token) const;

  absl::StatusOr<TokenDescription> Describe(CK_SLOT_ID slot) const;

 private:
  Module(std::string path, CK_FUNCTION_LIST* fn, bool finalize);

  const std::string path_;
  CK_FUNCTION_LIST* const fn_;
  const bool finalize_;
};

// Trims the blank padding of a fixed-width CK_UTF8CHAR field.
std::string TrimPadded(const unsigned char* field, size_t size);

}  // namespace idsign::hsm

#endif  // IDSIGN_HSM_MODULE_H_
