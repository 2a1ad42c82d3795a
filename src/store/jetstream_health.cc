#include "store/jetstream_health.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "store/nats_handles.h"

namespace ironflow::server {
namespace {
constexpr auto kInterval = std::chrono::milliseconds(500);
constexpr int64_t kDeadlineMs = 1000;
}  // namespace

JetStreamHealth::JetStreamHealth(NatsConnection& nc, std::vector<std::string> streams)
    : nc_(nc), streams_(std::move(streams)) {
  thread_ = std::thread([this] { Loop(); });
}

JetStreamHealth::~JetStreamHealth() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
}

std::string JetStreamHealth::failing_stream() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failing_;
}

void JetStreamHealth::Loop() {
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = kDeadlineMs;
  jo.Stream.Info.DeletedDetails = false;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (stop_cv_.wait_for(lock, kInterval, [this] { return stop_; })) return;
    }
    std::string failing;
    if (nc_.connected()) {
      for (const auto& stream : streams_) {
        jsStreamInfo* raw = nullptr;
        jsErrCode err = static_cast<jsErrCode>(0);
        natsStatus s = js_GetStreamInfo(&raw, nc_.js(), stream.c_str(), &jo, &err);
        nats::StreamInfoPtr info(raw);
        if (s != NATS_OK) {
          failing = stream;
          break;
        }
      }
    } else {
      failing = "(NATS connection)";
    }
    const bool ok = failing.empty();
    if (writable_.exchange(ok) != ok) {
      if (ok) {
        spdlog::info("JetStream takes writes again: ready");
      } else {
        spdlog::error("JetStream cannot take writes ({} has no reachable leader): not ready", failing);
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    failing_ = failing;
  }
}

}  // namespace ironflow::server
