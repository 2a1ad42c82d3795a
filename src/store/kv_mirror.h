// KvMirror: an in-memory copy of a KV bucket, kept current by a watch (KvWatch) and by the writes this process
// makes (Apply), for hot read paths that would otherwise list the bucket on every request.
//
// It is a hint, never the authority: every decision that matters is a compare-and-set against the bucket, which
// fails on a stale revision. Entries and deletions carry revisions, so late or replayed watch deliveries never
// move an entry backwards. Seeded from a full listing before the watch starts. An optional `keep` predicate
// holds entries it rejects as deletions (a queue mirror drops finished items). Thread-safe.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/kv_bucket.h"
#include "store/kv_watch.h"

namespace ironflow::server {

class KvMirror {
 public:
  using Keep = std::function<bool(const KvEntry& entry)>;
  static Result<std::unique_ptr<KvMirror>> Start(KvBucket& bucket, Keep keep = nullptr);
  ~KvMirror();

  // Live entries whose key starts with `prefix`, in key order.
  std::vector<KvEntry> Snapshot(const std::string& prefix) const;
  std::optional<KvEntry> Get(const std::string& key) const;
  // Calls `fn` on each live entry whose key starts with `prefix`, in key order, under the mirror's lock (no
  // copies: for callers that cache what they derive from an entry by revision). `fn` must not call back in.
  void ForEach(const std::string& prefix, const std::function<void(const KvEntry&)>& fn) const;
  // Records a put (or, with `deleted`, a delete) at entry.revision unless a newer one is known. `keep` is asked
  // only about a put newer than the mirror's (a watch echoing this process's own write costs no predicate call).
  void Apply(const KvEntry& entry, bool deleted);
  // Apply for a writer that knows what `keep` would answer (`kept`): the predicate is not called.
  void ApplyKnown(const KvEntry& entry, bool kept) { Record(entry, !kept); }

 private:
  KvMirror() = default;
  bool IsNewer(const KvEntry& entry) const;        // than what the mirror holds for entry.key
  bool IsNewerLocked(const KvEntry& entry) const;  // the same, mu_ held
  void Record(const KvEntry& entry, bool deleted);
  Keep keep_;
  mutable std::mutex mu_;
  std::map<std::string, KvEntry> live_;
  std::map<std::string, uint64_t> deleted_at_;  // tombstones, so an older put is not resurrected
  std::deque<std::string> tombstone_order_;     // bounded: oldest tombstones are forgotten first
  std::unique_ptr<KvWatch> watch_;
};

}  // namespace ironflow::server
