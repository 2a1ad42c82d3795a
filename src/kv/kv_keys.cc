#include "kv/kv_keys.h"

#include <algorithm>

#include "common/names.h"

namespace ironflow::server {
namespace {

Status Mismatch(const std::string& key, uint64_t revision) {
  return Status::PreconditionFailed("key \"" + key + "\" is not at revision " + std::to_string(revision));
}

// "If-Match: <delete marker's revision>" must not match a deleted key.
Status RequireLive(KvBucket& kv, const std::string& key, uint64_t revision) {
  Status s = kv.RequireLiveRevision(key, revision);
  return s.is(Code::kConflict) ? Mismatch(key, revision) : s;
}

}  // namespace

Result<UserBucket> KvKeys::OpenKey(const std::string& env, const std::string& bucket, const std::string& key) {
  IF_ASSIGN_OR_RETURN(auto b, buckets_.Open(env, bucket));
  IF_RETURN_IF_ERROR(ValidateKvKey(key));
  return b;
}

Result<std::vector<std::string>> KvKeys::Keys(const std::string& env, const std::string& bucket,
                                              const std::string& filter) {
  IF_ASSIGN_OR_RETURN(auto b, buckets_.Open(env, bucket));
  IF_RETURN_IF_ERROR(ValidateKvKeyPattern(filter));
  IF_ASSIGN_OR_RETURN(auto keys, b.kv->Keys(filter));
  std::sort(keys.begin(), keys.end());
  return keys;
}

Result<KvEntry> KvKeys::Get(const std::string& env, const std::string& bucket, const std::string& key) {
  IF_ASSIGN_OR_RETURN(auto b, OpenKey(env, bucket, key));
  IF_ASSIGN_OR_RETURN(auto e, b.kv->Get(key));
  if (!e.has_value()) return Status::NotFound("key \"" + key + "\" does not exist");
  return std::move(*e);
}

Result<uint64_t> KvKeys::Put(const std::string& env, const std::string& bucket, const std::string& key,
                             std::string_view value, const WritePrecondition& pre, const RequestTag& tag) {
  IF_ASSIGN_OR_RETURN(auto b, OpenKey(env, bucket, key));
  if (b.max_value_size > 0 && value.size() > static_cast<size_t>(b.max_value_size)) {
    return Status::PayloadTooLarge("value exceeds the bucket's max_value_size of " + std::to_string(b.max_value_size) +
                                   " bytes");
  }
  KvBucket& kv = *b.kv;
  if (tag.retry) {  // the first attempt's outcome was unknown: if its write landed, that is the answer
    KvBucket::LastWriteInfo own;
    IF_ASSIGN_OR_RETURN(auto landed, kv.LastWriteIsTagged(key, tag.id, &own));
    if (landed && !own.deleted) return own.revision;
  }
  if (pre.create_only) {
    auto rev = kv.Create(key, value, tag.id);
    if (rev.status().is(Code::kConflict)) {
      return Status::PreconditionFailed("key \"" + key + "\" already exists (If-None-Match: *)");
    }
    return rev;
  }
  if (pre.if_revision) {
    IF_RETURN_IF_ERROR(RequireLive(kv, key, *pre.if_revision));
    auto rev = kv.Update(key, value, *pre.if_revision, tag.id);
    if (rev.status().is(Code::kConflict)) return Mismatch(key, *pre.if_revision);
    return rev;
  }
  return kv.Put(key, value, tag.id);
}

Status KvKeys::Delete(const std::string& env, const std::string& bucket, const std::string& key,
                      std::optional<uint64_t> if_revision, bool purge, const RequestTag& tag) {
  IF_ASSIGN_OR_RETURN(auto b, OpenKey(env, bucket, key));
  KvBucket& kv = *b.kv;
  if (tag.retry && !purge) {  // the first attempt's delete landed: done
    KvBucket::LastWriteInfo own;
    IF_ASSIGN_OR_RETURN(auto landed, kv.LastWriteIsTagged(key, tag.id, &own));
    if (landed && own.deleted) return Status::Ok();
  }
  if (if_revision) {
    IF_RETURN_IF_ERROR(RequireLive(kv, key, *if_revision));
    auto rev = kv.DeleteIfRevision(key, *if_revision, tag.id);
    if (rev.status().is(Code::kConflict)) return Mismatch(key, *if_revision);
    if (!rev.ok()) return rev.status();
  }
  if (purge) return kv.Purge(key);
  if (!if_revision) {
    IF_RETURN_IF_ERROR(kv.DeleteLatest(key, tag.id).status());
  }
  return Status::Ok();
}

Result<CounterValue> KvKeys::Increment(const std::string& env, const std::string& bucket, const std::string& key,
                                       int64_t by, const RequestTag& tag) {
  IF_ASSIGN_OR_RETURN(auto b, OpenKey(env, bucket, key));
  return counters_.Increment(*b.kv, key, by, tag);
}

}  // namespace ironflow::server
