// Backup and restore of an Ironflow deployment's NATS store: `ironflow backup` and `ironflow restore`.
//
// WriteBackup reads, bucket by bucket, every message the store keeps (each bucket's stream up to its last
// sequence when that bucket's read starts: consistent per bucket, online, beside running servers) and writes them
// as they are stored: sealed secret values stay sealed, API keys stay hashes. It first proves the master key on
// the store's key-check record; a dev-mode store (no master key) cannot be backed up this way.
//
// RestoreBackup loads the whole file and checks, before it writes anything: the format version, the master key's
// id, the MAC (BackupFile), every line's shape, and that each bucket and stream it would fill is empty (or, with
// `force`, deletes them first). It then recreates each bucket with the settings it had and writes its messages
// oldest first, so each key's history keeps its order; the new store numbers them itself (revisions change).
// Nonce counters are raised by kNonceMargin (encryptions made after the backup still count against the key's
// budget). Unfinished runs are queued again by the first server that starts (their delivery loses `queue`).
//
// What a file holds and how to use it: docs/operations.md, "Backup and restore".
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

#include "common/status.h"
#include "crypto/master_key.h"
#include "store/nats_connection.h"

namespace ironflow::server {

inline constexpr uint64_t kNonceMargin = uint64_t{1} << 24;  // 16.7M encryptions, 0.4% of a key's budget

using ProgressFn = std::function<void(const std::string& line)>;

struct BackupOptions {
  bool include_runs = false;   // bucket ironflow-runs (run history and unfinished runs)
  bool include_audit = false;  // stream IRONFLOW_SYSTEM (the audit trail)
  ProgressFn progress;         // one line per bucket and every 10,000 messages (null: quiet)
};

struct BackupSummary {
  int sections = 0;
  uint64_t messages = 0;
  uint64_t bytes = 0;
};

// Writes the backup to `out` (the caller makes the file private and renames it into place).
Result<BackupSummary> WriteBackup(NatsConnection& nc, const MasterKey& key, const BackupOptions& options,
                                  std::FILE* out);

struct RestoreOptions {
  bool force = false;  // delete the buckets and streams the backup holds before restoring them (servers stopped!)
  int replicas = 0;    // 0: as in the backup; else every bucket and stream gets this many
  ProgressFn progress;
};

struct RestoreSummary {
  int sections = 0;
  uint64_t messages = 0;
  std::string created_at;  // when the backup was made
};

Result<RestoreSummary> RestoreBackup(NatsConnection& nc, const MasterKey& key, const std::string& path,
                                     const RestoreOptions& options);

}  // namespace ironflow::server
