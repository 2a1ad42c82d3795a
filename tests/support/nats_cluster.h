// NatsCluster: a real JetStream cluster of nats-server processes on loopback ports, each with its own temp store,
// for the cluster tests. The constructor returns once the cluster can create a replicated (R3) stream, i.e. once
// it has a meta leader and every peer has joined. Nodes can be killed (SIGKILL, no restart) and started again on
// the same ports and stores.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/embedded_nats.h"
#include "store/nats_connection.h"
#include "support/temp_dir.h"

namespace ironflow::server::testing {

class NatsCluster {
 public:
  explicit NatsCluster(int nodes = 3);  // fails the current test (ADD_FAILURE) if the cluster does not form
  ~NatsCluster();

  int size() const { return static_cast<int>(client_ports_.size()); }
  std::string url(int i) const { return "nats://127.0.0.1:" + std::to_string(client_ports_[i]); }
  std::string urls() const;  // every node, comma-separated
  // The node whose client port is `port` in a "nats://127.0.0.1:port" URL; -1 if none.
  int NodeOfUrl(const std::string& url) const;
  bool running(int i) const { return nodes_[i] != nullptr; }
  void Kill(int i);     // SIGKILL: no clean shutdown, as a crashed machine
  bool Restart(int i);  // same ports, store and routes
  // True once an R3 stream can be created and read (quorum and a meta leader), within timeout_ms.
  bool WaitForJetStream(int timeout_ms);
  // The node leading `stream`'s Raft group now, or with `consumer` that consumer's (-1 if none answers within a
  // few seconds).
  int LeaderOf(const std::string& stream, const std::string& consumer = "");
  // A client connection to the whole cluster (every node's URL), for a test's own JetStream calls.
  Result<std::unique_ptr<NatsConnection>> Connect(int connect_deadline_ms = 5000);
  // The JetStream meta leader (from the nodes' /jsz monitoring endpoint); -1 if no running node names one.
  int MetaLeader();

 private:
  bool StartNode(int i, std::string* error);
  int NodeNamed(const std::string& server_name) const;  // nodes name themselves ironflow-embedded-<client port>
  TempDir dir_;
  std::vector<int> client_ports_, route_ports_, monitor_ports_;
  std::vector<std::unique_ptr<EmbeddedNats>> nodes_;
};

}  // namespace ironflow::server::testing
