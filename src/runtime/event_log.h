// EventLog: user events persisted in the JetStream stream IRONFLOW_EVENTS on subjects
// `events.<environment>.<name>` (disjoint from the `system.>` audit stream). Publish waits for the stream's ack,
// so a 202 means the event is stored. Thread-safe.
#pragma once

#include <string>

#include "common/status.h"
#include "store/nats_connection.h"

namespace ironflow::server {

struct StoredEvent {
  std::string id;
  std::string name;
  std::string environment;
  std::string data_json;
  std::string timestamp;
};

class EventLog {
 public:
  static Result<EventLog> Ensure(NatsConnection& nc, int replicas);
  // Assigns id and timestamp, stores the event, and returns it.
  Result<StoredEvent> Publish(const std::string& env, const std::string& name, const std::string& data_json,
                              const std::string& metadata_json);
  // Assigns id (`id`, or a random one when empty) and timestamp and returns the event with the message that
  // stores it (de-duplicated by the event id), for a caller that stores it together with others.
  static std::pair<StoredEvent, StreamPublish> Prepare(const std::string& env, const std::string& name,
                                                       const std::string& data_json, const std::string& metadata_json,
                                                       const std::string& id = "");

 private:
  explicit EventLog(NatsConnection& nc) : nc_(&nc) {}
  NatsConnection* nc_;
};

}  // namespace ironflow::server
