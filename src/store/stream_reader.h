// ReadStream: a bounded read of a JetStream stream's history (an ordered ephemeral consumer starting at a point
// in time), for queries such as the audit trail. Reads at most `scan_limit` messages, oldest first, and keeps the
// newest `keep` of those that `accept` lets through.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/nats_connection.h"

namespace ironflow {

struct StreamMessage {
  std::string subject;
  std::string data;
  uint64_t sequence = 0;
  int64_t time_ns = 0;  // when the stream stored it
};

struct StreamQuery {
  std::string stream;
  std::string subject_filter;  // NATS wildcards
  int64_t since_ns = 0;        // 0: from the start of the stream
  size_t keep = 100;
  size_t scan_limit = 100000;
  std::function<bool(const StreamMessage&)> accept;  // null: accept all
};

// Oldest first. `*truncated` (optional) tells whether more than scan_limit messages matched.
Result<std::vector<StreamMessage>> ReadStream(NatsConnection& nc, const StreamQuery& query, bool* truncated = nullptr);

}  // namespace ironflow
