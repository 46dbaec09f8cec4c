#include "tests/e2e/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/testing/softhsm_token.h"

extern char** environ;

namespace idsign::e2e {
namespace {

std::string OrDevNull(const std::string& path) {
  return path.empty() ? "/dev/null" : path;
}

}  // namespace

std::unique_ptr<Subprocess> Subprocess::Spawn(const SpawnOptions& options,
                                              std::string* error) {
  if (options.argv.empty()) {
    *error = "empty argv";
    return nullptr;
  }
  // Everything the child needs is prepared before fork(): between fork and
  // exec it may only make async-signal-safe calls.
  const std::string paths[3] = {OrDevNull(options.stdin_path),
                                OrDevNull(options.stdout_path),
                                OrDevNull(options.stderr_path)};
  int fds[3] = {-1, -1, -1};
  for (int i = 0; i < 3; ++i) {
    fds[i] = i == 0 ? ::open(paths[i].c_str(), O_RDONLY | O_CLOEXEC)
                    : ::open(paths[i].c_str(),
                             O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fds[i] < 0) {
      *error = absl::StrCat("open ", paths[i], ": ", std::strerror(errno));
      for (int j = 0; j < i; ++j) ::close(fds[j]);
      return nullptr;
    }
  }
  std::vector<char*> argv;
  for (const std::string& arg : options.argv) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);
  int exec_error_pipe[2];
  if (::pipe2(exec_error_pipe, O_CLOEXEC) != 0) {
    *error = absl::StrCat("pipe2: ", std::strerror(errno));
    for (int fd : fds) ::close(fd);
    return nullptr;
  }
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid == 0) {
    // Die with the test process, even if it is killed (e.g. by a ctest
    // timeout), so that no server outlives its test.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    // Default dispositions and an empty mask, whatever the test process (or
    // gRPC's threads) changed.
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    for (int signal = 1; signal < NSIG; ++signal) {
      ::sigaction(signal, &default_action, nullptr);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int i = 0; i < 3; ++i) {
      if (::dup2(fds[i], i) < 0) ::_exit(127);
    }
    ::execve(argv[0], argv.data(), environ);
    const int exec_errno = errno;
    (void)!::write(exec_error_pipe[1], &exec_errno, sizeof(exec_errno));
    ::_exit(127);
  }
  for (int fd : fds) ::close(fd);
  ::close(exec_error_pipe[1]);
  if (pid < 0) {
    *error = absl::StrCat("fork: ", std::strerror(errno));
    ::close(exec_error_pipe[0]);
    return nullptr;
  }
  // The pipe closes on a successful exec; otherwise it carries errno.
  int exec_errno = 0;
  ssize_t n;
  do {
    n = ::read(exec_error_pipe[0], &exec_errno, sizeof(exec_errno));
  } while (n < 0 && errno == EINTR);
  ::close(exec_error_pipe[0]);
  auto child = std::unique_ptr<Subprocess>(new Subprocess(pid));
  if (n > 0) {
    *error =
        absl::StrCat("exec ", options.argv[0], ": ", std::strerror(exec_errno));
    return nullptr;  // the destructor reaps the child
  }
  return child;
}

Subprocess::~Subprocess() { Kill(); }

std::optional<int> Subprocess::WaitFor(std::chrono::milliseconds timeout) {
  if (wait_status_.has_value()) return wait_status_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      wait_status_ = status;
      return wait_status_;
    }
    if (done < 0 && errno != EINTR) {
      // Not our child any more (should not happen); report it as killed.
      wait_status_ = SIGKILL;
      return wait_status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void Subprocess::Signal(int signal) {
  if (!wait_status_.has_value()) ::kill(pid_, signal);
}

void Subprocess::Kill() {
  if (wait_status_.has_value()) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  wait_status_ = status;
}

std::string DescribeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) {
    return absl::StrCat("exit ", WEXITSTATUS(wait_status));
  }
  if (WIFSIGNALED(wait_status)) {
    return absl::StrCat("killed by signal ", WTERMSIG(wait_status));
  }
  return absl::StrCat("wait status ", wait_status);
}

int ExitCode(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
}

std::string RunResult::Describe() const {
  return absl::StrCat(timed_out ? "timed out" : "exit code ",
                      timed_out ? "" : absl::StrCat(exit_code),
                      "\n--- stdout ---\n", stdout_text, "--- stderr ---\n",
                      stderr_text, "---");
}

RunResult RunProcess(const std::vector<std::string>& argv,
                     const std::string& stdin_text,
                     std::chrono::milliseconds timeout) {
  SpawnOptions options;
  options.argv = argv;
  options.stdin_path = ScratchPath("stdin");
  options.stdout_path = ScratchPath("stdout");
  options.stderr_path = ScratchPath("stderr");
  {
    std::ofstream in(options.stdin_path, std::ios::binary);
    in << stdin_text;
  }
  RunResult result;
  std::string error;
  std::unique_ptr<Subprocess> child = Subprocess::Spawn(options, &error);
  if (child == nullptr) {
    result.stderr_text = error;
    return result;
  }
  std::optional<int> status = child->WaitFor(timeout);
  if (!status.has_value()) {
    child->Kill();
    result.timed_out = true;
  } else {
    result.exit_code = ExitCode(*status);
  }
  result.stdout_text = ReadFileOrEmpty(options.stdout_path);
  result.stderr_text = ReadFileOrEmpty(options.stderr_path);
  ::unlink(options.stdin_path.c_str());
  ::unlink(options.stdout_path.c_str());
  ::unlink(options.stderr_path.c_str());
  return result;
}

std::string ScratchPath(const std::string& stem) {
  static std::atomic<int> next{0};
  return absl::StrCat(idsign::testing::TestToken::Get().dir(), "/", stem, "-",
                      next.fetch_add(1));
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

}  // namespace idsign::e2e
