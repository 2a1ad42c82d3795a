#include "runtime/run_store.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "common/bounded_json.h"
#include "common/time_util.h"
#include "runtime/ids.h"

namespace ironflow::server {

using nlohmann::json;

namespace {

// Thrown while decoding a record whose state names are unknown (caught by DecodeRun).
struct UnknownStateName {};

template <typename Enum>
Enum Required(std::optional<Enum> parsed) {
  if (!parsed) throw UnknownStateName{};
  return *parsed;
}

json ParseOrNull(const std::string& text) {
  json j = ParseBoundedJson(text);
  return j.is_discarded() ? json(nullptr) : j;
}

json EncodeDelivery(const Delivery& d) {
  json resolved = json::object();
  for (const auto& [k, v] : d.resolved) resolved[k] = v;
  return json{{"job_id", d.job_id},
              {"mode", DeliveryModeName(d.mode)},
              {"attempt", d.attempt},
              {"state", DeliveryStateName(d.state)},
              {"not_before_ms", d.not_before_ms},
              {"lease_token", d.lease_token},
              {"worker_id", d.worker_id},
              {"leased_at_ms", d.leased_at_ms},
              {"lease_expires_ms", d.lease_expires_ms},
              {"resolved", resolved},
              {"queue", d.queue},
              {"job_seq", d.job_seq}};
}

Delivery DecodeDelivery(const json& d) {
  Delivery out;
  out.job_id = d.at("job_id");
  out.mode = Required(ParseDeliveryMode(d.at("mode").get<std::string>()));
  out.attempt = d.at("attempt");
  out.state = Required(ParseDeliveryState(d.at("state").get<std::string>()));
  out.not_before_ms = d.at("not_before_ms");
  out.lease_token = d.at("lease_token");
  out.worker_id = d.at("worker_id");
  out.leased_at_ms = d.at("leased_at_ms");
  out.lease_expires_ms = d.at("lease_expires_ms");
  for (const auto& [k, v] : d.at("resolved").items()) out.resolved[k] = v.get<uint64_t>();
  out.queue = d.value("queue", "");
  out.job_seq = d.value("job_seq", uint64_t{0});
  return out;
}

json RunDocument(const RunRecord& r) {
  json steps = json::array();
  for (const auto& s : r.steps)
    steps.push_back({{"id", s.id}, {"status", "completed"}, {"output", ParseOrNull(s.output_json)}});
  return json{{"id", r.id},
              {"function_id", r.function_id},
              {"environment", r.environment},
              {"event_id", r.event_id},
              {"event",
               {{"id", r.event_id},
                {"name", r.event_name},
                {"data", ParseOrNull(r.event_data_json)},
                {"timestamp", r.event_timestamp}}},
              {"status", RunStatusName(r.status)},
              {"attempt", r.attempt},
              {"output", ParseOrNull(r.output_json)},
              {"error", r.error.empty() ? json(nullptr) : json(r.error)},
              {"steps", steps},
              {"created_at", r.created_at},
              {"updated_at", r.updated_at}};
}

}  // namespace

std::string EncodeRun(const RunRecord& r) {
  json doc = RunDocument(r);
  if (r.delivery.state != DeliveryState::kNone) doc["delivery"] = EncodeDelivery(r.delivery);
  if (!r.ended_by.empty()) doc["ended_by"] = r.ended_by;
  return doc.dump();
}

std::string PublicRunJson(const RunRecord& r) { return RunDocument(r).dump(); }

Result<RunRecord> DecodeRun(std::string_view text) {
  json doc = ParseBoundedJson(text);
  if (!doc.is_object()) return Status::Internal("stored run record is malformed");
  try {
    RunRecord r;
    r.id = doc.at("id");
    r.function_id = doc.at("function_id");
    r.environment = doc.at("environment");
    r.event_id = doc.at("event_id");
    const json& ev = doc.at("event");
    r.event_name = ev.at("name");
    r.event_data_json = ev.at("data").dump();
    r.event_timestamp = ev.at("timestamp");
    r.status = Required(ParseRunStatus(doc.at("status").get<std::string>()));
    r.attempt = doc.at("attempt");
    r.output_json = doc.at("output").dump();
    r.error = doc.at("error").is_string() ? doc.at("error").get<std::string>() : "";
    for (const auto& s : doc.at("steps")) r.steps.push_back({s.at("id"), s.at("output").dump()});
    r.created_at = doc.at("created_at");
    r.updated_at = doc.at("updated_at");
    if (doc.contains("delivery")) r.delivery = DecodeDelivery(doc.at("delivery"));
    r.ended_by = doc.value("ended_by", "");
    return r;
  } catch (const json::exception&) {
    return Status::Internal("stored run record is malformed");
  } catch (const UnknownStateName&) {
    return Status::Internal("stored run record is malformed");
  }
}

Result<std::unique_ptr<KvMirror>> RunStore::StartUnfinishedMirror(KvBucket& bucket) {
  return KvMirror::Start(bucket, [](const KvEntry& e) {
    auto run = DecodeRun(e.value);
    return run.ok() && run->delivery.state != DeliveryState::kNone;
  });
}

void RunStore::Mirror(const RunRecord& run, const std::string& value, uint64_t revision) {
  if (!unfinished_) return;
  const bool live = run.delivery.state != DeliveryState::kNone;
  std::string key = run.key();
  unfinished_->ApplyKnown(KvEntry{key, value, revision, 0}, live);
  // The decoded form is at hand: FindUnfinished need not decode this revision again.
  std::lock_guard<std::mutex> lock(decoded_mu_);
  if (decoded_.RevisionOf(key) >= revision) return;
  if (!live) {
    decoded_.Erase(key);
    return;
  }
  decoded_.Put(std::move(key), revision, std::make_shared<const RunRecord>(run));
}

Result<StoredRun> RunStore::Create(const RunRecord& run) {
  std::string value = EncodeRun(run);
  IF_ASSIGN_OR_RETURN(auto rev, bucket_.Create(run.key(), value));
  Mirror(run, value, rev);
  return StoredRun{run, rev};
}

Result<RunRecord> RunStore::Get(const std::string& env, const std::string& run_id) {
  IF_ASSIGN_OR_RETURN(auto e, bucket_.Get(env + "." + run_id));
  if (!e.has_value()) return Status::NotFound("run \"" + run_id + "\" not found in environment \"" + env + "\"");
  return DecodeRun((e)->value);
}

Result<StoredRun> RunStore::Mutate(const std::string& env, const std::string& run_id,
                                   const std::function<Status(RunRecord&)>& change, const Queued* hint) {
  const std::string key = env + "." + run_id;
  for (int attempt = 0; attempt < kCasRetryBudget; ++attempt) {
    RunRecord run;
    uint64_t revision = 0;
    if (attempt == 0 && hint && hint->run && hint->run->key() == key) {
      run = *hint->run;
      revision = hint->revision;
    } else {
      IF_ASSIGN_OR_RETURN(auto e, bucket_.Get(key));
      if (!e.has_value()) return Status::NotFound("run \"" + run_id + "\" not found");
      IF_ASSIGN_OR_RETURN(auto decoded, DecodeRun((e)->value));
      run = std::move(decoded);
      revision = (e)->revision;
    }
    IF_RETURN_IF_ERROR(change(run));
    run.updated_at = FormatRfc3339(NowUnixMillis());
    std::string value = EncodeRun(run);
    auto rev = bucket_.Update(key, value, revision);
    if (rev.ok()) {
      Mirror(run, value, *rev);
      return StoredRun{std::move(run), *rev};
    }
    if (!rev.status().is(Code::kConflict)) return rev.status();
  }
  return Status::Conflict("run \"" + run_id + "\" is being updated concurrently");
}

std::vector<Result<StoredRun>> RunStore::UpdateMany(std::vector<StoredRun> planned) {
  std::vector<StreamPublish> messages;
  const std::string now = FormatRfc3339(NowUnixMillis());
  for (auto& p : planned) {
    p.run.updated_at = now;
    messages.push_back(bucket_.UpdateMessage(p.run.key(), EncodeRun(p.run), p.revision));
  }
  auto answers = bucket_.connection().PublishEachOnce(messages);
  std::vector<Result<StoredRun>> out;
  for (size_t i = 0; i < planned.size(); ++i) {
    if (!answers[i].ok()) {
      out.emplace_back(answers[i].status());
      continue;
    }
    Mirror(planned[i].run, messages[i].data, *answers[i]);
    out.emplace_back(StoredRun{std::move(planned[i].run), *answers[i]});
  }
  return out;
}

std::optional<RunStore::Queued> RunStore::DecodeLocked(const KvEntry& entry) {
  if (const auto* known = decoded_.Find(entry.key, entry.revision)) return Queued{*known, entry.revision};
  auto run = DecodeRun(entry.value);
  if (!run.ok()) return std::nullopt;
  Queued q{std::make_shared<const RunRecord>(std::move(run).value()), entry.revision};
  decoded_.Put(entry.key, entry.revision, q.run);
  return q;
}

std::vector<RunStore::Queued> RunStore::Unfinished(const std::string& env) {
  std::vector<Queued> out;
  if (!unfinished_) return out;
  {
    std::lock_guard<std::mutex> lock(decoded_mu_);
    // Only entries whose revision changed since the last call are decoded; nothing is copied but pointers.
    unfinished_->ForEach(env.empty() ? "" : env + ".", [&](const KvEntry& e) {
      if (auto q = DecodeLocked(e)) out.push_back(std::move(*q));
    });
    // Forget decoded runs that left the mirror (finished); a full listing sees them all.
    if (env.empty() && decoded_.size() > out.size()) {
      std::set<std::string> live;
      for (const auto& q : out) live.insert(q.run->key());
      decoded_.Retain("", live);
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const Queued& a, const Queued& b) {
    return a.run->delivery.not_before_ms < b.run->delivery.not_before_ms;
  });
  return out;
}

void RunStore::ForEachUnfinished(const std::function<void(const RunRecord&)>& visit) {
  if (!unfinished_) return;
  std::lock_guard<std::mutex> lock(decoded_mu_);
  // The mirror is walked in key order, so the decoded runs are too, and those that left it (finished) are dropped.
  RevisionCache<std::shared_ptr<const RunRecord>>::Walk decoded(decoded_);
  unfinished_->ForEach("", [&](const KvEntry& e) {
    if (const auto* known = decoded.Find(e.key, e.revision)) {
      visit(**known);
    } else if (auto q = DecodeLocked(e)) {
      visit(*q->run);
    }
  });
}

std::optional<RunStore::Queued> RunStore::FindUnfinished(const std::string& env, const std::string& run_id) {
  if (!unfinished_) return std::nullopt;
  auto e = unfinished_->Get(env + "." + run_id);
  if (!e) return std::nullopt;
  std::lock_guard<std::mutex> lock(decoded_mu_);
  return DecodeLocked(*e);
}

Result<std::vector<RunRecord>> RunStore::List(const std::string& env, const std::string& function_id,
                                              std::optional<RunStatus> status, size_t limit) {
  IF_ASSIGN_OR_RETURN(auto entries, bucket_.List(env + ".*"));
  std::vector<RunRecord> out;
  for (const auto& e : entries) {
    auto r = DecodeRun(e.value);
    if (!r.ok()) continue;
    if (!function_id.empty() && r->function_id != function_id) continue;
    if (status && r->status != *status) continue;
    out.push_back(std::move(r).value());
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.created_at != b.created_at ? a.created_at > b.created_at : a.id > b.id;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

}  // namespace ironflow::server
