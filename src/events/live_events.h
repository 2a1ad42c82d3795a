// LiveEvents: the system events of one environment as they happen (the live feed of /api/v1/stream and the
// dashboard), from the core NATS subjects `system.>` every event is published on. Events of other environments
// are never handed out. Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "store/nats_connection.h"

namespace ironflow::server {

class LiveEvents {
 public:
  explicit LiveEvents(NatsConnection& nc) : nc_(nc) {}

  // Calls `on_event(subject, payload_json)` for each event of `environment` whose subject matches `pattern` (a
  // system.* pattern; kInvalidArgument otherwise, and ">" means "system.>") until the returned handle is
  // released. Every event published after this returns is seen. `on_event` runs on a NATS thread and must not
  // block.
  using OnEvent = std::function<void(std::string_view subject, std::string_view payload_json)>;
  Result<std::shared_ptr<void>> Follow(const std::string& environment, std::string pattern, OnEvent on_event);

 private:
  NatsConnection& nc_;
};

}  // namespace ironflow::server
