#include "runtime/event_log.h"

#include <nats/nats.h>

#include <nlohmann/json.hpp>

#include "common/time_util.h"
#include "runtime/ids.h"
#include "store/nats_handles.h"
#include "store/stream_admin.h"

namespace ironflow::server {

Result<EventLog> EventLog::Ensure(NatsConnection& nc, int replicas) {
  StreamSpec spec;
  spec.name = "IRONFLOW_EVENTS";
  spec.description = "Ironflow events";
  spec.subject = "events.>";
  spec.replicas = replicas;
  spec.max_age_ns = int64_t{7} * 24 * 3600 * 1000000000LL;
  spec.max_bytes = int64_t{1} << 30;
  spec.max_msg_size = 1 << 20;
  IF_RETURN_IF_ERROR(EnsureStream(nc, spec, "events stream"));
  return EventLog(nc);
}

std::pair<StoredEvent, StreamPublish> EventLog::Prepare(const std::string& env, const std::string& name,
                                                        const std::string& data_json, const std::string& metadata_json,
                                                        const std::string& id) {
  StoredEvent ev{id.empty() ? NewId("evt_") : id, name, env, data_json, FormatRfc3339(NowUnixMillis())};
  nlohmann::json doc = {{"id", ev.id},
                        {"name", name},
                        {"environment", env},
                        {"data", nlohmann::json::parse(data_json)},
                        {"metadata", nlohmann::json::parse(metadata_json)},
                        {"timestamp", ev.timestamp}};
  StreamPublish msg{"events." + env + "." + name, doc.dump(), ev.id, false};
  return {std::move(ev), std::move(msg)};
}

Result<StoredEvent> EventLog::Publish(const std::string& env, const std::string& name, const std::string& data_json,
                                      const std::string& metadata_json) {
  auto [ev, msg] = Prepare(env, name, data_json, metadata_json);
  IF_RETURN_IF_ERROR(nc_->PublishToStreamDurably({msg}));
  return ev;
}

}  // namespace ironflow::server
