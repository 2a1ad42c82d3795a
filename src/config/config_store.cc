#include "config/config_store.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/bounded_json.h"
#include "common/json_nesting.h"
#include "common/time_util.h"

namespace ironflow::server {
namespace {

using nlohmann::json;

std::string Key(const std::string& env, const std::string& name) { return env + "." + name; }

ConfigDocument FromEntry(const std::string& name, const KvEntry& e) {
  return ConfigDocument{name, e.value, e.revision, FormatRfc3339FromNanos(e.created_ns)};
}

Result<json> ParseObject(const std::string& text, const char* what) {
  IF_RETURN_IF_ERROR(CheckJsonNesting(text, what));
  json doc = ParseBoundedJson(text);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::InvalidArgument(std::string(what) + " must be a JSON object");
  }
  return doc;
}

Status CheckSize(const std::string& text) {
  if (text.size() > kMaxConfigBytes) {
    return Status::PayloadTooLarge("config document exceeds " + std::to_string(kMaxConfigBytes) + " bytes serialized");
  }
  return Status::Ok();
}

Status RevisionMismatch(const std::string& name, uint64_t wanted) {
  return Status::PreconditionFailed("config \"" + name + "\" is not at revision " + std::to_string(wanted));
}

}  // namespace

Result<std::vector<ConfigDocument>> ConfigStore::List(const std::string& env) {
  IF_ASSIGN_OR_RETURN(auto entries, bucket_.List(env + ".*"));
  std::vector<ConfigDocument> out;
  for (const auto& e : entries) out.push_back(FromEntry(e.key.substr(env.size() + 1), e));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

Result<std::vector<std::string>> ConfigStore::Names(const std::string& env) {
  IF_ASSIGN_OR_RETURN(auto keys, bucket_.Keys(env + ".*"));
  std::vector<std::string> out;
  for (const auto& k : keys) out.push_back(k.substr(env.size() + 1));
  return out;
}

Result<ConfigDocument> ConfigStore::Get(const std::string& env, const std::string& name) {
  IF_ASSIGN_OR_RETURN(auto e, bucket_.Get(Key(env, name)));
  if (!e.has_value()) {
    return Status::NotFound("config \"" + name + "\" does not exist in environment \"" + env + "\"");
  }
  return FromEntry(name, *e);
}

// A delete marker has a revision too: "If-Match: <marker's revision>" must not match a deleted document.
Status ConfigStore::RequireLive(const std::string& key, const std::string& name, uint64_t revision) {
  Status s = bucket_.RequireLiveRevision(key, revision);
  return s.is(Code::kConflict) ? RevisionMismatch(name, revision) : s;
}

Result<ConfigDocument> ConfigStore::Written(const std::string& env, const std::string& name, std::string data,
                                            Result<uint64_t> revision, const Actor& actor) {
  if (!revision.ok()) return revision.status();
  IF_RETURN_IF_ERROR(events_.ConfigChanged(ConfigChange::kUpdated, env, name, *revision, actor));
  return ConfigDocument{name, std::move(data), *revision, FormatRfc3339(NowUnixMillis())};
}

std::optional<Result<ConfigDocument>> ConfigStore::EarlierAttempt(const std::string& env, const std::string& name,
                                                                  const Actor& actor, bool* deleted) {
  *deleted = false;
  if (!actor.request.retry) return std::nullopt;
  KvBucket::LastWriteInfo own;
  auto landed = bucket_.LastWriteIsTagged(Key(env, name), actor.request.id, &own);
  if (!landed.ok()) return Result<ConfigDocument>(landed.status());
  if (!*landed) return std::nullopt;
  *deleted = own.deleted;
  Status audited = events_.ConfigChanged(own.deleted ? ConfigChange::kDeleted : ConfigChange::kUpdated, env, name,
                                         own.revision, actor, /*repeat=*/true);
  if (!audited.ok()) return Result<ConfigDocument>(audited);
  return Result<ConfigDocument>(
      ConfigDocument{name, std::move(own.value), own.revision, FormatRfc3339(NowUnixMillis())});
}

Result<ConfigDocument> ConfigStore::Put(const std::string& env, const std::string& name, const std::string& data,
                                        const WritePrecondition& pre, const Actor& actor) {
  bool deleted = false;
  if (auto earlier = EarlierAttempt(env, name, actor, &deleted); earlier && !deleted) return std::move(*earlier);
  IF_ASSIGN_OR_RETURN(auto doc, ParseObject(data, "field \"data\""));
  std::string text = doc.dump();
  IF_RETURN_IF_ERROR(CheckSize(text));
  const std::string key = Key(env, name);
  Result<uint64_t> rev = uint64_t{0};
  if (pre.create_only) {
    rev = bucket_.Create(key, text, actor.request.id);
    if (rev.status().is(Code::kConflict)) {
      return Status::PreconditionFailed("config \"" + name + "\" already exists (If-None-Match: *)");
    }
  } else if (pre.if_revision) {
    IF_RETURN_IF_ERROR(RequireLive(key, name, *pre.if_revision));
    rev = bucket_.Update(key, text, *pre.if_revision, actor.request.id);
    if (rev.status().is(Code::kConflict)) return RevisionMismatch(name, *pre.if_revision);
  } else {
    rev = bucket_.Put(key, text, actor.request.id);
  }
  return Written(env, name, std::move(text), std::move(rev), actor);
}

Result<ConfigDocument> ConfigStore::Patch(const std::string& env, const std::string& name, const std::string& patch,
                                          std::optional<uint64_t> if_revision, const Actor& actor) {
  IF_ASSIGN_OR_RETURN(auto fields, ParseObject(patch, "field \"data\""));
  bool deleted = false;
  if (auto earlier = EarlierAttempt(env, name, actor, &deleted); earlier && !deleted) return std::move(*earlier);
  const std::string key = Key(env, name);
  // Optimistic concurrency: read, merge, write conditionally on the revision read; on a conflict someone else
  // wrote in between, so merge again on top of their document. Bounded so a pathological writer cannot pin us.
  for (int attempt = 0; attempt < kCasRetryBudget; ++attempt) {
    IF_ASSIGN_OR_RETURN(auto current, bucket_.Get(key));
    json merged = json::object();
    if (current.has_value()) {
      if (if_revision && (current)->revision != *if_revision) return RevisionMismatch(name, *if_revision);
      if (JsonNestingDepth((current)->value) > kMaxJsonNesting) {
        return Status::Conflict("stored config \"" + name + "\" nests deeper than " + std::to_string(kMaxJsonNesting) +
                                " levels (written before that limit); replace it with PUT instead of patching it");
      }
      auto stored = ParseObject((current)->value, "stored config");
      if (!stored.ok()) return Status::Internal("stored config \"" + name + "\" is not a JSON object");
      merged = std::move(stored).value();
    } else if (if_revision) {
      return RevisionMismatch(name, *if_revision);
    }
    for (auto it = fields.begin(); it != fields.end(); ++it) {
      if (it.value().is_null()) {
        merged.erase(it.key());
      } else {
        merged[it.key()] = it.value();
      }
    }
    std::string text = merged.dump();
    IF_RETURN_IF_ERROR(CheckSize(text));
    Result<uint64_t> rev = current.has_value() ? bucket_.Update(key, text, (current)->revision, actor.request.id)
                                               : bucket_.Create(key, text, actor.request.id);
    if (rev.status().is(Code::kConflict)) {
      if (if_revision) return RevisionMismatch(name, *if_revision);
      continue;
    }
    return Written(env, name, std::move(text), std::move(rev), actor);
  }
  return Status::Unavailable("config \"" + name + "\" kept changing during the patch; try again");
}

Status ConfigStore::Delete(const std::string& env, const std::string& name, std::optional<uint64_t> if_revision,
                           const Actor& actor) {
  bool deleted = false;
  if (auto earlier = EarlierAttempt(env, name, actor, &deleted); earlier && (!earlier->ok() || deleted)) {
    return earlier->status();
  }
  const std::string key = Key(env, name);
  uint64_t marker = 0;
  if (if_revision) {
    IF_RETURN_IF_ERROR(RequireLive(key, name, *if_revision));
    auto rev = bucket_.DeleteIfRevision(key, *if_revision, actor.request.id);
    if (rev.status().is(Code::kConflict)) return RevisionMismatch(name, *if_revision);
    if (!rev.ok()) return rev.status();
    marker = *rev;
  } else {
    IF_ASSIGN_OR_RETURN(auto rev, bucket_.DeleteLatest(key, actor.request.id));
    if (!rev.has_value()) return Status::Ok();  // already absent: nothing changed, no event
    marker = *rev;
  }
  return events_.ConfigChanged(ConfigChange::kDeleted, env, name, marker, actor);
}

Result<std::unique_ptr<KvWatch>> ConfigStore::Watch(const std::string& env, const std::string& name,
                                                    std::function<void(const Change&)> on_change) {
  auto replaying = std::make_shared<bool>(true);  // touched only on the watch thread
  KvWatch::Options options;
  options.filter = env + "." + name;
  options.on_caught_up = [replaying] { *replaying = false; };
  return KvWatch::Start(
      bucket_,
      [name, replaying, on_change = std::move(on_change)](const KvEntry& e, bool deleted) {
        if (deleted && *replaying) return;  // absent now: nothing to send first
        Change c;
        c.document.name = name;
        c.document.revision = e.revision;
        c.document.updated_at = FormatRfc3339FromNanos(e.created_ns);
        if (!deleted) c.document.data = e.value;
        c.deleted = deleted;
        c.replay = *replaying;
        on_change(c);
      },
      options);
}

}  // namespace ironflow::server
