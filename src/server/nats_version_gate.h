// The NATS version gate for replicated storage.
//
// Compare-and-set on a replicated (R3) stream is exact only from nats-server 2.10.20: before 2.9.21 the
// expected-last-subject-sequence check ran outside Raft (nats-server#4320, fixed by #4319), and before 2.10.19
// a create-only write (expected sequence 0) could still drift between leader and followers (#5794); 2.10.20
// fixed a KV compare-and-set regression 2.10.19 brought (#5841). With --kv-replicas > 1 the server surveys every
// NATS node it can reach (the configured URLs and the peers their INFO lines name) and refuses to start if one is
// older, unless --allow-unsafe-replicated-cas. Single-replica storage has no such need.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "store/nats_server_info.h"

namespace ironflow::server {

inline constexpr const char* kMinReplicatedCasNatsVersion = "2.10.20";

struct NatsSurvey {
  std::vector<NatsServerInfo> reached;   // one entry per server id
  std::vector<std::string> unreachable;  // host:port that did not answer with an INFO line
};

// Probes each seed URL, then every peer named in the answers' connect_urls, each server once.
NatsSurvey SurveyNatsServers(const std::vector<std::string>& seed_urls, int timeout_ms);

// OK when kv_replicas is 1, or when at least one node was reached and none is older than the minimum. Otherwise
// an error naming the versions found, nats-server#4320 and the two ways out (upgrade, or --kv-replicas 1).
Status CheckReplicatedCas(const NatsSurvey& survey, int kv_replicas);

// "2.9.10 at 127.0.0.1:4222 (NAB...)" for each node: for logs and errors.
std::string DescribeSurvey(const NatsSurvey& survey);

}  // namespace ironflow::server
