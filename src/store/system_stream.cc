#include "store/system_stream.h"

#include <string>

#include "store/nats_handles.h"

namespace ironflow {

Result<SystemStream> SystemStream::Ensure(NatsConnection& nc, int replicas, int retention_days) {
  std::string name(kName);
  const int64_t max_age_ns = int64_t{retention_days} * 24 * 3600 * 1000000000LL;
  jsStreamInfo* raw_info = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&raw_info, nc.js(), name.c_str(), nullptr, &err);
  nats::StreamInfoPtr info(raw_info);
  if (s == NATS_OK) {
    if (info->Config && info->Config->MaxAge != max_age_ns) {
      // The audit retention changed (--audit-retention-days): apply it to the existing stream.
      info->Config->MaxAge = max_age_ns;
      jsStreamInfo* updated = nullptr;
      natsStatus u = js_UpdateStream(&updated, nc.js(), info->Config, nullptr, &err);
      nats::StreamInfoPtr updated_info(updated);
      if (u != NATS_OK) return StatusFromNats(u, "update the audit stream's retention");
    }
    return SystemStream(nc);
  }
  if (s != NATS_NOT_FOUND) return StatusFromNats(s, "system stream info");

  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  const char* subjects[] = {"system.>"};
  cfg.Name = name.c_str();
  cfg.Description = "Ironflow system events (audit)";
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  cfg.Replicas = replicas;
  cfg.MaxAge = max_age_ns;
  cfg.MaxMsgs = 1000000;
  cfg.MaxBytes = int64_t{1} << 30;
  cfg.Discard = js_DiscardOld;
  jsStreamInfo* created = nullptr;
  s = js_AddStream(&created, nc.js(), &cfg, nullptr, &err);
  nats::StreamInfoPtr created_info(created);
  // Another ironflow process may have created it between our lookup and our create: that is success.
  if (s != NATS_OK) {
    raw_info = nullptr;
    natsStatus again = js_GetStreamInfo(&raw_info, nc.js(), name.c_str(), nullptr, &err);
    nats::StreamInfoPtr info2(raw_info);
    if (again != NATS_OK) return StatusFromNats(s, "create system stream");
  }
  return SystemStream(nc);
}

Status SystemStream::Publish(std::string_view subject, std::string_view payload) {
  return nc_->PublishToStreamAsync(subject, payload);
}

}  // namespace ironflow
