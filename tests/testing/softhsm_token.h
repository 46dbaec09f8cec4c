// TestToken: a fresh SoftHSM2 token for one test binary.
//
// On first use it creates a temporary directory with its own softhsm2.conf,
// points SOFTHSM2_CONF at it, initialises a token there with softhsm2-util
// and writes the user PIN to a 0600 file. The directory is removed when the
// process exits. Token files never leave the temporary directory.
//
// Thread safety: Get() is thread-safe; the accessors return constants.
// Ownership: the TestToken owns the directory and the loaded Module.
#ifndef IDSIGN_TESTS_TESTING_SOFTHSM_TOKEN_H_
#define IDSIGN_TESTS_TESTING_SOFTHSM_TOKEN_H_

#include <memory>
#include <string>

#include "hsm/module.h"
#include "hsm/secret.h"
#include "hsm/token.h"

namespace idsign::testing {

class TestToken {
 public:
  // The binary's token, created on first call.
  static TestToken& Get();

  const std::string& dir() const { return dir_; }
  const std::string& conf_path() const { return conf_path_; }
  const std::string& label() const { return label_; }
  const std::string& pin() const { return pin_; }
  const std::string& so_pin() const { return so_pin_; }
  const std::string& pin_file() const { return pin_file_; }
  static std::string module_path();

  // The module, loaded once in this process (C_Initialize may run once).
  std::shared_ptr<hsm::Module> module();

  // A new logged-in Token on the test token.
  std::unique_ptr<hsm::Token> Open(bool read_write = true,
                                   size_t pool_size = 4);

  // Writes `contents` to a new 0600 file in the token directory.
  std::string WriteFile(const std::string& name,
                        const std::string& contents) const;

  // Path of the built binaries (idsign, idsignd).
  static std::string IdsignPath();
  static std::string IdsigndPath();

 private:
  TestToken();
  ~TestToken();

  std::string dir_;
  std::string conf_path_;
  std::string label_ = "idsign-test";
  std::string pin_ = "87654321";
  std::string so_pin_ = "12345678";
  std::string pin_file_;
  std::shared_ptr<hsm::Module> module_;
};

}  // namespace idsign::testing

#endif  // IDSIGN_TESTS_TESTING_SOFTHSM_TOKEN_H_
