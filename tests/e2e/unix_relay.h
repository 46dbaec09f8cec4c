// UnixRelay: a byte-for-byte relay between a unix socket it listens on and
// idsignd's unix socket, for tests that must know where a call is.
//
// It counts the bytes relayed in each direction and can tell how many bytes
// it wrote to the server that the server has not read yet (SIOCOUTQ). Once a
// request's bytes have all been relayed and read, the server holds the whole
// request: a stop signal sent then finds the call in flight.
//
// Thread safety: the counters may be read from any thread. Ownership: owns
// its listening socket, the relayed connections and their threads; the
// destructor closes them all and joins the threads.
#ifndef IDSIGN_TESTS_E2E_UNIX_RELAY_H_
#define IDSIGN_TESTS_E2E_UNIX_RELAY_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace idsign::e2e {

class UnixRelay {
 public:
  // Listens on `listen_path` and relays each connection to `server_path`.
  // nullptr (reason in *error) on failure.
  static std::unique_ptr<UnixRelay> Start(const std::string& listen_path,
                                          const std::string& server_path,
                                          std::string* error);
  ~UnixRelay();

  uint64_t bytes_to_server() const { return to_server_.load(); }
  uint64_t bytes_to_client() const { return to_client_.load(); }
  // Bytes relayed to the server that it has not read yet, summed over the
  // connections.
  uint64_t unread_by_server() const;

 private:
  UnixRelay() = default;
  void AcceptLoop();
  void Pump(int from, int to, std::atomic<uint64_t>* counter);

  std::string server_path_;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> to_server_{0};
  std::atomic<uint64_t> to_client_{0};
  std::thread acceptor_;
  mutable absl::Mutex mu_;
  std::vector<int> fds_ ABSL_GUARDED_BY(mu_);         // every relayed socket
  std::vector<int> server_fds_ ABSL_GUARDED_BY(mu_);  // the server-side ones
  std::vector<std::thread> pumps_ ABSL_GUARDED_BY(mu_);
};

}  // namespace idsign::e2e

#endif  // IDSIGN_TESTS_E2E_UNIX_RELAY_H_
