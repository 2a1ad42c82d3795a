#include "runtime/job_queue.h"

#include <nlohmann/json.hpp>

#include "common/hex.h"
#include "crypto/digest.h"

namespace ironflow {

using nlohmann::json;

std::string NewId(const char* prefix) { return std::string(prefix) + HexEncode(RandomBytes(12)); }

namespace {

std::string Encode(const JobRecord& j) {
  json resolved = json::object();
  for (const auto& [k, v] : j.resolved) resolved[k] = v;
  return json{{"job_id", j.job_id},         {"run_id", j.run_id},
              {"function_id", j.function_id}, {"environment", j.environment},
              {"mode", j.mode},             {"attempt", j.attempt},
              {"state", j.state},           {"not_before_ms", j.not_before_ms},
              {"lease_token", j.lease_token}, {"worker_id", j.worker_id},
              {"leased_at_ms", j.leased_at_ms}, {"lease_expires_ms", j.lease_expires_ms},
              {"resolved", resolved}}
      .dump();
}

Result<JobRecord> Decode(std::string_view text) {
  json d = json::parse(text, nullptr, false);
  if (!d.is_object()) return Status::Internal("stored job record is malformed");
  try {
    JobRecord j;
    j.job_id = d.at("job_id");
    j.run_id = d.at("run_id");
    j.function_id = d.at("function_id");
    j.environment = d.at("environment");
    j.mode = d.at("mode");
    j.attempt = d.at("attempt");
    j.state = d.at("state");
    j.not_before_ms = d.at("not_before_ms");
    j.lease_token = d.at("lease_token");
    j.worker_id = d.at("worker_id");
    j.leased_at_ms = d.at("leased_at_ms");
    j.lease_expires_ms = d.at("lease_expires_ms");
    for (const auto& [k, v] : d.at("resolved").items()) j.resolved[k] = v.get<uint64_t>();
    return j;
  } catch (const json::exception&) {
    return Status::Internal("stored job record is malformed");
  }
}

}  // namespace

void JobQueue::Mirror(const JobRecord& job, const std::string& value, uint64_t revision, bool deleted) {
  if (mirror_) mirror_->Apply(KvEntry{job.key(), value, revision, 0}, deleted);
}

Status JobQueue::Enqueue(const JobRecord& job) {
  std::string value = Encode(job);
  auto rev = bucket_.Create(job.key(), value);
  if (!rev.ok()) return rev.status();
  Mirror(job, value, *rev, false);
  (void)nats_.Publish(ReadySubject(job.environment), job.function_id);
  return Status::Ok();
}

Result<std::vector<StoredJob>> JobQueue::List(const std::string& env) {
  Result<std::vector<KvEntry>> entries = mirror_ ? Result<std::vector<KvEntry>>(mirror_->Snapshot(env.empty() ? "" : env + "."))
                                                 : bucket_.List(env.empty() ? ">" : env + ".*");
  if (!entries.ok()) return entries.status();
  std::vector<StoredJob> out;
  for (const auto& e : *entries) {
    auto j = Decode(e.value);
    if (j.ok()) out.push_back({std::move(j).value(), e.revision});
  }
  return out;
}

Result<StoredJob> JobQueue::Get(const std::string& env, const std::string& job_id) {
  auto e = bucket_.Get(env + "." + job_id);
  if (!e.ok()) return e.status();
  if (!e->has_value()) return Status::NotFound("job \"" + job_id + "\" not found");
  auto j = Decode((*e)->value);
  if (!j.ok()) return j.status();
  return StoredJob{std::move(j).value(), (*e)->revision};
}

Result<uint64_t> JobQueue::Replace(const JobRecord& job, uint64_t expected) {
  std::string value = Encode(job);
  auto rev = bucket_.Update(job.key(), value, expected);
  if (rev.ok()) Mirror(job, value, *rev, false);
  if (rev.ok() && job.state == "pending") (void)nats_.Publish(ReadySubject(job.environment), job.function_id);
  return rev;
}

Status JobQueue::Remove(const JobRecord& job, uint64_t expected) {
  auto rev = bucket_.DeleteIfRevision(job.key(), expected);
  if (rev.ok()) Mirror(job, "", *rev, true);
  return rev.ok() ? Status::Ok() : rev.status();
}

}  // namespace ironflow
