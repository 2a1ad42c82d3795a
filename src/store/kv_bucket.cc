#include "store/kv_bucket.h"

#include <cstring>
#include <map>

#include "common/hex.h"
#include "crypto/digest.h"
#include "store/nats_handles.h"
#include "store/stream_reader.h"

namespace ironflow::server {
namespace {

constexpr int kWrongLastSequence = 10071;  // JetStream API error: JSStreamWrongLastSequenceErr

// Whether a failed call (`s`) was JetStream refusing a write on its revision precondition. Only an API error
// (NATS_ERR) can be one: nats.c keeps a thread's last error text across later failures that set none, so after a
// timeout the text can still be an earlier refusal's, and a write whose outcome is unknown (it may land later)
// would be taken for a refused one. That is how a retried counter increment was applied twice.
bool IsWrongSequence(natsStatus s) {
  if (s != NATS_ERR) return false;
  natsStatus st = NATS_OK;
  const char* text = nats_GetLastError(&st);
  return text != nullptr && std::strstr(text, "wrong last sequence") != nullptr;
}

constexpr const char* kTagHeader = "Ironflow-Request";
// JetStream API error: JSStreamDuplicateMessageConflictErr (a duplicate of a message still being applied; newer
// servers answer it where older ones answer a duplicate without a sequence).
constexpr int kDuplicateConflict = 10158;

// The de-duplication id of a write (empty: none). A conditional write on an existing revision is identified by
// (key, revision) alone: JetStream applies at most one message per id, in Raft order on every replica, so two
// writers racing for one revision cannot both win even where the revision check itself is not exact
// (nats-server#4320: on NATS < 2.9.21 both writes proposed against one revision of an R3 stream can be applied).
// Revisions are stream sequences, never reused, so the id never refuses a later legitimate write. Any other write
// made for a request is identified by (key, request tag, precondition, operation): the same step sent again by a
// retry is stored once.
std::string WriteMessageId(const std::string& subject, std::optional<uint64_t> expected_revision,
                           const char* operation_header, std::string_view tag) {
  if (expected_revision && *expected_revision != 0) {
    return "cas-" + Sha256Hex(subject + '\n' + std::to_string(*expected_revision)).substr(0, 32);
  }
  if (tag.empty()) return "";
  const std::string step = subject + '\n' + std::string(tag) + '\n' + (expected_revision ? "0" : "any") + '\n' +
                           (operation_header ? operation_header : "PUT");
  return "w-" + Sha256Hex(step).substr(0, 32);
}

// A read or write of a bucket that failed (and, for a write, not on its precondition) failed for a passing reason
// (a timeout, no stream leader during an election, the cluster refusing requests), and a write's outcome is
// unknown: the caller answers 503, never 500.
Status StoreFailed(natsStatus s, std::string_view operation) {
  Status st = StatusFromNats(s, operation);
  if (st.is(Code::kInternal)) {
    const std::string detail = LastNatsErrorText();
    return Status::Unavailable(std::string(operation) + " failed" + (detail.empty() ? "" : ": " + detail));
  }
  return st;
}

KvEntry ToEntry(kvEntry* e) {
  KvEntry out;
  out.key = kvEntry_Key(e);
  out.value.assign(static_cast<const char*>(kvEntry_Value(e)), static_cast<size_t>(kvEntry_ValueLen(e)));
  out.revision = kvEntry_Revision(e);
  out.created_ns = kvEntry_Created(e);
  return out;
}

}  // namespace

Result<std::unique_ptr<KvBucket>> KvBucket::OpenOrCreate(NatsConnection& nc, const KvBucketConfig& config) {
  kvStore* kv = nullptr;
  natsStatus s = js_KeyValue(&kv, nc.js(), config.name.c_str());
  if (s == NATS_NOT_FOUND) {
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = config.name.c_str();
    cfg.Description = config.description.c_str();
    cfg.History = static_cast<uint8_t>(config.history);
    cfg.Replicas = config.replicas;
    cfg.MaxValueSize = config.max_value_size;
    cfg.TTL = config.ttl_ms * 1000000;  // nats.c 3.4 takes nanoseconds here
    cfg.StorageType = js_FileStorage;
    s = js_CreateKeyValue(&kv, nc.js(), &cfg);
  }
  if (s != NATS_OK) {
    const std::string detail = LastNatsErrorText();
    // JetStream's answers when the cluster has fewer nodes than the replicas asked for, or is a single server.
    if (detail.find("insufficient resources") != std::string::npos ||
        detail.find("no suitable peers") != std::string::npos || detail.find("non-clustered") != std::string::npos) {
      return Status::InvalidArgument("replicas " + std::to_string(config.replicas) + " for KV bucket " + config.name +
                                     ": the NATS cluster has too few JetStream nodes to place them");
    }
    return StatusFromNats(s, "open KV bucket " + config.name + (detail.empty() ? "" : " (" + detail + ")"));
  }
  auto leader_reads = ReadThroughLeader(nc, config.name);
  if (!leader_reads.ok()) {
    kvStore_Destroy(kv);
    return leader_reads.status();
  }
  if (*leader_reads) {  // the handle may have chosen direct gets when it bound (before a switch): bind again
    kvStore_Destroy(kv);
    kv = nullptr;
    s = js_KeyValue(&kv, nc.js(), config.name.c_str());
    if (s != NATS_OK) return StatusFromNats(s, "open KV bucket " + config.name);
  }
  return std::unique_ptr<KvBucket>(new KvBucket(nc, kv, config.name));
}

Result<bool> KvBucket::ReadThroughLeader(NatsConnection& nc, const std::string& name) {
  const std::string stream = "KV_" + name;
  jsStreamInfo* raw_info = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&raw_info, nc.js(), stream.c_str(), nullptr, &err);
  nats::StreamInfoPtr info(raw_info);
  if (s != NATS_OK) return StatusFromNats(s, "KV bucket " + name + " info");
  if (!info->Config || info->Config->Replicas <= 1) return false;
  if (!info->Config->AllowDirect) return true;  // switched already (perhaps by another server just now)
  info->Config->AllowDirect = false;
  jsStreamInfo* raw_updated = nullptr;
  s = js_UpdateStream(&raw_updated, nc.js(), info->Config, nullptr, &err);
  nats::StreamInfoPtr updated(raw_updated);
  if (s != NATS_OK) return StatusFromNats(s, "switch KV bucket " + name + " to leader reads");
  return true;
}

Result<std::unique_ptr<KvBucket>> KvBucket::Open(NatsConnection& nc, const std::string& name) {
  kvStore* kv = nullptr;
  natsStatus s = js_KeyValue(&kv, nc.js(), name.c_str());
  if (s == NATS_NOT_FOUND) return Status::NotFound("KV bucket " + name + " does not exist");
  if (s != NATS_OK) return StatusFromNats(s, "open KV bucket " + name);
  return std::unique_ptr<KvBucket>(new KvBucket(nc, kv, name));
}

KvBucket::~KvBucket() { kvStore_Destroy(kv_); }

Result<std::optional<KvEntry>> KvBucket::Get(const std::string& key) {
  kvEntry* raw = nullptr;
  natsStatus s = kvStore_Get(&raw, kv_, key.c_str());
  nats::KvEntryPtr e(raw);
  if (s == NATS_NOT_FOUND) return std::optional<KvEntry>();
  if (s != NATS_OK) return StoreFailed(s, "KV get");
  if (kvEntry_Operation(e.get()) != kvOp_Put) return std::optional<KvEntry>();
  return std::optional<KvEntry>(ToEntry(e.get()));
}

Result<std::optional<KvEntry>> KvBucket::GetRevision(const std::string& key, uint64_t revision) {
  kvEntry* raw = nullptr;
  natsStatus s = kvStore_GetRevision(&raw, kv_, key.c_str(), revision);
  nats::KvEntryPtr e(raw);
  if (s == NATS_NOT_FOUND) return std::optional<KvEntry>();
  if (s != NATS_OK) return StoreFailed(s, "KV get revision");
  if (kvEntry_Operation(e.get()) != kvOp_Put) return std::optional<KvEntry>();
  return std::optional<KvEntry>(ToEntry(e.get()));
}

Result<uint64_t> KvBucket::Create(const std::string& key, std::string_view value, std::string_view tag) {
  if (!tag.empty()) {
    // As kvStore_Create: a key that is absent, or whose latest write is a delete marker, may be created.
    auto rev = PublishWrite(key, value, uint64_t{0}, nullptr, tag);
    if (!rev.status().is(Code::kConflict)) return rev;
    IF_ASSIGN_OR_RETURN(auto last, LastWrite(key));
    if (!last.has_value() || !(last)->deleted) return Status::Conflict("key exists");
    return PublishWrite(key, value, (last)->revision, nullptr, tag);
  }
  uint64_t rev = 0;
  natsStatus s = kvStore_Create(&rev, kv_, key.c_str(), value.data(), static_cast<int>(value.size()));
  if (s == NATS_OK) return rev;
  if (IsWrongSequence(s)) return Status::Conflict("key exists");
  return StoreFailed(s, "KV create");
}

Result<uint64_t> KvBucket::Update(const std::string& key, std::string_view value, uint64_t expected_revision,
                                  std::string_view tag) {
  if (expected_revision == 0) return Status::Conflict("revision 0 never exists");
  return PublishWrite(key, value, expected_revision, nullptr, tag);
}

Status KvBucket::RequireLiveRevision(const std::string& key, uint64_t revision) {
  IF_ASSIGN_OR_RETURN(auto current, Get(key));
  if (!current.has_value() || (current)->revision != revision) return Status::Conflict("revision mismatch");
  return Status::Ok();
}

Result<uint64_t> KvBucket::Put(const std::string& key, std::string_view value, std::string_view tag) {
  if (!tag.empty()) return PublishWrite(key, value, std::nullopt, nullptr, tag);
  uint64_t rev = 0;
  natsStatus s = kvStore_Put(&rev, kv_, key.c_str(), value.data(), static_cast<int>(value.size()));
  if (s != NATS_OK) return StoreFailed(s, "KV put");
  return rev;
}

Result<uint64_t> KvBucket::DeleteIfRevision(const std::string& key, uint64_t expected_revision, std::string_view tag) {
  if (expected_revision == 0) return Status::Conflict("revision 0 never exists");
  return PublishWrite(key, {}, expected_revision, "DEL", tag);
}

// Writes straight to the bucket's subject so that we get JetStream's precise error code, so a delete can carry a
// revision precondition (nats.c 3.4's kvStore_Delete cannot), and so a write can carry its request's tag.
Result<uint64_t> KvBucket::PublishWrite(const std::string& key, std::string_view value,
                                        std::optional<uint64_t> expected_revision, const char* operation_header,
                                        std::string_view tag) {
  std::string subject = "$KV." + name_ + "." + key;
  natsMsg* raw_msg = nullptr;
  natsStatus s = natsMsg_Create(&raw_msg, subject.c_str(), nullptr, value.data(), static_cast<int>(value.size()));
  nats::MsgPtr msg(raw_msg);
  if (s == NATS_OK && operation_header) s = natsMsgHeader_Set(msg.get(), "KV-Operation", operation_header);
  // Every write carries a tag (the request's, or one of its own), so that a refusal of a copy of it can be told
  // from a refusal of it (below).
  const std::string own_tag = tag.empty() ? "w" + nc_.NewMessageId() : std::string(tag);
  if (s == NATS_OK) s = natsMsgHeader_Set(msg.get(), kTagHeader, own_tag.c_str());
  if (s == NATS_OK) {
    const std::string id = WriteMessageId(subject, expected_revision, operation_header, tag);
    if (!id.empty()) s = natsMsgHeader_Set(msg.get(), "Nats-Msg-Id", id.c_str());
  }
  // jsPubOptions cannot say "expect sequence 0" (0 means unset there): that one goes in as a header.
  if (s == NATS_OK && expected_revision == uint64_t{0}) {
    s = natsMsgHeader_Set(msg.get(), "Nats-Expected-Last-Subject-Sequence", "0");
  }
  if (s != NATS_OK) return StatusFromNats(s, "KV message");

  jsPubOptions po;
  jsPubOptions_Init(&po);
  if (expected_revision) po.ExpectLastSubjectSeq = *expected_revision;
  jsPubAck* raw_ack = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  s = js_PublishMsg(&raw_ack, nc_.js(), msg.get(), &po, &err);
  nats::PubAckPtr ack(raw_ack);
  if ((s == NATS_OK && ack->Duplicate) || static_cast<int>(err) == kDuplicateConflict) {
    // Another write of this step was applied (or is being applied) first: it is this write's outcome if it is
    // this request's own earlier attempt, otherwise this write lost the race for that revision.
    return ResolveDuplicate(key, s == NATS_OK ? ack->Sequence : 0, own_tag);
  }
  if (s == NATS_OK) return ack->Sequence;
  if (static_cast<int>(err) == kWrongLastSequence || IsWrongSequence(s)) {
    // A copy of this very write may have landed first (sent again by nats.c after a reconnect, its answer lost
    // with the node that stored it): then the refusal is of the copy, and the write succeeded.
    return ResolveDuplicate(key, 0, own_tag);
  }
  return StoreFailed(s, operation_header ? "KV delete" : "KV write");
}

Result<uint64_t> KvBucket::ResolveDuplicate(const std::string& key, uint64_t winner, std::string_view tag) {
  if (winner == 0) {  // not known (still being applied, or a refusal): this write's if it is the key's latest
    LastWriteInfo own;
    IF_ASSIGN_OR_RETURN(auto landed, LastWriteIsTagged(key, tag, &own));
    if (landed) return own.revision;
    return Status::Conflict("revision mismatch");
  }
  natsMsg* raw = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_GetMsg(&raw, nc_.js(), ("KV_" + name_).c_str(), winner, nullptr, &err);
  nats::MsgPtr msg(raw);
  if (s != NATS_OK && s != NATS_NOT_FOUND) return StoreFailed(s, "KV write (reading the write that came first)");
  const char* winner_tag = nullptr;
  if (s == NATS_OK && !tag.empty() && natsMsgHeader_Get(msg.get(), kTagHeader, &winner_tag) == NATS_OK &&
      winner_tag != nullptr && tag == winner_tag) {
    return winner;  // this write's own earlier copy landed
  }
  return Status::Conflict("revision mismatch");
}

Result<std::optional<KvBucket::LastWriteInfo>> KvBucket::LastWrite(const std::string& key) {
  const std::string stream = "KV_" + name_;
  const std::string subject = "$KV." + name_ + "." + key;
  natsMsg* raw = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_GetLastMsg(&raw, nc_.js(), stream.c_str(), subject.c_str(), nullptr, &err);
  nats::MsgPtr msg(raw);
  if (s == NATS_NOT_FOUND) return std::optional<LastWriteInfo>();
  if (s != NATS_OK) return StoreFailed(s, "KV last write");
  LastWriteInfo info;
  info.revision = natsMsg_GetSequence(msg.get());
  const char* op = nullptr;
  info.deleted = natsMsgHeader_Get(msg.get(), "KV-Operation", &op) == NATS_OK && op != nullptr &&
                 (std::strcmp(op, "DEL") == 0 || std::strcmp(op, "PURGE") == 0);
  if (!info.deleted)
    info.value.assign(natsMsg_GetData(msg.get()), static_cast<size_t>(natsMsg_GetDataLength(msg.get())));
  const char* tag = nullptr;
  if (natsMsgHeader_Get(msg.get(), kTagHeader, &tag) == NATS_OK && tag != nullptr) info.tag = tag;
  return std::optional<LastWriteInfo>(std::move(info));
}

Result<bool> KvBucket::LastWriteIsTagged(const std::string& key, std::string_view tag, LastWriteInfo* info) {
  if (tag.empty()) return false;
  IF_ASSIGN_OR_RETURN(auto last, LastWrite(key));
  if (!last.has_value() || (last)->tag != tag) return false;
  *info = std::move(*last);
  return true;
}

Result<std::optional<uint64_t>> KvBucket::DeleteLatest(const std::string& key, std::string_view tag) {
  for (int attempt = 0; attempt < kCasRetryBudget; ++attempt) {
    IF_ASSIGN_OR_RETURN(auto current, Get(key));
    if (!current.has_value()) return std::optional<uint64_t>();
    auto rev = DeleteIfRevision(key, (current)->revision, tag);
    if (rev.ok()) return std::optional<uint64_t>(*rev);
    if (!rev.status().is(Code::kConflict)) return rev.status();
  }
  return Status::Unavailable("KV delete: the key kept changing; try again");
}

Status KvBucket::Purge(const std::string& key) {
  natsStatus s = kvStore_Purge(kv_, key.c_str(), nullptr);
  return s == NATS_OK ? Status::Ok() : StoreFailed(s, "KV purge");
}

Status KvBucket::DropOldRevisions(const std::string& key) {
  std::string stream = "KV_" + name_;
  std::string subject = "$KV." + name_ + "." + key;
  jsOptions o;
  jsOptions_Init(&o);
  o.Stream.Purge.Subject = subject.c_str();
  o.Stream.Purge.Keep = 1;
  jsErrCode err = static_cast<jsErrCode>(0);
  return StatusFromNats(js_PurgeStream(nc_.js(), stream.c_str(), &o, &err), "KV drop old revisions");
}

Result<std::vector<KvEntry>> KvBucket::List(const std::string& filter) {
  kvWatchOptions wo;
  kvWatchOptions_Init(&wo);
  wo.IgnoreDeletes = true;
  kvWatcher* raw_w = nullptr;
  natsStatus s = kvStore_Watch(&raw_w, kv_, filter.c_str(), &wo);
  nats::KvWatcherPtr watcher = nats::OwnWatcher(raw_w, nc_.retired());
  if (s != NATS_OK) return StoreFailed(s, "KV list");

  std::vector<KvEntry> out;
  std::map<std::string, size_t> index;  // a key written during the replay can come twice: keep the newest
  // The watcher first replays the latest value of every matching key, then yields a NULL entry.
  for (;;) {
    kvEntry* raw = nullptr;
    s = kvWatcher_Next(&raw, watcher.get(), nc_.request_timeout_ms());
    if (s != NATS_OK) return StoreFailed(s, "KV list");
    if (raw == nullptr) break;
    nats::KvEntryPtr e(raw);
    if (kvEntry_Operation(e.get()) != kvOp_Put) continue;
    KvEntry entry = ToEntry(e.get());
    auto [it, inserted] = index.try_emplace(entry.key, out.size());
    if (inserted) {
      out.push_back(std::move(entry));
    } else if (entry.revision > out[it->second].revision) {
      out[it->second] = std::move(entry);
    }
  }
  return out;
}

Result<std::vector<KvBucket::HistoryEntry>> KvBucket::History(const std::string& key) {
  // One key, as kvStore_History takes it: no wildcards.
  if (key.empty() || key.find_first_of("*> ") != std::string::npos) {
    return Status::InvalidArgument("KV history: invalid key");
  }
  // Read from the bucket's stream with our own ordered consumer rather than kvStore_History, whose watcher nats.c
  // destroys inside the call, at once, also on a timeout while messages still arrive (store/retired_handles.h).
  StreamQuery query;
  query.stream = "KV_" + name_;
  query.subject_filter = "$KV." + name_ + "." + key;
  query.keep = kMaxHistoryRead;
  query.scan_limit = kMaxHistoryRead;
  bool truncated = false;
  IF_ASSIGN_OR_RETURN(auto messages, ReadStream(nc_, query, &truncated));
  if (truncated) return Status::Internal("KV history: more revisions of one key than a bucket keeps");
  std::vector<HistoryEntry> out;
  out.reserve(messages.size());
  for (StreamMessage& m : messages) {
    HistoryEntry h;
    h.deleted = !m.kv_operation.empty();  // a DEL or PURGE marker
    h.entry.key = key;
    h.entry.revision = m.sequence;
    h.entry.created_ns = m.time_ns;
    if (!h.deleted) h.entry.value = std::move(m.data);
    out.push_back(std::move(h));
  }
  return out;
}

Result<std::vector<std::string>> KvBucket::Keys(const std::string& filter) {
  kvWatchOptions wo;
  kvWatchOptions_Init(&wo);
  wo.IgnoreDeletes = true;
  wo.MetaOnly = true;
  kvWatcher* raw_w = nullptr;
  natsStatus s = kvStore_Watch(&raw_w, kv_, filter.c_str(), &wo);
  nats::KvWatcherPtr watcher = nats::OwnWatcher(raw_w, nc_.retired());
  if (s != NATS_OK) return StoreFailed(s, "KV keys");
  std::vector<std::string> out;
  for (;;) {
    kvEntry* raw = nullptr;
    s = kvWatcher_Next(&raw, watcher.get(), nc_.request_timeout_ms());
    if (s != NATS_OK) return StoreFailed(s, "KV keys");
    if (raw == nullptr) break;
    nats::KvEntryPtr e(raw);
    if (kvEntry_Operation(e.get()) == kvOp_Put) out.emplace_back(kvEntry_Key(e.get()));
  }
  return out;
}

}  // namespace ironflow::server
