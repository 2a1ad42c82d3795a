#include "runtime/event_log.h"

#include <nats/nats.h>

#include <nlohmann/json.hpp>

#include "common/time_util.h"
#include "runtime/job_queue.h"
#include "store/nats_handles.h"

namespace ironflow {

Result<EventLog> EventLog::Ensure(NatsConnection& nc, int replicas) {
  const char* name = "IRONFLOW_EVENTS";
  jsStreamInfo* raw = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&raw, nc.js(), name, nullptr, &err);
  nats::StreamInfoPtr info(raw);
  if (s == NATS_OK) return EventLog(nc);
  if (s != NATS_NOT_FOUND) return StatusFromNats(s, "events stream info");
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  const char* subjects[] = {"events.>"};
  cfg.Name = name;
  cfg.Description = "Ironflow events";
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  cfg.Replicas = replicas;
  cfg.MaxAge = int64_t{7} * 24 * 3600 * 1000000000LL;
  cfg.MaxBytes = int64_t{1} << 30;
  cfg.MaxMsgSize = 1 << 20;
  cfg.Discard = js_DiscardOld;
  jsStreamInfo* created = nullptr;
  s = js_AddStream(&created, nc.js(), &cfg, nullptr, &err);
  nats::StreamInfoPtr created_info(created);
  if (s != NATS_OK) {
    raw = nullptr;
    natsStatus again = js_GetStreamInfo(&raw, nc.js(), name, nullptr, &err);
    nats::StreamInfoPtr info2(raw);
    if (again != NATS_OK) return StatusFromNats(s, "create events stream");
  }
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
