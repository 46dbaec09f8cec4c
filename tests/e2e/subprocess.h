// Subprocess: runs a built binary (idsign, idsignd) as a child process for
// end-to-end tests, with stdin read from a file and stdout/stderr captured in
// files.
//
// Every wait is bounded: WaitFor() gives up after its timeout, RunProcess()
// kills the child when its timeout expires, and the destructor kills and reaps
// a child that is still alive, so a test can never hang on a child. A child
// is also killed when the thread that spawned it ends, so none outlives a
// test process that dies: spawn from the test's main thread.
//
// Thread safety: a Subprocess is used by one thread at a time. Ownership: it
// owns the child process; the capture files belong to the caller.
#ifndef IDSIGN_TESTS_E2E_SUBPROCESS_H_
#define IDSIGN_TESTS_E2E_SUBPROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace idsign::e2e {

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is the binary's path
  std::string stdin_path;         // empty: /dev/null
  std::string stdout_path;        // empty: /dev/null
  std::string stderr_path;        // empty: /dev/null
};

class Subprocess {
 public:
  // Starts the child; nullptr (with the reason in *error) if it cannot.
  static std::unique_ptr<Subprocess> Spawn(const SpawnOptions& options,
                                           std::string* error);

  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  bool exited() const { return wait_status_.has_value(); }

  // Waits at most `timeout` for the child to end. Returns its wait(2) status,
  // or nullopt if it is still running.
  std::optional<int> WaitFor(std::chrono::milliseconds timeout);

  // Sends `signal` unless the child has already been reaped.
  void Signal(int signal);

  // SIGKILL and reap; a no-op once the child has been reaped.
  void Kill();

 private:
  explicit Subprocess(pid_t pid) : pid_(pid) {}

  pid_t pid_;
  std::optional<int> wait_status_;
};

// "exit 0", "exit 3", "killed by signal 9", for failure messages.
std::string DescribeWaitStatus(int wait_status);

// The exit code of a normally ended child; -1 if a signal ended it.
int ExitCode(int wait_status);

struct RunResult {
  bool timed_out = false;  // the child was killed at the timeout
  int exit_code = -1;      // -1 when timed out or ended by a signal
  std::string stdout_text;
  std::string stderr_text;

  // For gtest messages: exit code plus both streams.
  std::string Describe() const;
};

// Runs argv to completion with `stdin_text` as its input. The child is
// killed if it has not ended within `timeout`.
RunResult RunProcess(
    const std::vector<std::string>& argv, const std::string& stdin_text = "",
    std::chrono::milliseconds timeout = std::chrono::seconds(60));

// A fresh, unused path inside the test token's directory, for sockets,
// capture files and scratch input. `stem` makes it readable in failures.
std::string ScratchPath(const std::string& stem);

std::string ReadFileOrEmpty(const std::string& path);

}  // namespace idsign::e2e

#endif  // IDSIGN_TESTS_E2E_SUBPROCESS_H_
