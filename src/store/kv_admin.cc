#include "store/kv_admin.h"

#include <algorithm>

#include "store/nats_handles.h"

namespace ironflow::server {
namespace {

constexpr const char* kStreamPrefix = "KV_";  // a KV bucket B is the stream KV_B

}  // namespace

Result<KvBucketInfo> GetKvBucketInfo(NatsConnection& nc, const std::string& bucket) {
  jsStreamInfo* raw = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  std::string stream = kStreamPrefix + bucket;
  natsStatus s = js_GetStreamInfo(&raw, nc.js(), stream.c_str(), nullptr, &err);
  nats::StreamInfoPtr info(raw);
  if (s == NATS_NOT_FOUND) return Status::NotFound("KV bucket " + bucket + " does not exist");
  if (s != NATS_OK) return StatusFromNats(s, "KV bucket info");
  KvBucketInfo out;
  out.name = bucket;
  if (info->Config) {
    if (info->Config->Description) out.description = info->Config->Description;
    out.ttl_ms = info->Config->MaxAge / 1000000;
    out.history = static_cast<int>(info->Config->MaxMsgsPerSubject);
    out.max_value_size = info->Config->MaxMsgSize;
    out.replicas = static_cast<int>(info->Config->Replicas);
  }
  out.values = info->State.Msgs;
  out.bytes = info->State.Bytes;
  out.created_ns = info->Created;
  return out;
}

Result<std::vector<std::string>> ListKvBuckets(NatsConnection& nc, const std::string& prefix) {
  jsStreamNamesList* raw = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_StreamNames(&raw, nc.js(), nullptr, &err);
  nats::StreamNamesPtr list(raw);
  std::vector<std::string> out;
  if (s == NATS_NOT_FOUND) return out;  // no stream at all
  if (s != NATS_OK) return StatusFromNats(s, "list KV buckets");
  const std::string want = kStreamPrefix + prefix;
  for (int i = 0; i < list->Count; ++i) {
    std::string name = list->List[i];
    if (name.rfind(want, 0) == 0) out.push_back(name.substr(std::string(kStreamPrefix).size()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status DeleteKvBucket(NatsConnection& nc, const std::string& bucket) {
  natsStatus s = js_DeleteKeyValue(nc.js(), bucket.c_str());
  if (s == NATS_NOT_FOUND) return Status::NotFound("KV bucket " + bucket + " does not exist");
  return StatusFromNats(s, "delete KV bucket");
}

}  // namespace ironflow::server
