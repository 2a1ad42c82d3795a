// NonceBudget: counts AES-256-GCM encryptions per master key across every server process, so that a key is
// retired before the NIST SP 800-38D bound for random 96-bit nonces: at most 2^32 encryptions per key.
//
// The count lives in bucket `ironflow-system` under `nonces.<key id>` (ASCII decimal) and is moved by
// compare-and-set in blocks: a process reserves `block` encryptions with one write and spends them locally, so
// there is one NATS write per block, never one per encryption. Blocks are disjoint, and a process that stops
// wastes the rest of its block, so the stored count is an upper bound on the encryptions made — the safe side.
// Take() before each encryption; it fails with kUnavailable (and nothing is sealed) once the key's budget is
// spent. From kWarnAt on, every reservation logs a warning to rotate the key. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/kv_bucket.h"

namespace ironflow::server {

class NonceBudget {
 public:
  static constexpr uint64_t kLimit = uint64_t{1} << 32;
  static constexpr uint64_t kWarnAt = uint64_t{1} << 30;  // a quarter of the budget: time to rotate calmly
  static constexpr uint64_t kBlock = 4096;

  NonceBudget(KvBucket& system_bucket, std::string key_id, uint64_t block = kBlock);

  // Accounts for one encryption; returns its ordinal (0-based, unique across processes).
  Result<uint64_t> Take();

  struct Usage {
    std::string key_id;
    uint64_t reserved = 0;  // encryptions made or reserved, over all processes (an upper bound)
    bool warning = false;   // reserved >= kWarnAt
  };
  // The stored count (one NATS read).
  Result<Usage> Read() const;
  // The stored count of every key id that has one (current, previous and retired keys), by key id.
  static Result<std::vector<Usage>> ReadAll(KvBucket& system_bucket);

 private:
  Status Reserve();  // mu_ held

  KvBucket& bucket_;
  std::string key_id_;
  std::string kv_key_;
  uint64_t block_;
  std::mutex mu_;
  uint64_t next_ = 0;  // next ordinal of the current block
  uint64_t end_ = 0;   // one past its last ordinal
};

}  // namespace ironflow::server
