// EnsureStream: creates a JetStream stream if it does not exist, or (for settings marked updatable) brings an
// existing one in line; several server processes may race to create it, and losing that race is success.
// SetStreamMaxAge: applies a retention setting to a stream that exists.
// GetStreamState / DeleteStream: what a backup and a restore need to know about a stream, and removing one.
// CountMessagesBySubject: per-subject message counts (the job queue's depth per function, for /metrics).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "common/status.h"
#include "store/nats_connection.h"

namespace ironflow::server {

struct StreamSpec {
  std::string name;
  std::string description;
  std::string subject;  // one subject filter, e.g. "system.>"
  int replicas = 1;
  int64_t max_age_ns = 0;
  int64_t max_msgs = -1;
  int64_t max_bytes = -1;
  int32_t max_msg_size = -1;
  bool update_max_age = false;  // an existing stream gets this spec's max age (a retention flag changed)
  bool work_queue = false;      // work-queue retention: a message is removed once a consumer acknowledges it
  int64_t duplicates_ns = 0;    // Nats-Msg-Id de-duplication window (0: JetStream's default, 2 minutes)
};

// `what` names the stream in errors ("audit stream").
Status EnsureStream(NatsConnection& nc, const StreamSpec& spec, const std::string& what);

// Sets an existing stream's max age (e.g. the stream behind a KV bucket, `KV_<bucket>`) unless it already has it.
Status SetStreamMaxAge(NatsConnection& nc, const std::string& stream, int64_t max_age_ns, const std::string& what);

struct StreamState {
  uint64_t messages = 0;
  uint64_t last_seq = 0;
  int replicas = 1;
  int64_t max_age_ns = 0;
};
// kNotFound when the stream does not exist.
Result<StreamState> GetStreamState(NatsConnection& nc, const std::string& stream);
// Messages per subject among those matching `subject_filter` (subjects without messages are absent).
Result<std::map<std::string, uint64_t>> CountMessagesBySubject(NatsConnection& nc, const std::string& stream,
                                                               const std::string& subject_filter);
// kNotFound when the stream does not exist.
Status DeleteStream(NatsConnection& nc, const std::string& stream);

}  // namespace ironflow::server
