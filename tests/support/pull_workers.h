// PullWorkers: simulated pull-mode workers for exactly-once tests. Each worker long-polls the given servers in
// turn, completes every job it gets (sending half of the results through another server than the one that
// leased the job), and records what it saw, until `expected` runs completed or the deadline passes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "support/server_process.h"

namespace ironflow::server::testing {

struct PullWorkersReport {
  std::map<std::string, int> deliveries;  // run id -> times a worker got it
  std::map<std::string, int> attempts;    // "<run id>#<attempt>" -> times a worker got that attempt
  std::vector<std::string> refused;       // "<status> <body>" of results a server did not take
  int completed = 0;                      // results answered 200
  int repeated() const {
    int n = 0;
    for (const auto& [run, times] : deliveries) n += times > 1;
    return n;
  }
  // Attempts handed out more than once (a repeat must always be a new, recorded attempt).
  int repeated_attempts() const {
    int n = 0;
    for (const auto& [attempt, times] : attempts) n += times > 1;
    return n;
  }
};

// Holds the workers between polls while closed (a poll in flight finishes): lets a test have another worker take
// the next jobs. Open at first.
class PollGate {
 public:
  void Close();
  void Open();
  // Returns once open, or at `until`.
  void WaitOpen(std::chrono::steady_clock::time_point until);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
};

// `servers`: base URLs; `worker_ids`: registered workers (one thread each); `gate` (optional) is waited on
// before each poll.
PullWorkersReport RunPullWorkers(const std::vector<std::string>& servers, const std::string& api_key,
                                 const std::vector<std::string>& worker_ids, int expected,
                                 std::chrono::seconds deadline, PollGate* gate = nullptr);

}  // namespace ironflow::server::testing
