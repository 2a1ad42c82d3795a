#include "push/push_dispatcher.h"

#include <utility>

#include "api/job_result_body.h"
#include "common/time_util.h"
#include "crypto/secure_bytes.h"
#include "http/http_client.h"

namespace ironflow::server {

PushDispatcher::PushDispatcher(Signer sign, std::string ca_file, int max_in_flight)
    : sign_(std::move(sign)), ca_file_(std::move(ca_file)), max_in_flight_(max_in_flight) {}

PushDispatcher::~PushDispatcher() { Stop(); }

int PushDispatcher::room() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stopping_ ? 0 : max_in_flight_ - busy_;
}

bool PushDispatcher::Start(PushCall call, Done done) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) {
    Cleanse(call.body);
    return false;
  }
  queue_.push_back(Task{std::move(call), std::move(done)});
  ++busy_;
  // A new thread only when more tasks wait than threads do; never more than max_in_flight threads.
  cv_.notify_one();
  if (static_cast<int>(queue_.size()) > idle_ && static_cast<int>(threads_.size()) < max_in_flight_) {
    threads_.emplace_back([this] { Loop(); });
  }
  return true;
}

void PushDispatcher::Stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    threads.swap(threads_);
  }
  cv_.notify_all();
  for (auto& t : threads) t.join();  // each runs the queue dry first
}

void PushDispatcher::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    ++idle_;
    cv_.wait(lock, [this] { return !queue_.empty() || stopping_; });
    --idle_;
    if (queue_.empty()) return;  // stopping, and nothing left to call
    Task task = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    PushAnswer answer = Call(task.call);
    task.done(std::move(answer));
    lock.lock();
    --busy_;
  }
}

PushAnswer PushDispatcher::Call(PushCall& call) {
  PushAnswer answer;
  const std::string& url = call.url;
  const std::string base = url.substr(0, url.find('/', url.find("://") + 3));
  const std::string target = url.size() > base.size() ? url.substr(base.size()) : "/";
  auto client = HttpClient::Create(base, ca_file_);
  if (!client.ok()) {
    Cleanse(call.body);
    answer.result = Status::InvalidArgument("invalid push URL or push CA file: " + client.status().message());
    answer.retryable = false;
    return answer;
  }
  const int64_t t = NowUnixMillis() / 1000;
  HeaderList headers = {{"Content-Type", "application/json"}, {"X-Ironflow-Signature", sign_(t, call.body)}};
  auto res = (*client)->Send("POST", target, headers, call.body, static_cast<int>(call.timeout_ms));
  Cleanse(call.body);
  if (!res.ok()) {
    answer.result = Status::Unavailable("push call to " + base + " failed: " + res.status().message());
  } else if (res->status == 200) {
    auto parsed = ParseJobResult(res->body, /*require_lease_token=*/false);
    if (parsed.ok()) {
      answer.result = std::move(parsed).value();
    } else {
      answer.result = Status::InvalidArgument("push response invalid: " + parsed.status().message());
    }
  } else {
    answer.result = Status::Unavailable("push call answered HTTP " + std::to_string(res->status));
    // 5xx and 401 are transient (server trouble, signing-key rollout); other 4xx are the app's final word.
    answer.retryable = res->status >= 500 || res->status == 401 || res->status == 408 || res->status == 429;
  }
  return answer;
}

}  // namespace ironflow::server
