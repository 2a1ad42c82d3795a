#include "kv/user_buckets.h"

namespace ironflow::server {
namespace {

constexpr size_t kMaxDescriptionBytes = 1024;

Status CheckSpec(const BucketSpec& spec) {
  if (spec.description.size() > kMaxDescriptionBytes) {
    return Status::InvalidArgument("description exceeds " + std::to_string(kMaxDescriptionBytes) + " bytes");
  }
  if (spec.ttl_seconds < 0 || spec.ttl_seconds > kMaxKvTtlSeconds) {
    return Status::InvalidArgument("ttl_seconds must be between 0 (no expiry) and " + std::to_string(kMaxKvTtlSeconds));
  }
  if (spec.history < 1 || spec.history > 64) return Status::InvalidArgument("history must be between 1 and 64");
  if (spec.max_value_size < 1 || spec.max_value_size > kMaxKvValueBytes) {
    return Status::InvalidArgument("max_value_size must be between 1 and " + std::to_string(kMaxKvValueBytes));
  }
  if (spec.replicas < 0 || spec.replicas > 5) return Status::InvalidArgument("replicas must be between 1 and 5");
  return Status::Ok();
}

}  // namespace

Result<KvBucketInfo> UserBuckets::UserInfo(const std::string& env, const std::string& bucket) {
  auto info = GetKvBucketInfo(nc_, NatsName(env, bucket));
  if (info.status().is(Code::kNotFound)) {
    return Status::NotFound("KV bucket \"" + bucket + "\" does not exist in environment \"" + env + "\"");
  }
  if (!info.ok()) return info.status();
  info->name = bucket;
  return info;
}

Result<KvBucketInfo> UserBuckets::Create(const std::string& env, const BucketSpec& spec, const Actor& actor) {
  IF_RETURN_IF_ERROR(CheckSpec(spec));
  auto existing = UserInfo(env, spec.name);
  if (existing.ok()) {
    return Status::AlreadyExists("KV bucket \"" + spec.name + "\" already exists in environment \"" + env + "\"");
  }
  if (!existing.status().is(Code::kNotFound)) return existing.status();
  KvBucketConfig cfg;
  cfg.name = NatsName(env, spec.name);
  cfg.description = spec.description;
  cfg.history = spec.history;
  cfg.replicas = spec.replicas > 0 ? spec.replicas : replicas_;
  if (cfg.replicas > 1 && !replicated_cas_safe_) {
    return Status::InvalidArgument("replicas " + std::to_string(cfg.replicas) +
                                   ": replicated buckets need nats-server 2.10.20 or newer on every node "
                                   "(compare-and-set is not exact on older ones, nats-server#4320)");
  }
  cfg.max_value_size = spec.max_value_size;
  cfg.ttl_ms = spec.ttl_seconds * 1000;
  auto created = KvBucket::OpenOrCreate(nc_, cfg);  // too few nodes for the replicas: kInvalidArgument
  if (!created.ok()) return created.status();
  open_.Erase(cfg.name);
  auto info = UserInfo(env, spec.name);
  if (!info.ok()) return info;
  IF_RETURN_IF_ERROR(events_.Changed("kv", spec.name, "created", env, actor));
  return info;
}

Result<std::vector<KvBucketInfo>> UserBuckets::List(const std::string& env) {
  const std::string prefix = NatsName(env, "");
  IF_ASSIGN_OR_RETURN(auto names, ListKvBuckets(nc_, prefix));
  std::vector<KvBucketInfo> out;
  for (const auto& n : names) {
    auto info = UserInfo(env, n.substr(prefix.size()));
    if (info.status().is(Code::kNotFound)) continue;  // deleted since the listing
    if (!info.ok()) return info.status();
    out.push_back(std::move(info).value());
  }
  return out;
}

Result<KvBucketInfo> UserBuckets::Info(const std::string& env, const std::string& bucket) {
  return UserInfo(env, bucket);
}

Status UserBuckets::Delete(const std::string& env, const std::string& bucket, const Actor& actor) {
  const std::string name = NatsName(env, bucket);
  open_.Erase(name);
  Status s = DeleteKvBucket(nc_, name);
  if (s.is(Code::kNotFound)) {
    return Status::NotFound("KV bucket \"" + bucket + "\" does not exist in environment \"" + env + "\"");
  }
  if (!s.ok()) return s;
  return events_.Changed("kv", bucket, "deleted", env, actor);
}

Result<UserBucket> UserBuckets::Open(const std::string& env, const std::string& bucket) {
  const std::string name = NatsName(env, bucket);
  if (auto cached = open_.Get(name)) return *cached;
  IF_ASSIGN_OR_RETURN(auto info, UserInfo(env, bucket));
  auto kv = KvBucket::Open(nc_, name);
  if (kv.status().is(Code::kNotFound)) {
    return Status::NotFound("KV bucket \"" + bucket + "\" does not exist in environment \"" + env + "\"");
  }
  if (!kv.ok()) return kv.status();
  UserBucket out{std::shared_ptr<KvBucket>(std::move(kv).value()), info.max_value_size};
  open_.Put(name, out);
  return out;
}

}  // namespace ironflow::server
