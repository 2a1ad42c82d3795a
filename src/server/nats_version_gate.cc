#include "server/nats_version_gate.h"

#include <set>

namespace ironflow::server {

NatsSurvey SurveyNatsServers(const std::vector<std::string>& seed_urls, int timeout_ms) {
  NatsSurvey survey;
  std::vector<std::string> queue;
  for (const auto& url : seed_urls) queue.push_back(NatsUrlHostPort(url));
  std::set<std::string> probed, server_ids;
  constexpr size_t kMaxProbes = 32;  // a cluster bigger than this has the same versions further on
  for (size_t i = 0; i < queue.size() && probed.size() < kMaxProbes; ++i) {
    const std::string address = queue[i];
    if (!probed.insert(address).second) continue;
    auto info = ProbeNatsServer(address, timeout_ms);
    if (!info.ok()) {
      survey.unreachable.push_back(address);
      continue;
    }
    for (const auto& peer : info->connect_urls) queue.push_back(NatsUrlHostPort(peer));
    if (server_ids.insert(info->server_id).second) survey.reached.push_back(std::move(info).value());
  }
  return survey;
}

std::string DescribeSurvey(const NatsSurvey& survey) {
  std::string out;
  for (const auto& s : survey.reached) {
    if (!out.empty()) out += ", ";
    out += s.version + " at " + s.address + " (" + s.server_id + ")";
  }
  for (const auto& a : survey.unreachable) {
    if (!out.empty()) out += ", ";
    out += "no answer from " + a;
  }
  return out.empty() ? "no NATS server" : out;
}

Status CheckReplicatedCas(const NatsSurvey& survey, int kv_replicas) {
  if (kv_replicas <= 1) return Status::Ok();
  bool too_old = survey.reached.empty();
  for (const auto& s : survey.reached) {
    if (CompareNatsVersions(s.version, kMinReplicatedCasNatsVersion) < 0) too_old = true;
  }
  if (!too_old) return Status::Ok();
  return Status::PreconditionFailed(
      "--kv-replicas " + std::to_string(kv_replicas) + " needs nats-server " + kMinReplicatedCasNatsVersion +
      " or newer on every node: older servers let two concurrent compare-and-set writes on a replicated stream "
      "both succeed (nats-server#4320; fixed by #4319 in 2.9.21 and #5794 in 2.10.19, with a regression fixed in "
      "2.10.20), so If-Match, counters, PATCH and job leases would not be exact. Found: " +
      DescribeSurvey(survey) +
      ". Upgrade NATS, or run with --kv-replicas 1. "
      "(--allow-unsafe-replicated-cas starts anyway: for tests and staging only.)");
}

}  // namespace ironflow::server
