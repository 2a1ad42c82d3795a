// SystemStream: the JetStream stream IRONFLOW_SYSTEM that captures every `system.>` subject for audit, with
// bounded retention (30 days, at most 1,000,000 messages, 1 GiB). It is the only stream that may claim
// `system.>`; later planes publish into it rather than creating their own. Thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/nats_connection.h"

namespace ironflow::server {

class SystemStream {
 public:
  static constexpr std::string_view kName = "IRONFLOW_SYSTEM";

  // Creates the stream if it does not exist (with `replicas`), else binds to it.
  // Creates the stream if needed; an existing stream gets `retention_days` (message max age) if it differs.
  static Result<SystemStream> Ensure(NatsConnection& nc, int replicas, int retention_days = 30);
  // Binds to the existing stream without changing its configuration (tools beside a running server);
  // kNotFound when there is none.
  static Result<SystemStream> Bind(NatsConnection& nc);

  // Publishes and waits until every message is stored, retrying across a leader election (up to 10 s;
  // NatsConnection::PublishToStreamDurably). For the events of changes a caller is about to acknowledge.
  Status PublishDurably(const std::vector<StreamPublish>& messages);

 private:
  explicit SystemStream(NatsConnection& nc) : nc_(&nc) {}
  NatsConnection* nc_;
};

}  // namespace ironflow::server
