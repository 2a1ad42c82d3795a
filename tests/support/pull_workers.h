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
// the next jobs. Open at first. `StopBy` brings the workers' deadline forward: a test calls it once its writes
// are done, so a run that never completes fails the test with its diagnostics instead of outliving CTest's limit.
class PollGate {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  void Close();
  void Open();
  void StopBy(TimePoint t);
  // The earlier of `until` and the time given to StopBy.
  TimePoint Deadline(TimePoint until);
  // Returns once open, or at Deadline(until).
  void WaitOpen(TimePoint until);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  TimePoint stop_by_ = TimePoint::max();
};

// `servers`: base URLs; `worker_ids`: registered workers (one thread each); `gate` (optional) is waited on
// before each poll.
PullWorkersReport RunPullWorkers(const std::vector<std::string>& servers, const std::string& api_key,
                                 const std::vector<std::string>& worker_ids, int expected,
                                 std::chrono::seconds deadline, PollGate* gate = nullptr);

}  // namespace ironflow::server::testing
