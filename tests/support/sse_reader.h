// Test helpers for asynchronous deliveries: Collector (a queue with a bounded wait) and SseReader (reads the
// Server-Sent Events frames of one GET on a background thread).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "http/http_client.h"

namespace ironflow::server::testing {

// Collects (subject, data) items from another thread; Next waits (bounded) for the next one.
class Collector {
 public:
  void Add(std::string subject, std::string data) {
    std::lock_guard<std::mutex> lock(mu_);
    items_.emplace_back(std::move(subject), std::move(data));
    cv_.notify_all();
  }
  bool Next(std::pair<std::string, std::string>* out, int timeout_ms = 10000) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return !items_.empty(); })) return false;
    *out = items_.front();
    items_.pop_front();
    return true;
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return items_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, std::string>> items_;
};

// Reads SSE frames (text up to a blank line) from `target` on a background thread. The destructor waits for the
// reader to see one more chunk (a frame or a heartbeat), so tests end with a write that produces a frame.
class SseReader {
 public:
  SseReader(const std::string& url, const std::string& key, const std::string& env, const std::string& target) {
    thread_ = std::thread([=, this] {
      auto client = HttpClient::Create(url);
      HeaderList h = {{"Authorization", "Bearer " + key}, {"X-Ironflow-Environment", env}};
      SseFrames frames;
      // How the stream ended does not matter here: the "end" item below tells the test it did.
      (void)(*client)->Stream(
          target, h, [this](int status) { status_ = status; },
          [&](std::string_view data) {
            frames.Feed(data, [&](std::string frame) {
              added_.fetch_add(1);  // counted before it becomes visible to Next()
              frames_.Add("frame", std::move(frame));
              return true;
            });
            return added_.load() < stop_at_.load();
          },
          20000);
      frames_.Add("end", "");
    });
  }
  ~SseReader() {
    stop_at_ = 0;
    thread_.join();
  }
  // The reader returns after the next frame it receives that the caller has not yet seen (a frame already
  // delivered to Next() does not count, however late the reader thread looks at this request).
  void StopAfterNextFrame() { stop_at_ = added_.load() + 1; }
  Collector& frames() { return frames_; }
  int status() const { return status_.load(); }

 private:
  Collector frames_;
  std::atomic<int> status_{0};
  std::atomic<size_t> added_{0};
  std::atomic<size_t> stop_at_{SIZE_MAX};
  std::thread thread_;
};

}  // namespace ironflow::server::testing
