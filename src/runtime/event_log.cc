#include "runtime/event_log.h"

#include <nats/nats.h>

#include <nlohmann/json.hpp>

#include "common/time_util.h"
#include "runtime/ids.h"
#include "store/nats_handles.h"
#include "store/stream_admin.h"

namespace ironflow {

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

Result<StoredEvent> EventLog::Publish(const std::string& env, const std::string& name, const std::string& data_json,
                                      const std::string& metadata_json) {
  StoredEvent ev{NewId("evt_"), name, env, data_json, FormatRfc3339(NowUnixMillis())};
  nlohmann::json doc = {{"id", ev.id},
                        {"name", name},
                        {"environment", env},
                        {"data", nlohmann::json::parse(data_json)},
                        {"metadata", nlohmann::json::parse(metadata_json)},
                        {"timestamp", ev.timestamp}};
  std::string payload = doc.dump();
  std::string subject = "events." + env + "." + name;
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MsgId = ev.id.c_str();  // de-duplicates a retried publish
  jsPubAck* raw_ack = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_Publish(&raw_ack, nc_->js(), subject.c_str(), payload.data(), static_cast<int>(payload.size()), &po, &err);
  nats::PubAckPtr ack(raw_ack);
  if (s != NATS_OK) return StatusFromNats(s, "store event");
  return ev;
}

}  // namespace ironflow
