#include "backup/backup.h"

#include <cctype>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "auth/api_key_store.h"
#include "backup/backup_file.h"
#include "common/hex.h"
#include "common/time_util.h"
#include "config/config_store.h"
#include "crypto/digest.h"
#include "layout/store_layout.h"
#include "runtime/function_registry.h"
#include "runtime/run_store.h"
#include "runtime/worker_registry.h"
#include "secrets/environment_store.h"
#include "secrets/key_check.h"
#include "secrets/secret_store.h"
#include "store/kv_admin.h"
#include "store/kv_bucket.h"
#include "store/stream_admin.h"
#include "store/stream_reader.h"
#include "store/system_stream.h"

namespace ironflow::server {
namespace {

using nlohmann::json;

constexpr const char* kFormat = "ironflow-backup";
constexpr int kFormatVersion = 1;
constexpr uint64_t kProgressEvery = 10000;
constexpr size_t kRestoreBatch = 256;

// The buckets a backup holds, in restore order (the key check first): the layout's, less those a restore does
// not need; runs only when asked for. User buckets (app_*) follow, then the audit stream when asked for.
std::vector<std::string> StoreBuckets(bool include_runs) {
  std::vector<std::string> out;
  const StoreLayout layout;
  for (const StoreBucketSpec& b : layout.buckets) {
    if (b.backup == InBackup::kAlways || (include_runs && b.backup == InBackup::kWithRuns)) out.push_back(b.name);
  }
  return out;
}

bool IsRestorableBucket(const std::string& name) {
  const StoreLayout layout;  // Find points into it
  if (const StoreBucketSpec* b = layout.Find(name)) return b->backup != InBackup::kNever;
  if (name.rfind(kUserBucketPrefix, 0) != 0 || name.size() > 128) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

void Progress(const ProgressFn& fn, const std::string& line) {
  if (fn) fn(line);
}

// A value as JSON text when it is UTF-8 (every record Ironflow writes), else base64.
void PutValue(json& line, const std::string& value) {
  try {
    (void)json(value).dump();
    line["value"] = value;
  } catch (const json::type_error&) {
    line["value_b64"] = Base64Encode(value);
  }
}

class BackupRun {
 public:
  BackupRun(NatsConnection& nc, BackupWriter& out, const BackupOptions& o) : nc_(nc), out_(out), o_(o) {}

  Status Bucket(const std::string& name) {
    auto info = GetKvBucketInfo(nc_, name);
    if (info.status().is(Code::kNotFound)) return Status::Ok();  // never created (nothing of that kind stored)
    if (!info.ok()) return info.status();
    json section = {{"kv", name},
                    {"description", info->description},
                    {"history", info->history},
                    {"ttl_ms", info->ttl_ms},
                    {"max_value_size", info->max_value_size},
                    {"replicas", info->replicas}};
    IF_RETURN_IF_ERROR(out_.Write(section.dump()));
    const std::string prefix = "$KV." + name + ".";
    return Scan("KV_" + name, prefix + ">", name, [&](const StreamMessage& m) {
      json line = {{"key", m.subject.substr(prefix.size())}, {"op", m.kv_operation.empty() ? "PUT" : m.kv_operation}};
      if (m.kv_operation.empty()) PutValue(line, m.data);
      return line;
    });
  }

  Status Audit() {
    auto state = GetStreamState(nc_, std::string(SystemStream::kName));
    if (state.status().is(Code::kNotFound)) return Status::Ok();
    if (!state.ok()) return state.status();
    json section = {{"stream", SystemStream::kName}, {"replicas", state->replicas}};
    IF_RETURN_IF_ERROR(out_.Write(section.dump()));
    return Scan(std::string(SystemStream::kName), "system.>", "audit", [](const StreamMessage& m) {
      json line = {{"subject", m.subject}, {"time_ns", m.time_ns}};
      PutValue(line, m.data);
      return line;
    });
  }

  BackupSummary summary() const { return summary_; }

 private:
  Status Scan(const std::string& stream, const std::string& filter, const std::string& label,
              const std::function<json(const StreamMessage&)>& to_line) {
    uint64_t count = 0;
    Status written;
    Status scanned = ScanStream(nc_, stream, filter, [&](const StreamMessage& m) {
      written = out_.Write(to_line(m).dump());
      if (!written.ok()) return false;
      if (++count % kProgressEvery == 0) Progress(o_.progress, label + ": " + std::to_string(count) + " messages...");
      return true;
    });
    IF_RETURN_IF_ERROR(written);
    IF_RETURN_IF_ERROR(scanned);
    ++summary_.sections;
    summary_.messages += count;
    Progress(o_.progress, label + ": " + std::to_string(count) + " messages");
    return Status::Ok();
  }

  NatsConnection& nc_;
  BackupWriter& out_;
  const BackupOptions& o_;
  BackupSummary summary_;
};

// ---- restore ----

struct Message {
  std::string op;     // PUT, DEL, PURGE (KV); PUT (stream)
  std::string where;  // KV key or stream subject
  std::string value;
};

struct Section {
  bool is_stream = false;
  KvBucketConfig config;  // name and settings (a stream uses name and replicas)
  std::vector<Message> messages;
};

Status Damaged(size_t line, const std::string& what) {
  return Status::InvalidArgument("backup line " + std::to_string(line + 2) + ": " + what);
}

Result<std::string> ValueOf(const json& line, size_t n) {
  if (line.contains("value") && line["value"].is_string()) return line["value"].get<std::string>();
  if (line.contains("value_b64") && line["value_b64"].is_string()) {
    auto bytes = Base64Decode(line["value_b64"].get<std::string>());
    if (!bytes) return Damaged(n, "value_b64 is not base64");
    return std::string(bytes->begin(), bytes->end());
  }
  return Damaged(n, "a message without a value");
}

bool PlainKey(const std::string& k) {
  if (k.empty() || k.front() == '.' || k.back() == '.') return false;
  for (char c : k) {
    if (c == ' ' || c == '*' || c == '>' || c == '\t' || static_cast<unsigned char>(c) < 0x20) return false;
  }
  return true;
}

// Parses every body line into sections; nothing is written until all of them parse.
Result<std::vector<Section>> PlanLines(const std::vector<std::string_view>& body);

Result<std::vector<Section>> Plan(const std::vector<std::string_view>& body) {
  try {
    return PlanLines(body);
  } catch (const json::exception& e) {
    // A line with a field of the wrong type (only a hand-made file that still carries a valid MAC gets here).
    return Status::InvalidArgument(std::string("backup damaged: a field has the wrong type (") + e.what() + ")");
  }
}

Result<std::vector<Section>> PlanLines(const std::vector<std::string_view>& body) {
  std::vector<Section> sections;
  std::set<std::string> seen;
  for (size_t n = 0; n < body.size(); ++n) {
    json line = json::parse(body[n], nullptr, false);
    if (line.is_discarded() || !line.is_object()) return Damaged(n, "not a JSON object");
    if (line.contains("kv") || line.contains("stream")) {
      Section s;
      s.is_stream = line.contains("stream");
      const json& name = s.is_stream ? line["stream"] : line["kv"];
      if (!name.is_string()) return Damaged(n, "a section without a name");
      s.config.name = name.get<std::string>();
      if (s.is_stream ? s.config.name != SystemStream::kName : !IsRestorableBucket(s.config.name)) {
        return Damaged(n, "unknown section " + s.config.name);
      }
      if (!seen.insert(s.config.name).second) return Damaged(n, "section " + s.config.name + " appears twice");
      try {
        s.config.replicas = line.value("replicas", 1);
        if (!s.is_stream) {
          s.config.description = line.value("description", "");
          s.config.history = line.value("history", 1);
          s.config.ttl_ms = line.value("ttl_ms", int64_t{0});
          s.config.max_value_size = line.value("max_value_size", int32_t{-1});
        }
      } catch (const json::exception&) {
        return Damaged(n, "section " + s.config.name + " has malformed settings");
      }
      sections.push_back(std::move(s));
      continue;
    }
    if (sections.empty()) return Damaged(n, "a message before any section");
    Section& s = sections.back();
    Message m;
    const char* where_field = s.is_stream ? "subject" : "key";
    if (!line.contains(where_field) || !line[where_field].is_string()) return Damaged(n, "a message without its key");
    m.where = line[where_field].get<std::string>();
    if (!PlainKey(m.where)) return Damaged(n, "a malformed key");
    m.op = s.is_stream ? "PUT" : line.value("op", "");
    if (m.op != "PUT" && m.op != "DEL" && m.op != "PURGE") return Damaged(n, "unknown operation");
    if (m.op == "PUT") {
      IF_ASSIGN_OR_RETURN(auto v, ValueOf(line, n));
      m.value = std::move(v);
    }
    s.messages.push_back(std::move(m));
  }
  return sections;
}

// The value a message gets in the new store: nonce counters keep counting (plus a margin for encryptions made
// after the backup), and unfinished runs lose `queue` so that the first server start queues them again.
std::string Restored(const Section& s, const Message& m) {
  if (s.config.name == kSystemBucket && m.where.rfind("nonces.", 0) == 0) {
    try {
      return std::to_string(std::stoull(m.value) + kNonceMargin);
    } catch (const std::exception&) {
      return m.value;
    }
  }
  if (s.config.name == kRunsBucket) {
    json run = json::parse(m.value, nullptr, false);
    if (run.is_object() && run.contains("delivery") && run["delivery"].is_object() &&
        run["delivery"].contains("queue")) {
      run["delivery"].erase("queue");
      return run.dump();
    }
  }
  return m.value;
}

class RestoreRun {
 public:
  RestoreRun(NatsConnection& nc, const RestoreOptions& o) : nc_(nc), o_(o) {
    id_prefix_ = "restore-" + HexEncode(RandomBytes(8)) + "-";
  }

  // kConflict naming the first non-empty bucket or stream (none is touched).
  Status CheckEmpty(const std::vector<Section>& sections) {
    for (const auto& s : sections) {
      IF_ASSIGN_OR_RETURN(auto count, Messages(s));
      if (count > 0 && !o_.force) {
        return Status::Conflict((s.is_stream ? "stream " : "bucket ") + s.config.name + " already holds " +
                                std::to_string(count) +
                                " messages: restore into an empty NATS, or pass --force to replace what it holds "
                                "(stop every server first)");
      }
    }
    return Status::Ok();
  }

  Status Restore(const Section& s) {
    if (o_.force) {
      Status removed = s.is_stream ? DeleteStream(nc_, s.config.name) : DeleteKvBucket(nc_, s.config.name);
      if (!removed.ok() && !removed.is(Code::kNotFound)) return removed;
    }
    const int replicas = o_.replicas > 0 ? o_.replicas : s.config.replicas;
    std::unique_ptr<KvBucket> bucket;
    std::string subject_prefix;
    if (s.is_stream) {
      IF_RETURN_IF_ERROR(SystemStream::Ensure(nc_, replicas).status());
    } else {
      KvBucketConfig c = s.config;
      c.replicas = replicas;
      IF_ASSIGN_OR_RETURN(auto opened, KvBucket::OpenOrCreate(nc_, c));
      bucket = std::move(opened);
      subject_prefix = "$KV." + s.config.name + ".";
    }
    uint64_t count = 0;
    for (const Message& m : s.messages) {
      if (m.op == "PUT") {
        // One message per key in a batch: a resent message could land after a later one of the same key.
        if (!s.is_stream) {
          if (batch_keys_.count(m.where)) IF_RETURN_IF_ERROR(Flush());
          batch_keys_.insert(m.where);
        }
        batch_.push_back(
            StreamPublish{subject_prefix + m.where, Restored(s, m), id_prefix_ + std::to_string(next_id_++)});
        if (batch_.size() >= kRestoreBatch) IF_RETURN_IF_ERROR(Flush());
      } else {
        IF_RETURN_IF_ERROR(Flush());
        if (m.op == "DEL") {
          IF_RETURN_IF_ERROR(bucket->DeleteLatest(m.where).status());
        } else {
          IF_RETURN_IF_ERROR(bucket->Purge(m.where));
        }
      }
      if (++count % kProgressEvery == 0) {
        Progress(o_.progress, s.config.name + ": " + std::to_string(count) + " of " +
                                  std::to_string(s.messages.size()) + " messages...");
      }
    }
    IF_RETURN_IF_ERROR(Flush());
    Progress(o_.progress, s.config.name + ": " + std::to_string(count) + " messages restored");
    return Status::Ok();
  }

 private:
  Result<uint64_t> Messages(const Section& s) {
    if (s.is_stream) {
      auto state = GetStreamState(nc_, s.config.name);
      if (state.status().is(Code::kNotFound)) return uint64_t{0};
      if (!state.ok()) return state.status();
      return state->messages;
    }
    auto info = GetKvBucketInfo(nc_, s.config.name);
    if (info.status().is(Code::kNotFound)) return uint64_t{0};
    if (!info.ok()) return info.status();
    return info->values;
  }

  Status Flush() {
    if (batch_.empty()) return Status::Ok();
    Status s = nc_.PublishToStreamDurably(batch_, 30000);
    batch_.clear();
    batch_keys_.clear();
    return s;
  }

  NatsConnection& nc_;
  const RestoreOptions& o_;
  std::string id_prefix_;
  uint64_t next_id_ = 0;
  std::vector<StreamPublish> batch_;
  std::set<std::string> batch_keys_;
};

}  // namespace

Result<BackupSummary> WriteBackup(NatsConnection& nc, const MasterKey& key, const BackupOptions& o, std::FILE* out) {
  if (Status proven = ProveMasterKey(nc, key); !proven.ok()) {
    if (proven.is(Code::kPreconditionFailed)) {
      return Status::PreconditionFailed(proven.message() +
                                        "; a backup is authenticated with the master key, so a "
                                        "dev-mode store cannot be backed up (copy its NATS store directory instead)");
    }
    return proven;
  }

  BackupWriter writer(out, key.backup_mac_key());
  json header = {{"format", kFormat},
                 {"version", kFormatVersion},
                 {"created_at", FormatRfc3339(NowUnixMillis())},
                 {"ironflow_version", IRONFLOW_VERSION},
                 {"master_key_id", key.key_id()},
                 {"includes", {{"runs", o.include_runs}, {"audit", o.include_audit}}}};
  IF_RETURN_IF_ERROR(writer.Write(header.dump()));

  BackupRun run(nc, writer, o);
  std::vector<std::string> buckets = StoreBuckets(o.include_runs);
  IF_ASSIGN_OR_RETURN(auto user, ListKvBuckets(nc, kUserBucketPrefix));
  buckets.insert(buckets.end(), user.begin(), user.end());
  for (const auto& b : buckets) IF_RETURN_IF_ERROR(run.Bucket(b));
  if (o.include_audit) IF_RETURN_IF_ERROR(run.Audit());
  IF_RETURN_IF_ERROR(writer.Finish());
  BackupSummary summary = run.summary();
  summary.bytes = writer.bytes();
  return summary;
}

Result<RestoreSummary> RestoreBackup(NatsConnection& nc, const MasterKey& key, const std::string& path,
                                     const RestoreOptions& o) {
  IF_ASSIGN_OR_RETURN(auto file, BackupFile::Load(path));
  json header = json::parse(file.header(), nullptr, false);
  auto text = [&](const char* field) {
    return header.contains(field) && header[field].is_string() ? header[field].get<std::string>() : std::string();
  };
  if (header.is_discarded() || !header.is_object() || text("format") != kFormat) {
    return Status::InvalidArgument(path + " is not an Ironflow backup");
  }
  if (!header.contains("version") || header["version"] != kFormatVersion) {
    return Status::InvalidArgument("backup format version " + header.value("version", json(nullptr)).dump() +
                                   " is not supported by this ironflow (it reads version " +
                                   std::to_string(kFormatVersion) + ")");
  }
  const std::string made_with = text("master_key_id");
  if (made_with != key.key_id()) {
    return Status::PermissionDenied("this backup was made under master key " + made_with + "; the key given has id " +
                                    key.key_id() + ": restore with the master key the backed-up servers used");
  }
  IF_RETURN_IF_ERROR(file.Verify(key.backup_mac_key()));
  Progress(o.progress, "backup of " + text("created_at") + " verified (" + std::to_string(file.size()) + " bytes)");
  IF_ASSIGN_OR_RETURN(auto sections, Plan(file.body()));

  RestoreRun run(nc, o);
  IF_RETURN_IF_ERROR(run.CheckEmpty(sections));
  RestoreSummary summary;
  summary.created_at = text("created_at");
  for (const auto& s : sections) {
    IF_RETURN_IF_ERROR(run.Restore(s));
    ++summary.sections;
    summary.messages += s.messages.size();
  }
  return summary;
}

}  // namespace ironflow::server
