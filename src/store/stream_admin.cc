#include "store/stream_admin.h"

#include "store/nats_handles.h"

namespace ironflow::server {

Status EnsureStream(NatsConnection& nc, const StreamSpec& spec, const std::string& what) {
  jsStreamInfo* raw_info = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&raw_info, nc.js(), spec.name.c_str(), nullptr, &err);
  nats::StreamInfoPtr info(raw_info);
  if (s == NATS_OK) {
    if (spec.update_max_age && info->Config && info->Config->MaxAge != spec.max_age_ns) {
      return SetStreamMaxAge(nc, spec.name, spec.max_age_ns, what);
    }
    return Status::Ok();
  }
  if (s != NATS_NOT_FOUND) return StatusFromNats(s, what + " info");

  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  const char* subjects[] = {spec.subject.c_str()};
  cfg.Name = spec.name.c_str();
  cfg.Description = spec.description.c_str();
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  cfg.Replicas = spec.replicas;
  cfg.MaxAge = spec.max_age_ns;
  cfg.MaxMsgs = spec.max_msgs;
  cfg.MaxBytes = spec.max_bytes;
  cfg.MaxMsgSize = spec.max_msg_size;
  cfg.Discard = js_DiscardOld;
  if (spec.work_queue) cfg.Retention = js_WorkQueuePolicy;
  if (spec.duplicates_ns > 0) cfg.Duplicates = spec.duplicates_ns;
  jsStreamInfo* created = nullptr;
  s = js_AddStream(&created, nc.js(), &cfg, nullptr, &err);
  nats::StreamInfoPtr created_info(created);
  if (s != NATS_OK) {
    // Another ironflow process may have created it between our lookup and our create: that is success.
    raw_info = nullptr;
    natsStatus again = js_GetStreamInfo(&raw_info, nc.js(), spec.name.c_str(), nullptr, &err);
    nats::StreamInfoPtr info2(raw_info);
    if (again != NATS_OK) return StatusFromNats(s, "create the " + what);
  }
  return Status::Ok();
}

Status SetStreamMaxAge(NatsConnection& nc, const std::string& stream, int64_t max_age_ns, const std::string& what) {
  jsStreamInfo* raw_info = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&raw_info, nc.js(), stream.c_str(), nullptr, &err);
  nats::StreamInfoPtr info(raw_info);
  if (s != NATS_OK) return StatusFromNats(s, what + " info");
  if (!info->Config || info->Config->MaxAge == max_age_ns) return Status::Ok();
  info->Config->MaxAge = max_age_ns;
  jsStreamInfo* updated = nullptr;
  natsStatus u = js_UpdateStream(&updated, nc.js(), info->Config, nullptr, &err);
  nats::StreamInfoPtr updated_info(updated);
  if (u != NATS_OK) return StatusFromNats(u, "update the " + what + "'s retention");
  return Status::Ok();
}

namespace {

// The stream's info (with per-subject counts for `subjects_filter`, when given); kNotFound when it does not exist.
Result<nats::StreamInfoPtr> FetchStreamInfo(NatsConnection& nc, const std::string& stream,
                                            const std::string* subjects_filter = nullptr) {
  jsOptions o;
  jsOptions_Init(&o);
  if (subjects_filter) o.Stream.Info.SubjectsFilter = subjects_filter->c_str();
  jsStreamInfo* raw_info = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&raw_info, nc.js(), stream.c_str(), &o, &err);
  nats::StreamInfoPtr info(raw_info);
  if (s == NATS_NOT_FOUND) return Status::NotFound("stream " + stream + " does not exist");
  if (s != NATS_OK) return StatusFromNats(s, "stream info " + stream);
  return info;
}

}  // namespace

Result<StreamState> GetStreamState(NatsConnection& nc, const std::string& stream) {
  IF_ASSIGN_OR_RETURN(auto info, FetchStreamInfo(nc, stream));
  const jsStreamInfo& i = *info;
  StreamState out;
  out.messages = i.State.Msgs;
  out.last_seq = i.State.LastSeq;
  if (i.Config) {
    out.replicas = static_cast<int>(i.Config->Replicas);
    out.max_age_ns = i.Config->MaxAge;
  }
  return out;
}

Result<std::map<std::string, uint64_t>> CountMessagesBySubject(NatsConnection& nc, const std::string& stream,
                                                               const std::string& subject_filter) {
  IF_ASSIGN_OR_RETURN(auto info, FetchStreamInfo(nc, stream, &subject_filter));
  std::map<std::string, uint64_t> out;
  if (const jsStreamStateSubjects* subjects = (info)->State.Subjects) {
    for (int i = 0; i < subjects->Count; ++i) out[subjects->List[i].Subject] = subjects->List[i].Msgs;
  }
  return out;
}

Status DeleteStream(NatsConnection& nc, const std::string& stream) {
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_DeleteStream(nc.js(), stream.c_str(), nullptr, &err);
  if (s == NATS_NOT_FOUND) return Status::NotFound("stream " + stream + " does not exist");
  return StatusFromNats(s, "delete stream " + stream);
}

}  // namespace ironflow::server
