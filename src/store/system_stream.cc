#include "store/system_stream.h"

#include <string>

#include "store/nats_handles.h"
#include "store/stream_admin.h"

namespace ironflow::server {

Result<SystemStream> SystemStream::Ensure(NatsConnection& nc, int replicas, int retention_days) {
  StreamSpec spec;
  spec.name = std::string(kName);
  spec.description = "Ironflow system events (audit)";
  spec.subject = "system.>";
  spec.replicas = replicas;
  spec.max_age_ns = int64_t{retention_days} * 24 * 3600 * 1000000000LL;
  spec.max_msgs = 1000000;
  spec.max_bytes = int64_t{1} << 30;
  spec.update_max_age = true;  // --audit-retention-days applies to an existing stream too
  IF_RETURN_IF_ERROR(EnsureStream(nc, spec, "audit stream"));
  return SystemStream(nc);
}

Result<SystemStream> SystemStream::Bind(NatsConnection& nc) {
  jsStreamInfo* raw = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  const std::string name(kName);
  natsStatus s = js_GetStreamInfo(&raw, nc.js(), name.c_str(), nullptr, &err);
  nats::StreamInfoPtr info(raw);
  if (s == NATS_NOT_FOUND) return Status::NotFound("the audit stream " + name + " does not exist");
  if (s != NATS_OK) return StatusFromNats(s, "audit stream info");
  return SystemStream(nc);
}

Status SystemStream::PublishDurably(const std::vector<StreamPublish>& messages) {
  for (const auto& m : messages) {
    if (m.subject.rfind("system.", 0) != 0) return Status::InvalidArgument("system events go to system.* subjects");
  }
  return nc_->PublishToStreamDurably(messages);
}

}  // namespace ironflow::server
