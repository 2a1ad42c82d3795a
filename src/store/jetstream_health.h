// JetStreamHealth: whether JetStream can take writes for the streams the server depends on, for /readyz.
//
// A background thread asks each stream's leader for its info every 500 ms with a 1 s deadline; the answer
// comes from the stream's Raft leader, so without quorum (or while no leader is elected) it times out. The
// streams count as writable while the latest round of answers all came back: after quorum is lost /readyz
// turns 503 within 1.5 s, and 200 again once every stream answers. The connection being down counts as not
// writable at once. Stops and joins in the destructor.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/nats_connection.h"

namespace ironflow::server {

class JetStreamHealth {
 public:
  JetStreamHealth(NatsConnection& nc, std::vector<std::string> streams);
  ~JetStreamHealth();
  JetStreamHealth(const JetStreamHealth&) = delete;
  JetStreamHealth& operator=(const JetStreamHealth&) = delete;

  bool writable() const { return nc_.connected() && writable_.load(); }
  // The first stream that did not answer in the latest round (empty when all did).
  std::string failing_stream() const;

 private:
  void Loop();

  NatsConnection& nc_;
  const std::vector<std::string> streams_;
  std::atomic<bool> writable_{true};  // the server checked the streams at start; the first round confirms
  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::string failing_;
  std::thread thread_;
};

}  // namespace ironflow::server
