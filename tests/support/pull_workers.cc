#include "support/pull_workers.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

namespace ironflow::server::testing {

using nlohmann::json;

void PollGate::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  open_ = false;
}

void PollGate::Open() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
  }
  cv_.notify_all();
}

void PollGate::StopBy(TimePoint t) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_by_ = std::min(stop_by_, t);
  }
  cv_.notify_all();
}

PollGate::TimePoint PollGate::Deadline(TimePoint until) {
  std::lock_guard<std::mutex> lock(mu_);
  return std::min(until, stop_by_);
}

void PollGate::WaitOpen(TimePoint until) {
  std::unique_lock<std::mutex> lock(mu_);
  while (!open_) {
    // StopBy may bring the deadline forward while waiting (it notifies): taken again after each wake-up.
    const TimePoint deadline = std::min(until, stop_by_);
    if (std::chrono::steady_clock::now() >= deadline) return;
    cv_.wait_until(lock, deadline);
  }
}

PullWorkersReport RunPullWorkers(const std::vector<std::string>& servers, const std::string& api_key,
                                 const std::vector<std::string>& worker_ids, int expected,
                                 std::chrono::seconds deadline, PollGate* gate) {
  PullWorkersReport report;
  std::mutex mu;
  std::atomic<int> completed{0};
  const auto until = std::chrono::steady_clock::now() + deadline;
  std::vector<std::thread> threads;
  for (size_t w = 0; w < worker_ids.size(); ++w) {
    threads.emplace_back([&, w] {
      const std::string& id = worker_ids[w];
      std::vector<std::unique_ptr<ApiClient>> clients;
      for (const auto& url : servers) clients.push_back(std::make_unique<ApiClient>(url, api_key));
      auto before_deadline = [&] { return std::chrono::steady_clock::now() < (gate ? gate->Deadline(until) : until); };
      for (size_t round = 0; completed.load() < expected && before_deadline(); ++round) {
        if (gate) gate->WaitOpen(until);
        ApiClient& via = *clients[(round + w) % clients.size()];
        auto r = via.Call("GET", "/api/v1/workers/" + id + "/jobs?available=4&wait_ms=300");
        if (r.status != 200) continue;
        for (const auto& job : r.body["jobs"]) {
          {
            std::lock_guard<std::mutex> lock(mu);
            ++report.deliveries[job["run_id"].get<std::string>()];
            ++report.attempts[job["run_id"].get<std::string>() + "#" + job["attempt"].dump()];
          }
          // As a real worker does, a result that got no answer or a 503 is sent again (through the next server):
          // the lease token makes a repeat harmless.
          json result = {{"status", "completed"}, {"output", id}, {"lease_token", job["lease_token"]}};
          const std::string target = "/api/v1/workers/" + id + "/jobs/" + job["job_id"].get<std::string>();
          ApiClient::Response done;
          const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
          for (size_t k = round % 2 ? 0 : 1; std::chrono::steady_clock::now() < give_up; ++k) {
            done = clients[(round + w + k) % clients.size()]->Call("PUT", target, result);
            if (done.status != -1 && done.status != 503) break;
          }
          if (done.status == 200) {
            completed.fetch_add(1);
          } else {
            std::lock_guard<std::mutex> lock(mu);
            report.refused.push_back(std::to_string(done.status) + " " + done.raw);
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  report.completed = completed.load();
  return report;
}

}  // namespace ironflow::server::testing
