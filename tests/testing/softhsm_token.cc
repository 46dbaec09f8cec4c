#include "tests/testing/softhsm_token.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>

#include "absl/strings/str_cat.h"

namespace idsign::testing {
namespace {

void Die(const std::string& message) {
  std::fprintf(stderr, "TestToken: %s\n", message.c_str());
  std::abort();
}

}  // namespace

TestToken& TestToken::Get() {
  // Leaked on purpose: the module is finalised by the process exit hook.
  static TestToken* token = new TestToken();
  return *token;
}

std::string TestToken::module_path() { return IDSIGN_TEST_PKCS11_MODULE; }
std::string TestToken::IdsignPath() { return IDSIGN_TEST_IDSIGN_BINARY; }
std::string TestToken::IdsigndPath() { return IDSIGN_TEST_IDSIGND_BINARY; }

TestToken::TestToken() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/idsign-test-XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) Die("mkdtemp failed");
  dir_ = pattern;
  std::filesystem::create_directory(dir_ + "/tokens");
  conf_path_ = dir_ + "/softhsm2.conf";
  {
    std::ofstream conf(conf_path_);
    conf << "directories.tokendir = " << dir_ << "/tokens\n"
         << "objectstore.backend = file\n"
         << "log.level = ERROR\n"
         << "slots.removable = false\n";
  }
  ::setenv("SOFTHSM2_CONF", conf_path_.c_str(), 1);
  std::string command = absl::StrCat(
      IDSIGN_TEST_SOFTHSM2_UTIL, " --init-token --free --label ", label_,
      " --so-pin ", so_pin_, " --pin ", pin_, " >/dev/null");
  if (std::system(command.c_str()) != 0)
    Die("softhsm2-util failed: " + command);
  pin_file_ = WriteFile("user.pin", pin_ + "\n");
  // Remove the directory when the process exits, whatever the outcome.
  static std::string* cleanup_dir = new std::string(dir_);
  std::atexit([] {
    std::error_code ignored;
    std::filesystem::remove_all(*cleanup_dir, ignored);
  });
}

TestToken::~TestToken() = default;

std::shared_ptr<hsm::Module> TestToken::module() {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  if (module_ == nullptr) {
    auto loaded = hsm::Module::Load(module_path());
    if (!loaded.ok()) Die(loaded.status().ToString());
    module_ = *loaded;
  }
  return module_;
}

std::unique_ptr<hsm::Token> TestToken::Open(bool read_write, size_t pool_size) {
  hsm::TokenOptions options;
  options.read_write = read_write;
  options.pool_size = pool_size;
  hsm::SecretBytes pin(pin_.data(), pin_.size());
  auto token = hsm::Token::Open(module(), label_, pin, options);
  if (!token.ok()) Die(token.status().ToString());
  return std::move(*token);
}

std::string TestToken::WriteFile(const std::string& name,
                                 const std::string& contents) const {
  std::string path = absl::StrCat(dir_, "/", name);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) Die("cannot write " + path);
  if (::write(fd, contents.data(), contents.size()) !=
      static_cast<ssize_t>(contents.size())) {
    Die("short write to " + path);
  }
  ::close(fd);
  return path;
}

}  // namespace idsign::testing
