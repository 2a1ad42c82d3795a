// The NATS version gate: INFO lines, version order, and the refusal of replicated storage on older nodes, with
// stub servers that answer a TCP connect with a fake INFO line (the accepting path needs a NATS newer than the
// one Debian 12 ships).
#include "server/nats_version_gate.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "store/nats_connection.h"
#include "store/nats_server_info.h"

namespace ironflow::server {
namespace {

// Accepts connections on a loopback port and writes `info_line` to each, then closes it.
class StubNatsServer {
 public:
  StubNatsServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(fd_, 16);
  }
  ~StubNatsServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    if (thread_.joinable()) thread_.join();
  }
  void Serve(std::string info_line) {
    thread_ = std::thread([this, info_line] {
      for (;;) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        ::send(c, info_line.data(), info_line.size(), MSG_NOSIGNAL);
        ::close(c);
      }
    });
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

std::string InfoLine(const std::string& id, const std::string& version, const std::string& peers_json = "[]") {
  return "INFO {\"server_id\":\"" + id + "\",\"server_name\":\"n-" + id + "\",\"version\":\"" + version +
         "\",\"proto\":1,\"jetstream\":true,\"connect_urls\":" + peers_json + "}\r\n";
}

TEST(NatsVersions, CompareNumericallyWithPreReleasesBeforeTheirRelease) {
  EXPECT_LT(CompareNatsVersions("2.9.10", "2.9.21"), 0);
  EXPECT_LT(CompareNatsVersions("2.9.21", "2.10.19"), 0);  // not a string comparison
  EXPECT_LT(CompareNatsVersions("2.10.19", "2.10.20"), 0);
  EXPECT_EQ(CompareNatsVersions("v2.10.20", "2.10.20"), 0);
  EXPECT_LT(CompareNatsVersions("2.10.20-RC.3", "2.10.20"), 0);
  EXPECT_GT(CompareNatsVersions("2.11.0", "2.10.20"), 0);
  EXPECT_GT(CompareNatsVersions("2.10.20-beta", "2.10.19"), 0);
}

TEST(NatsInfoLine, VersionIdAndPeersAreReadAndAnythingElseIsRefused) {
  auto info = ParseNatsInfoLine(InfoLine("NABC", "2.9.10", "[\"10.0.0.2:4222\",\"10.0.0.3:4222\"]"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->server_id, "NABC");
  EXPECT_EQ(info->version, "2.9.10");
  EXPECT_EQ(info->connect_urls, (std::vector<std::string>{"10.0.0.2:4222", "10.0.0.3:4222"}));
  EXPECT_FALSE(ParseNatsInfoLine("PING\r\n").ok());
  EXPECT_FALSE(ParseNatsInfoLine("INFO {not json}\r\n").ok());
  EXPECT_FALSE(ParseNatsInfoLine("INFO {\"server_id\":\"X\"}\r\n").ok()) << "an INFO without a version passed";
  EXPECT_FALSE(ParseNatsInfoLine("INFO " + std::string(100, '[') + std::string(100, ']')).ok());
}

TEST(NatsErrorText, LosesNatsCsSourceLocationAndKeepsEverythingElse) {
  EXPECT_EQ(WithoutNatsSourceLocation("(jsm.c:1520): JetStream system temporarily unavailable"),
            "JetStream system temporarily unavailable");
  EXPECT_EQ(WithoutNatsSourceLocation("(kv.c:88): wrong last sequence: 7"), "wrong last sequence: 7");
  // Text that only looks a little like it is someone else's words: kept whole.
  EXPECT_EQ(WithoutNatsSourceLocation("(not a location): x"), "(not a location): x");
  EXPECT_EQ(WithoutNatsSourceLocation("(a.c:12x): x"), "(a.c:12x): x");
  EXPECT_EQ(WithoutNatsSourceLocation("timeout"), "timeout");
  EXPECT_EQ(WithoutNatsSourceLocation(""), "");
}

TEST(NatsUrls, ListsSplitTrimmedAndHostPortLosesSchemeAndCredentials) {
  EXPECT_EQ(SplitNatsUrls(" nats://a:4222, nats://b:4223 ,,"),
            (std::vector<std::string>{"nats://a:4222", "nats://b:4223"}));
  EXPECT_TRUE(SplitNatsUrls(" , ").empty());
  EXPECT_EQ(NatsUrlHostPort("nats://user:pw@host.example:4333"), "host.example:4333");
  EXPECT_EQ(NatsUrlHostPort("tls://host.example"), "host.example:4222");
  EXPECT_EQ(NatsUrlHostPort("[::1]:4222"), "[::1]:4222");
  EXPECT_EQ(NatsUrlHostPort("[::1]"), "[::1]:4222");
}

TEST(NatsVersionGate, ReplicatedStorageStartsWhenEveryNodeTheClusterNamesIsNewEnough) {
  StubNatsServer a, b;
  a.Serve(InfoLine("NODEA", "2.10.22", "[\"" + b.address() + "\"]"));
  b.Serve(InfoLine("NODEB", "2.11.4", "[\"" + a.address() + "\"]"));
  // Only the first node is configured: the second is found through the first one's connect_urls.
  NatsSurvey survey = SurveyNatsServers({"nats://" + a.address()}, 2000);
  ASSERT_EQ(survey.reached.size(), 2u) << DescribeSurvey(survey);
  EXPECT_TRUE(CheckReplicatedCas(survey, 3).ok()) << CheckReplicatedCas(survey, 3).message();
}

TEST(NatsVersionGate, ReplicatedStorageIsRefusedWhenAnyNodeIsOlderNamingVersionsIssueAndWaysOut) {
  StubNatsServer a, b;
  a.Serve(InfoLine("NODEA", "2.10.22", "[\"" + b.address() + "\"]"));
  b.Serve(InfoLine("NODEB", "2.9.10"));
  NatsSurvey survey = SurveyNatsServers({a.address()}, 2000);
  Status gate = CheckReplicatedCas(survey, 3);
  ASSERT_FALSE(gate.ok());
  for (const char* needed : {"2.9.10", "2.10.22", "NODEB", "nats-server#4320", "2.10.20", "--kv-replicas 1",
                             "Upgrade NATS", "--allow-unsafe-replicated-cas"}) {
    EXPECT_NE(gate.message().find(needed), std::string::npos) << "missing '" << needed << "': " << gate.message();
  }
  EXPECT_TRUE(CheckReplicatedCas(survey, 1).ok()) << "single-replica storage does not need the newer NATS";
}

TEST(NatsVersionGate, NoNodeAnsweringCountsAsUnverifiedAndIsRefused) {
  // Port 1 on loopback: nothing listens there (tcpmux), so the connect is refused at once.
  NatsSurvey survey = SurveyNatsServers({"nats://127.0.0.1:1"}, 500);
  EXPECT_TRUE(survey.reached.empty());
  EXPECT_EQ(survey.unreachable.size(), 1u);
  EXPECT_FALSE(CheckReplicatedCas(survey, 3).ok());
}

}  // namespace
}  // namespace ironflow::server
