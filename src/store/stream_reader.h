// Reading a JetStream stream's history through an ordered ephemeral consumer.
// ReadStream: a bounded read starting at a point in time, for queries such as the audit trail. Reads at most
// `scan_limit` messages, oldest first, and keeps the newest `keep` of those that `accept` lets through; a read
// that stalls before the messages it counted at its start have come is Unavailable, never a shorter answer.
// ScanStream: every message a stream holds when the scan starts, oldest first, for a backup.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/nats_connection.h"

namespace ironflow::server {

struct StreamMessage {
  std::string subject;
  std::string data;
  uint64_t sequence = 0;
  int64_t time_ns = 0;       // when the stream stored it
  std::string kv_operation;  // header KV-Operation: "DEL" or "PURGE" on a KV delete/purge marker, else empty
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

// Visits each message of `stream` matching `subject_filter`, oldest first, up to the stream's last sequence when
// the scan starts (later writes are not read: a consistent cut of a stream written meanwhile). A false return
// from `visit` stops the scan. kUnavailable if the stream stops delivering before the cut.
Status ScanStream(NatsConnection& nc, const std::string& stream, const std::string& subject_filter,
                  const std::function<bool(const StreamMessage&)>& visit);

}  // namespace ironflow::server
