#include "secrets/secret_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/names.h"
#include "common/time_util.h"

namespace ironflow::server {
namespace {

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

Status NotFoundStatus(const std::string& env, const std::string& name) {
  return Status::NotFound("secret " + Quote(name) + " not found in environment " + Quote(env));
}

Status RevisionMismatch(const std::string& name, uint64_t want, std::optional<uint64_t> have) {
  if (!have)
    return Status::PreconditionFailed("secret " + Quote(name) + " does not exist (If-Match: " + std::to_string(want) +
                                      ")");
  return Status::PreconditionFailed("secret " + Quote(name) + " is at revision " + std::to_string(*have) + ", not " +
                                    std::to_string(want));
}

}  // namespace

SecretMetadata SecretStore::ToMetadata(const std::string& env, const std::string& name, const SecretRecord& r,
                                       uint64_t revision) const {
  SecretMetadata m;
  m.name = name;
  m.environment = env;
  m.description = r.description;
  m.revision = revision;
  m.created_at = r.created_at;
  m.updated_at = r.updated_at;
  m.encrypted = r.value.encrypted();
  m.key_id = r.value.key_id;
  return m;
}

Status SecretStore::ReportIntegrityFailure(const std::string& env, const std::string& name, uint64_t revision,
                                           const std::string& key_id, const std::string& detail) const {
  integrity_failures_.fetch_add(1);
  spdlog::error("integrity failure: secret record environment={} name={} revision={} key_id={}: {}", env, name,
                revision, key_id.empty() ? "-" : key_id, detail);
  return Status::Internal("secret " + Quote(name) + " in environment " + Quote(env) + " (revision " +
                          std::to_string(revision) + ") failed to authenticate");
}

Result<SecretString> SecretStore::OpenStored(const std::string& env, const std::string& name, uint64_t revision,
                                             const SealedValue& value, const SecretRecord* record) const {
  auto plain = sealer_.Open(env, name, value);
  if (plain.ok()) return plain;
  if (!value.encrypted() || !sealer_.HoldsKey(value.key_id))
    return plain.status();  // no key to check it with (dev mode, unknown key id): not a tamper signal
  std::string detail = "the sealed value failed to authenticate";
  if (record != nullptr && (record->environment != env || record->name != name)) {
    // What the record claims is attacker-controlled: logged only when it is a valid name (no log forging).
    auto shown = [](const std::string& s, Status (*valid)(std::string_view)) {
      return valid(s).ok() ? s : std::string("<invalid name>");
    };
    detail += " (the record names environment " + shown(record->environment, &ValidateEnvironmentName) + ", secret " +
              shown(record->name, &ValidateSecretName) + ")";
  }
  return ReportIntegrityFailure(env, name, revision, value.key_id, detail);
}

void SecretStore::RememberHead(const std::string& key, uint64_t revision, const SecretRecord& r) {
  heads_.Put(key, Head{revision, r.created_at, r.description});
  // A write through this process: never serve an older sealed record again; the next resolve reads NATS.
  ForgetSealed(key, revision);
}

// Sealed-cache updates arrive from request threads and from the watch thread, possibly out of order (a lagging
// watch may deliver revision 5 after this process wrote revision 6). An entry only ever moves forward.
void SecretStore::RememberSealed(const std::string& key, uint64_t revision, const SealedValue& value) {
  std::lock_guard<std::mutex> lock(sealed_mu_);
  auto existing = sealed_.Get(key);
  if (existing && existing->revision > revision) return;
  if (!sealer_.encrypting() || !value.encrypted()) {
    sealed_.Put(key, Sealed{revision, {}, false});
    return;
  }
  sealed_.Put(key, Sealed{revision, value, true});
}

void SecretStore::ForgetSealed(const std::string& key, uint64_t revision) {
  std::lock_guard<std::mutex> lock(sealed_mu_);
  auto existing = sealed_.Get(key);
  if (existing && existing->revision > revision) return;
  sealed_.Put(key, Sealed{revision, {}, false});  // remembers that `revision` is gone, so older ones stay out
}

void SecretStore::ObserveStored(const KvEntry& entry, bool deleted) {
  if (deleted || !sealer_.encrypting()) {
    ForgetSealed(entry.key, entry.revision);
    return;
  }
  auto rec = DecodeSecretRecord(entry.value);
  if (!rec.ok()) {
    ForgetSealed(entry.key, entry.revision);
    return;
  }
  RememberSealed(entry.key, entry.revision, rec->value);
}

std::optional<Result<SecretStore::PutOutcome>> SecretStore::EarlierAttempt(const std::string& env,
                                                                           const std::string& name,
                                                                           const Actor& actor) {
  if (!actor.request.retry) return std::nullopt;
  KvBucket::LastWriteInfo own;
  auto landed = bucket_.LastWriteIsTagged(SecretKey(env, name), actor.request.id, &own);
  if (!landed.ok()) return Result<PutOutcome>(landed.status());
  if (!*landed) return std::nullopt;
  if (own.deleted) {
    Status audited = events_.SecretChanged(SecretChange::kDeleted, env, name, own.revision, actor, /*repeat=*/true);
    if (!audited.ok()) return Result<PutOutcome>(audited);
    return Result<PutOutcome>(PutOutcome{});  // revision 0: a delete
  }
  auto rec = DecodeSecretRecord(own.value);
  Cleanse(own.value);
  if (!rec.ok()) return Result<PutOutcome>(rec.status());
  rec->value.plaintext.clear();  // a dev-mode value is not needed below
  // A record written by Create (or a Put of a new secret) carries one timestamp for both.
  const bool created = rec->created_at == rec->updated_at;
  Status audited = events_.SecretChanged(created ? SecretChange::kCreated : SecretChange::kUpdated, env, name,
                                         own.revision, actor, /*repeat=*/true);
  if (!audited.ok()) return Result<PutOutcome>(audited);
  return Result<PutOutcome>(PutOutcome{ToMetadata(env, name, *rec, own.revision), created});
}

std::optional<Result<SecretStore::PutOutcome>> SecretStore::TryPutOnRememberedHead(
    const std::string& env, const std::string& name, const SealedValue& sealed,
    const std::optional<std::string>& description, std::optional<uint64_t> if_match, const Actor& actor) {
  const std::string key = SecretKey(env, name);
  auto head = heads_.Get(key);
  if (!head || (if_match && *if_match != head->revision)) return std::nullopt;
  SecretRecord rec;
  rec.environment = env;
  rec.name = name;
  rec.updated_at = FormatRfc3339(NowUnixMillis());
  rec.updated_by = RecordActor{actor.type, actor.id, actor.name};
  rec.created_at = head->created_at;
  rec.description = description ? *description : head->description;
  rec.value = sealed;
  std::string doc = EncodeSecretRecord(rec);
  auto rev = bucket_.Update(key, doc, head->revision, actor.request.id);
  Cleanse(doc);
  if (!rev.ok()) {
    heads_.Erase(key);
    if (rev.status().is(Code::kConflict)) return std::nullopt;  // stale hint: take the slow path
    return Result<PutOutcome>(rev.status());
  }
  RememberHead(key, *rev, rec);
  if (Status audited = events_.SecretChanged(SecretChange::kUpdated, env, name, *rev, actor); !audited.ok()) {
    return Result<PutOutcome>(audited);
  }
  return Result<PutOutcome>(PutOutcome{ToMetadata(env, name, rec, *rev), false});
}

Result<SecretStore::Current> SecretStore::Load(const std::string& env, const std::string& name) {
  IF_ASSIGN_OR_RETURN(auto got, bucket_.Get(SecretKey(env, name)));
  Current cur;
  if (!got.has_value()) return cur;
  auto rec = DecodeSecretRecord((got)->value);
  if (!rec.ok()) return ReportIntegrityFailure(env, name, (got)->revision, "", "the record cannot be decoded");
  cur.entry = std::move(*got);
  cur.record.emplace(std::move(rec).value());
  heads_.Put(cur.entry->key, Head{cur.entry->revision, cur.record->created_at, cur.record->description});
  RememberSealed(cur.entry->key, cur.entry->revision, cur.record->value);
  return cur;
}

Result<SecretMetadata> SecretStore::Create(const std::string& env, const std::string& name, std::string_view value,
                                           std::optional<std::string> description, const Actor& actor) {
  if (auto earlier = EarlierAttempt(env, name, actor); earlier && (!earlier->ok() || (*earlier)->metadata.revision)) {
    if (!earlier->ok()) return earlier->status();
    return std::move(**earlier).metadata;
  }
  IF_ASSIGN_OR_RETURN(auto sealed, sealer_.Seal(env, name, value));
  SecretRecord rec;
  rec.environment = env;
  rec.name = name;
  rec.description = description.value_or("");
  rec.created_at = rec.updated_at = FormatRfc3339(NowUnixMillis());
  rec.updated_by = RecordActor{actor.type, actor.id, actor.name};
  rec.value = std::move(sealed);
  std::string doc = EncodeSecretRecord(rec);
  auto rev = bucket_.Create(SecretKey(env, name), doc, actor.request.id);
  Cleanse(doc);
  if (!rev.ok()) {
    if (rev.status().is(Code::kConflict)) {
      return Status::AlreadyExists("secret " + Quote(name) + " already exists in environment " + Quote(env) +
                                   "; use PUT to rotate it");
    }
    return rev.status();
  }
  RememberHead(SecretKey(env, name), *rev, rec);
  IF_RETURN_IF_ERROR(events_.SecretChanged(SecretChange::kCreated, env, name, *rev, actor));
  return ToMetadata(env, name, rec, *rev);
}

Result<SecretStore::PutOutcome> SecretStore::Put(const std::string& env, const std::string& name,
                                                 std::string_view value, std::optional<std::string> description,
                                                 std::optional<uint64_t> if_match, const Actor& actor) {
  if (auto earlier = EarlierAttempt(env, name, actor); earlier && (!earlier->ok() || (*earlier)->metadata.revision)) {
    return std::move(*earlier);
  }
  IF_ASSIGN_OR_RETURN(auto sealed, sealer_.Seal(env, name, value));
  const std::string key = SecretKey(env, name);
  if (auto fast = TryPutOnRememberedHead(env, name, sealed, description, if_match, actor)) {
    sealed.plaintext.clear();
    return std::move(*fast);
  }

  for (int attempt = 0; attempt < kCasRetryBudget; ++attempt) {
    IF_ASSIGN_OR_RETURN(auto cur, Load(env, name));
    std::optional<uint64_t> current_rev;
    if (cur.entry) current_rev = cur.entry->revision;
    if (if_match && current_rev != if_match) return RevisionMismatch(name, *if_match, current_rev);

    SecretRecord rec;
    rec.environment = env;
    rec.name = name;
    rec.updated_at = FormatRfc3339(NowUnixMillis());
    rec.updated_by = RecordActor{actor.type, actor.id, actor.name};
    rec.created_at = cur.record ? cur.record->created_at : rec.updated_at;
    rec.description = description ? *description : (cur.record ? cur.record->description : "");
    rec.value = sealed;  // copy: a retry needs it again
    std::string doc = EncodeSecretRecord(rec);
    Result<uint64_t> rev = current_rev ? bucket_.Update(key, doc, *current_rev, actor.request.id)
                                       : bucket_.Create(key, doc, actor.request.id);
    Cleanse(doc);
    if (rev.ok()) {
      const bool created = !current_rev.has_value();
      RememberHead(key, *rev, rec);
      sealed.plaintext.clear();
      IF_RETURN_IF_ERROR(
          events_.SecretChanged(created ? SecretChange::kCreated : SecretChange::kUpdated, env, name, *rev, actor));
      return PutOutcome{ToMetadata(env, name, rec, *rev), created};
    }
    if (!rev.status().is(Code::kConflict)) return rev.status();
    if (if_match) {
      auto now = Load(env, name);
      std::optional<uint64_t> now_rev;
      if (now.ok() && now->entry) now_rev = now->entry->revision;
      return RevisionMismatch(name, *if_match, now_rev);
    }
  }
  return Status::Conflict("secret " + Quote(name) + " is being updated concurrently; try again");
}

Result<SecretMetadata> SecretStore::UpdateDescription(const std::string& env, const std::string& name,
                                                      std::string description, std::optional<uint64_t> if_match,
                                                      const Actor& actor) {
  if (auto earlier = EarlierAttempt(env, name, actor); earlier && (!earlier->ok() || (*earlier)->metadata.revision)) {
    if (!earlier->ok()) return earlier->status();
    return std::move(**earlier).metadata;
  }
  const std::string key = SecretKey(env, name);
  for (int attempt = 0; attempt < kCasRetryBudget; ++attempt) {
    IF_ASSIGN_OR_RETURN(auto cur, Load(env, name));
    if (!cur.entry) {
      if (if_match) return RevisionMismatch(name, *if_match, std::nullopt);
      return NotFoundStatus(env, name);
    }
    if (if_match && cur.entry->revision != *if_match) return RevisionMismatch(name, *if_match, cur.entry->revision);

    SecretRecord& rec = *cur.record;
    rec.description = description;
    rec.updated_at = FormatRfc3339(NowUnixMillis());
    rec.updated_by = RecordActor{actor.type, actor.id, actor.name};
    std::string doc = EncodeSecretRecord(rec);
    auto rev = bucket_.Update(key, doc, cur.entry->revision, actor.request.id);
    Cleanse(doc);
    if (rev.ok()) {
      RememberHead(key, *rev, rec);
      IF_RETURN_IF_ERROR(events_.SecretChanged(SecretChange::kUpdated, env, name, *rev, actor));
      return ToMetadata(env, name, rec, *rev);
    }
    if (!rev.status().is(Code::kConflict)) return rev.status();
    if (if_match) return RevisionMismatch(name, *if_match, std::nullopt);
  }
  return Status::Conflict("secret " + Quote(name) + " is being updated concurrently; try again");
}

Result<SecretMetadata> SecretStore::Get(const std::string& env, const std::string& name) {
  IF_ASSIGN_OR_RETURN(auto cur, Load(env, name));
  if (!cur.entry) return NotFoundStatus(env, name);
  return ToMetadata(env, name, *cur.record, cur.entry->revision);
}

Result<std::vector<SecretMetadata>> SecretStore::List(const std::string& env) {
  IF_ASSIGN_OR_RETURN(auto entries, bucket_.List(env + ".*"));
  std::vector<SecretMetadata> out;
  out.reserve(entries.size());
  for (const auto& e : entries) {
    auto rec = DecodeSecretRecord(e.value);
    const std::string name = e.key.substr(env.size() + 1);
    if (!rec.ok()) {
      (void)ReportIntegrityFailure(env, name, e.revision, "", "the record cannot be decoded; left out of the list");
      continue;
    }
    out.push_back(ToMetadata(env, name, *rec, e.revision));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

Status SecretStore::Delete(const std::string& env, const std::string& name, std::optional<uint64_t> if_match,
                           const Actor& actor) {
  if (auto earlier = EarlierAttempt(env, name, actor); earlier && (!earlier->ok() || !(*earlier)->metadata.revision)) {
    return earlier->status();  // OK: the earlier attempt deleted it
  }
  const std::string key = SecretKey(env, name);
  for (int attempt = 0; attempt < kCasRetryBudget; ++attempt) {
    IF_ASSIGN_OR_RETURN(auto cur, bucket_.Get(key));
    if (!cur.has_value()) {
      if (if_match) return RevisionMismatch(name, *if_match, std::nullopt);
      return NotFoundStatus(env, name);
    }
    uint64_t rev_now = (cur)->revision;
    if (if_match && rev_now != *if_match) return RevisionMismatch(name, *if_match, rev_now);
    auto rev = bucket_.DeleteIfRevision(key, rev_now, actor.request.id);
    heads_.Erase(key);
    ForgetSealed(key, rev.ok() ? *rev : rev_now);
    if (rev.ok()) {
      return events_.SecretChanged(SecretChange::kDeleted, env, name, *rev, actor);
    }
    if (!rev.status().is(Code::kConflict)) return rev.status();
    if (if_match) return RevisionMismatch(name, *if_match, std::nullopt);
  }
  return Status::Conflict("secret " + Quote(name) + " is being updated concurrently; try again");
}

Result<SecretString> SecretStore::Resolve(const std::string& env, const std::string& name) {
  IF_ASSIGN_OR_RETURN(auto r, ResolveWithRevision(env, name));
  return std::move(r.value);
}

Result<SecretStore::Resolved> SecretStore::ResolveWithRevision(const std::string& env, const std::string& name) {
  if (auto hit = sealed_.Get(SecretKey(env, name)); hit && hit->live) {
    IF_ASSIGN_OR_RETURN(auto value, OpenStored(env, name, hit->revision, hit->value, nullptr));
    return Resolved{std::move(value), hit->revision};
  }
  IF_ASSIGN_OR_RETURN(auto cur, Load(env, name));
  if (!cur.entry) return NotFoundStatus(env, name);
  IF_ASSIGN_OR_RETURN(auto value, OpenStored(env, name, cur.entry->revision, cur.record->value, &*cur.record));
  return Resolved{std::move(value), cur.entry->revision};
}

Result<SecretString> SecretStore::ResolveRevision(const std::string& env, const std::string& name, uint64_t revision) {
  // Usually the revision asked for is still the current one: the watch-fed cache has it, no round trip.
  if (auto hit = sealed_.Get(SecretKey(env, name)); hit && hit->live && hit->revision == revision) {
    return OpenStored(env, name, revision, hit->value, nullptr);
  }
  IF_ASSIGN_OR_RETURN(auto e, bucket_.GetRevision(SecretKey(env, name), revision));
  if (!e.has_value()) return NotFoundStatus(env, name);
  auto rec = DecodeSecretRecord((e)->value);
  if (!rec.ok()) return ReportIntegrityFailure(env, name, revision, "", "the record cannot be decoded");
  return OpenStored(env, name, revision, rec->value, &*rec);
}

Result<std::vector<SecretStore::Version>> SecretStore::Versions(const std::string& env, const std::string& name) {
  IF_ASSIGN_OR_RETURN(auto history, bucket_.History(SecretKey(env, name)));
  if (history.empty()) return NotFoundStatus(env, name);
  std::vector<Version> out;
  for (auto it = history.rbegin(); it != history.rend(); ++it) {
    Version v;
    v.revision = it->entry.revision;
    v.created_at = FormatRfc3339FromNanos(it->entry.created_ns);
    v.deleted = it->deleted;
    if (!it->deleted) {
      auto rec = DecodeSecretRecord(it->entry.value);
      Cleanse(it->entry.value);
      if (!rec.ok()) {
        (void)ReportIntegrityFailure(env, name, v.revision, "", "the record cannot be decoded");
        v.state = "unreadable";
        out.push_back(std::move(v));
        continue;
      }
      v.description = rec->description;
      v.encrypted = rec->value.encrypted();
      v.key_id = rec->value.key_id;
      v.actor = rec->updated_by;
      // Each kept revision is opened (and the plaintext wiped at once) so a tampered one shows as such here.
      auto opened = OpenStored(env, name, v.revision, rec->value, &*rec);
      const bool key_held = !rec->value.encrypted() || sealer_.HoldsKey(rec->value.key_id);
      v.state = opened.ok() ? "ok" : key_held ? "unreadable" : "key_unavailable";
    }
    out.push_back(std::move(v));
  }
  return out;
}

Result<SecretStore::PutOutcome> SecretStore::Rollback(const std::string& env, const std::string& name,
                                                      uint64_t revision, std::optional<uint64_t> if_match,
                                                      const Actor& actor) {
  IF_ASSIGN_OR_RETURN(auto e, bucket_.GetRevision(SecretKey(env, name), revision));
  if (!e.has_value()) {
    return Status::NotFound("revision " + std::to_string(revision) + " of secret \"" + name +
                            "\" is not in the history (deleted, never existed, or beyond the kept history)");
  }
  auto rec = DecodeSecretRecord((e)->value);
  Cleanse((e)->value);
  if (!rec.ok()) return ReportIntegrityFailure(env, name, revision, "", "the record cannot be decoded");
  IF_ASSIGN_OR_RETURN(auto value, OpenStored(env, name, revision, rec->value, &*rec));
  return Put(env, name, value.view(), rec->description, if_match, actor);
}

Result<SecretStore::RekeyReport> SecretStore::Rekey(const std::optional<std::string>& env, const Actor& actor) {
  if (!sealer_.encrypting())
    return Status::PreconditionFailed("rekey needs IRONFLOW_MASTER_KEY (dev mode stores plaintext)");
  IF_ASSIGN_OR_RETURN(auto entries, bucket_.List(env ? *env + ".*" : ">"));
  // A listing taken while users write may show a key twice (its old and new revision): keep the newest.
  std::map<std::string, KvEntry> latest;
  for (auto& e : entries) {
    auto [it, inserted] = latest.try_emplace(e.key, e);
    if (!inserted && e.revision > it->second.revision) it->second = e;
    Cleanse(e.value);
  }
  RekeyReport report;
  const std::string current = sealer_.key_id();
  for (auto& [key, listed] : latest) {
    std::optional<KvEntry> entry = std::move(listed);
    bool done = false;
    for (int attempt = 0; attempt < 5 && entry && !done; ++attempt) {  // rekey: a changed secret is re-read
      auto rec = DecodeSecretRecord(entry->value);
      Cleanse(entry->value);
      if (!rec.ok()) break;
      if (!rec->value.encrypted() || rec->value.key_id == current) {
        ++report.already_current;  // plaintext entries are sealed at start-up (EncryptPlaintextEntries)
        done = true;
        break;
      }
      // The key's own place, never the one the record claims: a record copied to another key must fail to open
      // here, not be re-sealed into its new place.
      std::string key_env, key_name;
      if (!SplitSecretKey(entry->key, &key_env, &key_name)) break;
      auto plain = OpenStored(key_env, key_name, entry->revision, rec->value, &*rec);
      if (!plain.ok()) break;
      auto sealed = sealer_.Seal(key_env, key_name, plain->view());
      if (!sealed.ok()) break;
      rec->value = std::move(sealed).value();
      rec->updated_by = RecordActor{actor.type, actor.id, actor.name};
      std::string doc = EncodeSecretRecord(*rec);
      auto rev = bucket_.Update(entry->key, doc, entry->revision);
      Cleanse(doc);
      if (rev.ok()) {
        heads_.Erase(entry->key);
        ForgetSealed(entry->key, *rev);
        ++report.rekeyed;
        done = true;
        break;
      }
      if (!rev.status().is(Code::kConflict)) break;
      // A user wrote meanwhile: look again at what is there now.
      auto fresh = bucket_.Get(entry->key);
      if (!fresh.ok()) break;
      entry = std::move(*fresh);
      if (!entry) done = true;  // deleted meanwhile: nothing to re-encrypt
    }
    if (!done && entry) report.failed.push_back(entry->key);
    if ((report.rekeyed + report.already_current) % 500 == 0 && report.rekeyed > 0) {
      spdlog::info("rekey: {} re-encrypted, {} already current so far", report.rekeyed, report.already_current);
    }
  }
  IF_RETURN_IF_ERROR(events_.RekeyCompleted(env.value_or("*"), sealer_.key_id(), report.rekeyed, report.already_current,
                                            static_cast<int>(report.failed.size()), actor));
  return report;
}

Result<std::map<std::string, size_t>> SecretStore::CountByKeyId() {
  IF_ASSIGN_OR_RETURN(auto entries, bucket_.List(">"));
  std::map<std::string, std::pair<uint64_t, std::string>> newest;  // key -> (revision, key id); a key may repeat
  for (auto& e : entries) {
    auto rec = DecodeSecretRecord(e.value);
    Cleanse(e.value);
    if (!rec.ok()) continue;
    auto& slot = newest[e.key];
    if (e.revision >= slot.first) slot = {e.revision, rec->value.encrypted() ? rec->value.key_id : std::string()};
  }
  std::map<std::string, size_t> out;
  for (const auto& [key, v] : newest) ++out[v.second];
  return out;
}

Result<int> SecretStore::EncryptPlaintextEntries() {
  if (!sealer_.encrypting()) return 0;
  IF_ASSIGN_OR_RETURN(auto entries, bucket_.List(">"));
  int count = 0;
  for (const auto& e : entries) {
    auto rec = DecodeSecretRecord(e.value);
    if (!rec.ok() || rec->value.encrypted()) continue;
    std::string key_env, key_name;
    if (!SplitSecretKey(e.key, &key_env, &key_name)) continue;
    IF_ASSIGN_OR_RETURN(auto sealed, sealer_.Seal(key_env, key_name, rec->value.plaintext.view()));
    rec->value = std::move(sealed);  // wipes the plaintext it replaces
    auto rev = bucket_.Update(e.key, EncodeSecretRecord(*rec), e.revision);
    if (rev.ok()) {
      ++count;
      // The dev-mode revisions still hold the plaintext in the key's history; keep only the sealed one.
      Status dropped = bucket_.DropOldRevisions(e.key);
      if (!dropped.ok()) spdlog::warn("could not drop plaintext history of {}: {}", e.key, dropped.message());
    } else if (!rev.status().is(Code::kConflict)) {
      return rev.status();
    }  // kConflict: a concurrent write replaced it, and writes are sealed now.
  }
  return count;
}

}  // namespace ironflow::server
