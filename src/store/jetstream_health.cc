#include "store/jetstream_health.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "store/nats_handles.h"

namespace ironflow::server {
namespace {
constexpr auto kInterval = std::chrono::milliseconds(500);
constexpr int64_t kDeadlineMs = 1000;
// A follower last heard from longer ago than this does not count towards a quorum.
constexpr int64_t kPeerSilentNs = 2'000'000'000;

// Whether the stream's leader still has a quorum behind it. A leader that lost its followers keeps answering
// stream info until Raft makes it step down (seconds later); its view of the followers tells sooner.
bool LeaderHasQuorum(const jsStreamInfo& info) {
  if (info.Config == nullptr || info.Config->Replicas <= 1 || info.Cluster == nullptr) return true;
  int reachable = 1;  // the leader answering
  for (int i = 0; i < info.Cluster->ReplicasLen; ++i) {
    const jsPeerInfo* peer = info.Cluster->Replicas[i];
    if (peer != nullptr && !peer->Offline && peer->Active < kPeerSilentNs) ++reachable;  // lagging still counts
  }
  return reachable >= info.Config->Replicas / 2 + 1;
}
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
        if (s != NATS_OK || !LeaderHasQuorum(*info)) {
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
