// KvBucket: one NATS JetStream key-value bucket, with the conditional writes the planes build on.
//
// Revisions are the bucket stream's sequence numbers: they rise on every write but not by one per key.
// Conditional writes fail with Code::kConflict when the key's latest revision is not the expected one (or,
// for Create, when the key exists) and change nothing. Deleted keys read as absent. Borrows the
// NatsConnection, which must outlive it. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/request_tag.h"
#include "common/status.h"
#include "store/nats_connection.h"

typedef struct __kvStore kvStore;

namespace ironflow::server {

// How many times a read-modify-write loop under contention tries its compare-and-set before giving up (with the
// status each caller documents). Every try reads the key again, so only sustained contention on one key gets near
// it. Every contended loop in the server (secrets, config, KV deletes, counters, runs, functions, the nonce budget,
// signing-key rotation) uses this one budget. Loops that retry for another reason than contention (an
// Idempotency-Key claim, the key check, the first signing key) keep their own small bound: repeating a
// create-only write there is not harmless on NATS older than the minimum in docs/operations.md.
inline constexpr int kCasRetryBudget = 200;

struct KvEntry {
  std::string key;
  std::string value;
  uint64_t revision = 0;
  int64_t created_ns = 0;  // when this revision was written (server time)
};

struct KvBucketConfig {
  std::string name;
  std::string description;
  int history = 1;  // 1..64 revisions kept per key
  int replicas = 1;
  int32_t max_value_size = -1;
  int64_t ttl_ms = 0;  // entries older than this expire (0: never)
};

class KvBucket {
 public:
  // Binds to the bucket, creating it with `config` if it does not exist yet. kInvalidArgument (naming the
  // replicas) when the NATS cluster has too few JetStream nodes to place `config.replicas`. A replicated bucket
  // is read through its stream leader only: nats.c creates KV streams with direct gets, which any replica may
  // answer, so a read right after an acknowledged write (or after a failover) could return the value before it.
  // An existing replicated bucket with direct gets is switched over (once; every later open sees it done and
  // binds a second time, so its handle never keeps direct gets).
  static Result<std::unique_ptr<KvBucket>> OpenOrCreate(NatsConnection& nc, const KvBucketConfig& config);
  // Binds to an existing bucket; kNotFound when there is none.
  static Result<std::unique_ptr<KvBucket>> Open(NatsConnection& nc, const std::string& name);
  ~KvBucket();
  KvBucket(const KvBucket&) = delete;
  KvBucket& operator=(const KvBucket&) = delete;

  const std::string& name() const { return name_; }
  kvStore* raw() const { return kv_; }                // for benchmarks against raw nats.c calls
  NatsConnection& connection() const { return nc_; }  // for KvWatch

  // nullopt when the key is absent or deleted.
  Result<std::optional<KvEntry>> Get(const std::string& key);
  // The entry at exactly `revision` (nullopt if that revision of the key is gone or was a delete).
  Result<std::optional<KvEntry>> GetRevision(const std::string& key, uint64_t revision);
  // Writes only if the key is absent (or deleted). Returns the new revision; kConflict if it exists.
  // The message of Create(key, value), for a caller that stores it together with others
  // (NatsConnection::PublishToStreamDurably; its sequence is the new revision).
  StreamPublish CreateMessage(const std::string& key, std::string value) const {
    return StreamPublish{"$KV." + name_ + "." + key, std::move(value), "", true};
  }
  // A write that fails for any reason but a failed precondition has an unknown outcome: kUnavailable.
  // `tag` (optional) marks the write as made by that request (header Ironflow-Request); LastWrite reads it back.
  // Update and DeleteIfRevision tag every write (with a tag of their own when given none) and carry a
  // de-duplication id per (key, expected revision): of all writes against one revision at most one is stored, also
  // where NATS's own revision check is not exact (nats-server#4320), and a write refused because a copy of it
  // landed first (a resend after a reconnect) answers that copy's revision instead of kConflict.
  Result<uint64_t> Create(const std::string& key, std::string_view value, std::string_view tag = {});
  // Writes only if the key's latest revision is `expected_revision`. kConflict otherwise.
  // The message of Update(key, value, expected_revision) without a tag, for a caller that sends several at once
  // (NatsConnection::PublishEachOnce).
  StreamPublish UpdateMessage(const std::string& key, std::string value, uint64_t expected_revision) const {
    StreamPublish m{"$KV." + name_ + "." + key, std::move(value)};
    m.expected_seq = expected_revision;
    return m;
  }
  Result<uint64_t> Update(const std::string& key, std::string_view value, uint64_t expected_revision,
                          std::string_view tag = {});
  // OK when the key's latest revision is `revision` and holds a value; kConflict when it is absent, deleted (a
  // delete marker has a revision too) or at another revision. For If-Match checks before Update/DeleteIfRevision.
  Status RequireLiveRevision(const std::string& key, uint64_t revision);
  // Unconditional write.
  Result<uint64_t> Put(const std::string& key, std::string_view value, std::string_view tag = {});
  // Places a delete marker only if the latest revision is `expected_revision`; returns the marker's revision.
  Result<uint64_t> DeleteIfRevision(const std::string& key, uint64_t expected_revision, std::string_view tag = {});
  // The key's latest message, delete markers included, with the tag its write carried (empty: untagged). For a
  // retried request whose first outcome was unknown: if the latest write is its own, that write landed.
  struct LastWriteInfo {
    uint64_t revision = 0;
    bool deleted = false;
    std::string value;
    std::string tag;
  };
  Result<std::optional<LastWriteInfo>> LastWrite(const std::string& key);
  // True when the key's latest write carries `tag` (a non-empty tag); fills `*info` with it.
  Result<bool> LastWriteIsTagged(const std::string& key, std::string_view tag, LastWriteInfo* info);
  // Places a delete marker on the key's latest live revision, whatever it is (retrying if a write lands in
  // between). Returns the marker's revision, or nullopt when the key was already absent.
  Result<std::optional<uint64_t>> DeleteLatest(const std::string& key, std::string_view tag = {});
  // Removes the key and all its history.
  Status Purge(const std::string& key);
  // Drops every revision of `key` but the latest one (used after re-encrypting a dev-mode value).
  Status DropOldRevisions(const std::string& key);
  // Latest live entry of every key matching `filter` (NATS wildcards), in no particular order.
  Result<std::vector<KvEntry>> List(const std::string& filter);
  // Every revision the bucket still holds for `key`, oldest first; `deleted` marks delete/purge markers (their
  // value is empty). Empty when the key never existed.
  struct HistoryEntry {
    KvEntry entry;
    bool deleted = false;
  };
  Result<std::vector<HistoryEntry>> History(const std::string& key);
  static constexpr size_t kMaxHistoryRead = 64;  // a KV bucket keeps at most 64 revisions of a key
  // Names of the live keys matching `filter`, without reading their values.
  Result<std::vector<std::string>> Keys(const std::string& filter);

 private:
  // Turns off direct gets on a replicated bucket's stream; true if the bucket is replicated (a handle bound
  // before must be bound again).
  static Result<bool> ReadThroughLeader(NatsConnection& nc, const std::string& name);
  KvBucket(NatsConnection& nc, kvStore* kv, std::string name) : nc_(nc), kv_(kv), name_(std::move(name)) {}
  // A write published straight to the key's subject, with JetStream's precise error codes. `expected_revision`:
  // nullopt = unconditional, 0 = the key has never been written (or was purged), else its latest revision.
  Result<uint64_t> PublishWrite(const std::string& key, std::string_view value,
                                std::optional<uint64_t> expected_revision, const char* operation_header,
                                std::string_view tag);
  // The answer of a write that JetStream found a duplicate of, or refused (`winner`: the sequence of the copy it
  // kept; 0 when not known, e.g. still being applied or a refusal): that copy's revision if it carries this write's
  // `tag` (for 0: if the key's latest write does), else kConflict.
  Result<uint64_t> ResolveDuplicate(const std::string& key, uint64_t winner, std::string_view tag);

  NatsConnection& nc_;
  kvStore* kv_;
  std::string name_;
};

}  // namespace ironflow::server
