// SecretStore: the secrets plane. Environment-scoped secrets in KV bucket `ironflow-secrets`.
//
// Management operations (Create, Put, UpdateDescription, Get, List, Delete) return metadata only. Resolve is
// the one way to get a value back, reserved for the runtime plane; the HTTP management API never calls it.
// Every write is a compare-and-set on the KV revision: an explicit `if_match` that differs fails with
// kPreconditionFailed; without one, a lost race is retried on fresh state, so no concurrent update is silently
// dropped. Every successful write publishes a system event. Callers validate names and check that the
// environment exists. Thread-safe.
//
// A rotation normally needs the current record (for its revision, created_at and description). The store
// remembers the head (revision + metadata, never a value) of secrets it recently wrote or read, and tries the
// compare-and-set against it first; if another process changed the secret meanwhile, the CAS fails and the
// store re-reads, so the hint can cost a retry but never an update.
//
// Integrity: a record whose sealed value fails to authenticate (flipped bytes, a value or a whole record moved
// from another key) or that cannot be decoded is never served. Each time one is met it is logged at error level
// (environment, name, revision, key id and what is known, never bytes) and counted (integrity_failures()); the
// caller's error only says "failed to authenticate". Metadata is always answered under the KV key's own name.
//
// For the runtime's dispatch path, with a master key, the store also keeps recently seen *sealed* records (never
// plaintext; disabled in dev mode), fed by a watch on the bucket (ObserveStored) and by its own reads. An entry is
// trusted for at most 5 s after it was last confirmed; this process's own writes drop it at once. So resolving
// a function's secrets usually costs decryption only, and a change made through another server is seen within
// milliseconds (the watch), at worst 5 s (if the watch stalls).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/ttl_cache.h"
#include "crypto/secure_bytes.h"
#include "events/system_events.h"
#include "secrets/value_sealer.h"
#include "store/kv_bucket.h"

namespace ironflow::server {

inline constexpr const char* kSecretsBucket = "ironflow-secrets";
inline constexpr size_t kMaxSecretValueBytes = 64 * 1024;

struct SecretMetadata {
  std::string name;
  std::string environment;
  std::string description;
  uint64_t revision = 0;
  std::string created_at;
  std::string updated_at;
  bool encrypted = false;
  std::string key_id;  // empty when not encrypted
};

class SecretStore {
 public:
  SecretStore(KvBucket& bucket, const ValueSealer& sealer, SystemEvents& events)
      : bucket_(bucket),
        sealer_(sealer),
        events_(events),
        heads_(std::chrono::minutes(10)),
        sealed_(std::chrono::seconds(5)) {}

  // kAlreadyExists if the secret exists.
  Result<SecretMetadata> Create(const std::string& env, const std::string& name, std::string_view value,
                                std::optional<std::string> description, const Actor& actor);

  struct PutOutcome {
    SecretMetadata metadata;
    bool created = false;
  };
  // Creates or replaces the value. Without `description` the old one is kept. With `if_match`: CAS on it
  // (kPreconditionFailed when the secret is absent or at another revision).
  Result<PutOutcome> Put(const std::string& env, const std::string& name, std::string_view value,
                         std::optional<std::string> description, std::optional<uint64_t> if_match, const Actor& actor);
  // Changes only the description (new revision, same sealed bytes). kNotFound when absent.
  Result<SecretMetadata> UpdateDescription(const std::string& env, const std::string& name, std::string description,
                                           std::optional<uint64_t> if_match, const Actor& actor);
  Result<SecretMetadata> Get(const std::string& env, const std::string& name);
  // Sorted by name.
  Result<std::vector<SecretMetadata>> List(const std::string& env);
  // kNotFound when absent; kPreconditionFailed when `if_match` differs.
  Status Delete(const std::string& env, const std::string& name, std::optional<uint64_t> if_match, const Actor& actor);

  // One revision of a secret, as the KV history still holds it: metadata only.
  struct Version {
    uint64_t revision = 0;
    std::string created_at;  // when this revision was written
    bool deleted = false;    // a delete marker
    std::string description;
    std::string key_id;  // empty when not encrypted (or deleted)
    bool encrypted = false;
    RecordActor actor;  // who wrote it (empty for deletes and for records older than this field)
    // "ok"; "unreadable": fails to authenticate or decode (tampered, moved, corrupt); "key_unavailable": sealed
    // under a key id this server does not hold, so it cannot be checked; "" for delete markers.
    std::string state;
  };
  // Newest first. kNotFound when the history holds nothing for the name.
  Result<std::vector<Version>> Versions(const std::string& env, const std::string& name);
  // Writes the value of `revision` again as a new revision (decrypted with its own AAD, sealed afresh under the
  // current key), keeping that revision's description. Works on a deleted secret while the history holds the
  // revision. kNotFound when the revision is gone or was a delete; kPreconditionFailed when `if_match` differs.
  Result<PutOutcome> Rollback(const std::string& env, const std::string& name, uint64_t revision,
                              std::optional<uint64_t> if_match, const Actor& actor);

  // Master-key rotation: re-seals under the current key every live secret (of `env`, or all environments when
  // nullopt) whose value is sealed under another key id. Each write is a compare-and-set on the revision read, so
  // a concurrent user write is never overwritten (the loop re-reads; a value written meanwhile is already under
  // the current key). Idempotent and resumable: run it again to finish. Rekeyed revisions keep their value and
  // description and publish no secret.updated (nothing a function cares about changed); the run as a whole
  // publishes system.rekey.<env|*>.completed with its counts (kUnavailable if that event cannot be stored).
  struct RekeyReport {
    int rekeyed = 0;
    int already_current = 0;
    std::vector<std::string> failed;  // "<env>.<NAME>" that could not be opened or written (never a value)
  };
  Result<RekeyReport> Rekey(const std::optional<std::string>& env, const Actor& actor);
  // Live secrets per key id ("" = stored in plaintext, dev mode), across all environments.
  Result<std::map<std::string, size_t>> CountByKeyId();

  // Runtime plane only: the decrypted value, and the revision it came from.
  struct Resolved {
    SecretString value;
    uint64_t revision = 0;
  };
  Result<SecretString> Resolve(const std::string& env, const std::string& name);
  Result<Resolved> ResolveWithRevision(const std::string& env, const std::string& name);
  // The value as of `revision` (from the KV history), e.g. to redact what an earlier attempt received.
  Result<SecretString> ResolveRevision(const std::string& env, const std::string& name, uint64_t revision);

  // Feed from a watch on the bucket (KvWatch): keeps the sealed-record cache current.
  void ObserveStored(const KvEntry& entry, bool deleted);

  // Seals, under the current key, every entry written in dev mode. Returns how many were re-encrypted.
  Result<int> EncryptPlaintextEntries();

  // Stored records met that failed to authenticate or decode, since start (ironflow_secret_integrity_failures_total).
  uint64_t integrity_failures() const { return integrity_failures_.load(); }

 private:
  struct Current {
    std::optional<KvEntry> entry;
    std::optional<SecretRecord> record;
  };
  // What a rotation needs to know about the current version, without its value.
  struct Head {
    uint64_t revision = 0;
    std::string created_at;
    std::string description;
  };
  Result<Current> Load(const std::string& env, const std::string& name);
  void RememberHead(const std::string& key, uint64_t revision, const SecretRecord& r);
  // For a retried request (actor.request.retry, see common/request_tag.h): if the latest write of env.name was made
  // by an earlier attempt of it, that write's outcome, with its audit event sent again (stored once). A delete
  // marker gives an outcome with revision 0. nullopt: write as usual.
  std::optional<Result<PutOutcome>> EarlierAttempt(const std::string& env, const std::string& name, const Actor& actor);
  // The CAS against the remembered head. nullopt when there is no usable head or the CAS lost.
  std::optional<Result<PutOutcome>> TryPutOnRememberedHead(const std::string& env, const std::string& name,
                                                           const SealedValue& sealed,
                                                           const std::optional<std::string>& description,
                                                           std::optional<uint64_t> if_match, const Actor& actor);
  // Metadata of `r` as stored under env.name (the key's own name, whatever the record claims).
  SecretMetadata ToMetadata(const std::string& env, const std::string& name, const SecretRecord& r,
                            uint64_t revision) const;
  // Opens the value stored at env.name, `revision`; an authentication failure is reported (ReportIntegrityFailure).
  // `record` (may be null) is the decoded record, to name what it claims to be in the log.
  Result<SecretString> OpenStored(const std::string& env, const std::string& name, uint64_t revision,
                                  const SealedValue& value, const SecretRecord* record) const;
  // Logs (error level, no bytes) and counts one integrity failure; returns the error callers see.
  Status ReportIntegrityFailure(const std::string& env, const std::string& name, uint64_t revision,
                                const std::string& key_id, const std::string& detail) const;

  KvBucket& bucket_;
  const ValueSealer& sealer_;
  SystemEvents& events_;
  TtlCache<Head> heads_;
  struct Sealed {
    uint64_t revision = 0;
    SealedValue value;  // key id, nonce, ciphertext: never plaintext
    bool live = true;   // false: `revision` was a delete (or is not servable); resolve reads NATS
  };
  void RememberSealed(const std::string& key, uint64_t revision, const SealedValue& value);
  void ForgetSealed(const std::string& key, uint64_t revision);
  std::mutex sealed_mu_;  // orders updates of sealed_ (request threads and the watch thread)
  TtlCache<Sealed> sealed_;
  mutable std::atomic<uint64_t> integrity_failures_{0};
};

}  // namespace ironflow::server
