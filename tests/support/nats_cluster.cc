#include "support/nats_cluster.h"

#include <gtest/gtest.h>
#include <nats/nats.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "http/http_client.h"
#include "store/kv_bucket.h"
#include "store/nats_connection.h"

namespace ironflow::server::testing {

NatsCluster::NatsCluster(int nodes) {
  for (int i = 0; i < nodes; ++i) {
    client_ports_.push_back(PickFreeLoopbackPort());
    route_ports_.push_back(PickFreeLoopbackPort());
    monitor_ports_.push_back(PickFreeLoopbackPort());
  }
  nodes_.resize(nodes);
  for (int i = 0; i < nodes; ++i) {
    // A first start may lose a picked port to another test's listener; the node then gets fresh ports (it dials
    // the nodes already up, so they need not know its new route port). A restart keeps its ports: they are
    // its identity in the cluster.
    std::string error;
    bool started = false;
    for (int attempt = 0; attempt < 3 && !started; ++attempt) {
      if (attempt > 0) {
        client_ports_[i] = PickFreeLoopbackPort();
        route_ports_[i] = PickFreeLoopbackPort();
        monitor_ports_[i] = PickFreeLoopbackPort();
      }
      started = StartNode(i, &error);
    }
    if (!started) {
      ADD_FAILURE() << "cannot start cluster node " << i << ": " << error;
      return;
    }
  }
  if (!WaitForJetStream(60000)) ADD_FAILURE() << "the NATS cluster did not form within 60 s";
}

NatsCluster::~NatsCluster() {
  for (auto& n : nodes_) {
    if (n) n->Stop();
  }
}

std::string NatsCluster::urls() const {
  std::string out;
  for (int i = 0; i < size(); ++i) out += (i ? "," : "") + url(i);
  return out;
}

int NatsCluster::NodeOfUrl(const std::string& u) const {
  for (int i = 0; i < size(); ++i) {
    if (u == url(i)) return i;
  }
  return -1;
}

bool NatsCluster::StartNode(int i, std::string* error) {
  std::string routes;
  for (int j = 0; j < size(); ++j) {
    if (j != i)
      routes += std::string(routes.empty() ? "" : ",") + "nats://127.0.0.1:" + std::to_string(route_ports_[j]);
  }
  EmbeddedNats::Options o;
  o.store_dir = dir_.path() + "/node" + std::to_string(i);
  o.log_file = dir_.path() + "/node" + std::to_string(i) + ".log";
  o.port = client_ports_[i];
  o.supervise = false;
  o.extra_args = {"--cluster_name", "ironflow-test", "--cluster", "nats://127.0.0.1:" + std::to_string(route_ports_[i]),
                  "--routes",       routes,          "-m",        std::to_string(monitor_ports_[i])};
  auto started = EmbeddedNats::Start(o);
  if (!started.ok()) {
    *error = started.status().message();
    return false;
  }
  nodes_[i] = std::move(started).value();
  return true;
}

void NatsCluster::Kill(int i) {
  if (!nodes_[i]) return;
  nodes_[i]->Signal(SIGKILL);
  nodes_[i]->Stop();  // reaps it
  nodes_[i].reset();
}

bool NatsCluster::Restart(int i) {
  if (nodes_[i] != nullptr) return true;
  std::string error;
  if (StartNode(i, &error)) return true;
  ADD_FAILURE() << "cannot restart cluster node " << i << ": " << error;
  return false;
}

bool NatsCluster::WaitForJetStream(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto nc = Connect(timeout_ms);
  if (!nc.ok()) return false;
  while (std::chrono::steady_clock::now() < deadline) {
    auto bucket = KvBucket::OpenOrCreate(**nc, {"cluster-probe", "", 1, size(), -1});
    if (bucket.ok() && (*bucket)->Put("probe", "1").ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));  // polling the cluster's state, not a sync sleep
  }
  return false;
}

Result<std::unique_ptr<NatsConnection>> NatsCluster::Connect(int connect_deadline_ms) {
  NatsConnection::Options o;
  o.url = urls();
  o.name = "ironflow-cluster-test";
  o.connect_deadline_ms = connect_deadline_ms;
  o.request_timeout_ms = 2000;
  return NatsConnection::Connect(o);
}

int NatsCluster::NodeNamed(const std::string& server_name) const {
  for (int i = 0; i < size(); ++i) {
    if (server_name == "ironflow-embedded-" + std::to_string(client_ports_[i])) return i;
  }
  return -1;
}

int NatsCluster::LeaderOf(const std::string& stream, const std::string& consumer) {
  auto nc = Connect();
  if (!nc.ok()) return -1;
  jsErrCode err = static_cast<jsErrCode>(0);
  std::string leader;
  if (consumer.empty()) {
    jsStreamInfo* info = nullptr;
    if (js_GetStreamInfo(&info, (*nc)->js(), stream.c_str(), nullptr, &err) != NATS_OK) return -1;
    leader = info->Cluster && info->Cluster->Leader ? info->Cluster->Leader : "";
    jsStreamInfo_Destroy(info);
  } else {
    jsConsumerInfo* info = nullptr;
    if (js_GetConsumerInfo(&info, (*nc)->js(), stream.c_str(), consumer.c_str(), nullptr, &err) != NATS_OK) return -1;
    leader = info->Cluster && info->Cluster->Leader ? info->Cluster->Leader : "";
    jsConsumerInfo_Destroy(info);
  }
  return NodeNamed(leader);
}

int NatsCluster::MetaLeader() {
  for (int i = 0; i < size(); ++i) {
    if (!running(i)) continue;
    auto http = HttpClient::Create("http://127.0.0.1:" + std::to_string(monitor_ports_[i]));
    if (!http.ok()) continue;
    auto res = (*http)->Send("GET", "/jsz", {}, {}, 2000);
    if (!res.ok() || res->status != 200) continue;
    auto doc = nlohmann::json::parse(res->body, nullptr, false);
    if (!doc.is_object() || !doc.contains("meta_cluster")) continue;
    if (const int leader = NodeNamed(doc["meta_cluster"].value("leader", "")); leader >= 0) return leader;
  }
  return -1;
}

}  // namespace ironflow::server::testing
