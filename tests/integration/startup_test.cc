// `ironflow serve` start-up: unsafe configurations are refused with clear messages; the embedded NATS child is
// supervised; dev-mode data migrates when a key is set.
#include <dirent.h>
#include <gtest/gtest.h>
#include <nats/nats.h>
#include <signal.h>

#include <cstdlib>
#include <regex>
#include <thread>

#include "server/nats_version_gate.h"
#include "store/nats_server_info.h"
#include "support/nats_fixture.h"
#include "support/server_process.h"
#include "support/test_pki.h"

namespace ironflow::server::testing {
namespace {

using nlohmann::json;

TEST(StartupTest, WrongMasterKeyRefusesToStartNamingBothKeyIdsAndChangesNothing) {
  NatsFixture nats;
  TempDir data;
  std::string key_a = NewMasterKey(), key_b = NewMasterKey();
  ServerProcess first({nats.url(), data.path() + "/d", key_a});
  std::string error;
  ASSERT_TRUE(first.Start(&error)) << error;
  ApiClient api(first.url(), first.api_key());
  ASSERT_EQ(api.Call("PUT", "/api/v1/secrets/K", json{{"value", "v-" + RandomHex(8)}}).status, 201);
  std::string status_a = api.Call("GET", "/api/v1/status").body["encryption"]["key_id"];
  first.Stop();

  ServerProcess second({nats.url(), data.path() + "/d", key_b});
  EXPECT_EQ(second.RunUntilExit(), 1);
  std::string log = second.log();
  EXPECT_NE(log.find(status_a), std::string::npos) << "the stored key id is not named:\n" << log;
  EXPECT_NE(log.find("refusing to start"), std::string::npos) << log;
  EXPECT_EQ(log.find(key_a), std::string::npos);
  EXPECT_EQ(log.find(key_b), std::string::npos);

  // The original key still works and the data is intact.
  ServerProcess third({nats.url(), data.path() + "/d", key_a});
  ASSERT_TRUE(third.Start(&error)) << error;
  ApiClient again(third.url(), third.api_key());
  EXPECT_EQ(again.Call("GET", "/api/v1/secrets/K").status, 200);
}

TEST(StartupTest, MalformedMasterKeyIsRefusedWithoutEchoingIt) {
  NatsFixture nats;
  TempDir data;
  for (std::string bad :
       {std::string(63, 'a'), std::string(65, 'b'), std::string(62, 'c') + "zz", std::string("tooshort")}) {
    ServerProcess s({nats.url(), data.path() + "/d", bad});
    EXPECT_EQ(s.RunUntilExit(), 1) << bad;
    std::string log = s.log();
    EXPECT_NE(log.find("IRONFLOW_MASTER_KEY"), std::string::npos) << log;
    EXPECT_EQ(log.find(bad), std::string::npos) << "the malformed key was echoed";
  }
}

TEST(StartupTest, DevAuthOnNonLoopbackAddressIsRefused) {
  NatsFixture nats;
  TempDir data;
  ServerProcess::Options o{nats.url(), data.path() + "/d", NewMasterKey(), /*dev_auth=*/true};
  o.host = "0.0.0.0";
  ServerProcess s(o);
  EXPECT_EQ(s.RunUntilExit(), 1);
  EXPECT_NE(s.log().find("--dev"), std::string::npos) << s.log();
}

TEST(StartupTest, PlaintextOnNonLoopbackNeedsAllowPlaintext) {
  NatsFixture nats;
  TempDir data;
  ServerProcess::Options o{nats.url(), data.path() + "/d", ""};
  o.host = "0.0.0.0";
  ServerProcess refused(o);
  EXPECT_EQ(refused.RunUntilExit(), 1);
  EXPECT_NE(refused.log().find("--allow-plaintext"), std::string::npos) << refused.log();

  o.extra_args = {"--allow-plaintext"};
  ServerProcess allowed(o);
  std::string error;
  ASSERT_TRUE(allowed.Start(&error)) << error;
  EXPECT_NE(allowed.log().find("UNENCRYPTED"), std::string::npos);
  ApiClient api(allowed.url(), allowed.api_key());
  EXPECT_EQ(api.Call("GET", "/api/v1/status").body["encryption"]["enabled"], false);
}

TEST(StartupTest, DevModeDataIsReencryptedWhenAKeyIsSetAndDevModeCannotReturn) {
  NatsFixture nats;
  TempDir data;
  std::string value = "dev-" + RandomHex(12);
  {
    ServerProcess dev({nats.url(), data.path() + "/d", ""});
    std::string error;
    ASSERT_TRUE(dev.Start(&error)) << error;
    ApiClient api(dev.url(), dev.api_key());
    auto c = api.Call("PUT", "/api/v1/secrets/LEGACY", json{{"value", value}});
    ASSERT_EQ(c.status, 201);
    EXPECT_EQ(c.body["encrypted"], false);
    EXPECT_TRUE(c.body["key_id"].is_null());
  }
  std::string key = NewMasterKey();
  {
    ServerProcess keyed({nats.url(), data.path() + "/d", key});
    std::string error;
    ASSERT_TRUE(keyed.Start(&error)) << error;
    EXPECT_NE(keyed.log().find("re-encrypted 1 secret(s)"), std::string::npos) << keyed.log();
    ApiClient api(keyed.url(), keyed.api_key());
    auto m = api.Call("GET", "/api/v1/secrets/LEGACY");
    EXPECT_EQ(m.body["encrypted"], true);
    EXPECT_EQ(m.body["key_id"], api.Call("GET", "/api/v1/status").body["encryption"]["key_id"]);
    EXPECT_EQ(keyed.log().find(value), std::string::npos);
  }
  // Now the store holds encrypted data: starting without a key is refused.
  ServerProcess dev_again({nats.url(), data.path() + "/d", ""});
  EXPECT_EQ(dev_again.RunUntilExit(), 1);
  EXPECT_NE(dev_again.log().find("IRONFLOW_MASTER_KEY is not set"), std::string::npos) << dev_again.log();
}

// Finds the pid of the nats-server started for `port` by scanning /proc.
pid_t FindNatsChild(int port) {
  std::string needle = "ironflow-embedded-" + std::to_string(port);
  DIR* d = opendir("/proc");
  pid_t found = -1;
  while (dirent* e = readdir(d)) {
    std::string cmd = ReadFile(std::string("/proc/") + e->d_name + "/cmdline");
    for (auto& c : cmd)
      if (c == '\0') c = ' ';
    if (cmd.find(needle) != std::string::npos && cmd.find("nats-server") != std::string::npos)
      found = std::atoi(e->d_name);
  }
  closedir(d);
  return found;
}

TEST(StartupTest, EmbeddedNatsIsSupervisedRestartedAndStoppedWithTheServer) {
  TempDir data;
  ServerProcess server({"", data.path() + "/d", NewMasterKey()});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  std::smatch m;
  std::string log = server.log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex("nats://127\\.0\\.0\\.1:(\\d+)"))) << log;
  int nats_port = std::stoi(m[1]);
  pid_t child = FindNatsChild(nats_port);
  ASSERT_GT(child, 0);
  EXPECT_TRUE(std::filesystem::exists(data.path() + "/d/nats/jetstream"));

  ApiClient api(server.url(), server.api_key());
  ASSERT_EQ(api.Call("PUT", "/api/v1/secrets/SURVIVES", json{{"value", "x-" + RandomHex(8)}}).status, 201);
  kill(child, SIGKILL);
  // Wait (bounded) until the supervisor has restarted it and the client has reconnected.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool back = false;
  while (std::chrono::steady_clock::now() < deadline) {
    auto metrics = api.Call("GET", "/metrics").raw;
    if (metrics.find("ironflow_embedded_nats_restarts_total 1") != std::string::npos &&
        api.Call("GET", "/api/v1/secrets/SURVIVES").status == 200) {
      back = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(back) << "the embedded nats-server was not restarted, or the data did not survive";
  pid_t restarted = FindNatsChild(nats_port);
  EXPECT_GT(restarted, 0);
  EXPECT_NE(restarted, child);

  EXPECT_EQ(server.Stop(), 0);
  EXPECT_EQ(FindNatsChild(nats_port), -1) << "nats-server outlived ironflow serve";
}

TEST(StartupTest, ServerThatLostNatsStillStopsPromptlyOnSigterm) {
  // An orchestrator stops servers during NATS outages too; waiting out every store timeout on the way down
  // (one per watch, one per unfinished run) would turn SIGTERM into SIGKILL.
  NatsFixture nats;
  TempDir data;
  ServerProcess server({nats.url(), data.path() + "/d", NewMasterKey()});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  ApiClient api(server.url(), server.api_key());
  ASSERT_EQ(
      api.Call("POST", "/api/v1/functions", json{{"id", "f"}, {"triggers", {{{"event", "e.x"}}}}, {"mode", "pull"}})
          .status,
      201);
  ASSERT_EQ(api.Call("POST", "/api/v1/events", json{{"name", "e.x"}, {"data", 1}}).status, 202);  // an unfinished run
  nats.Stop();
  // Wait (bounded) until the server has noticed: readiness reports NATS as disconnected.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline && api.Call("GET", "/readyz").status == 200) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto not_ready = api.Call("GET", "/readyz");
  ASSERT_EQ(not_ready.status, 503) << "the server never noticed NATS was gone";
  EXPECT_FALSE(not_ready.header("retry-after").empty()) << "a 503 must say when to come back";
  EXPECT_EQ(server.Stop(), 0) << "SIGTERM did not end the server within 10 s (it was killed):\n" << server.log();
  EXPECT_NE(server.log().find("NATS is unreachable at shutdown"), std::string::npos) << server.log();
}

TEST(StartupTest, MalformedTrustedProxyIsRefusedNamingIt) {
  TempDir data;
  ServerProcess::Options o{"", data.path() + "/d", NewMasterKey()};
  o.extra_args = {"--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "lb.internal"};
  ServerProcess server(o);
  EXPECT_EQ(server.RunUntilExit(), 1);
  EXPECT_NE(server.log().find("trusted proxy \"lb.internal\" is neither an IP address nor a CIDR network"),
            std::string::npos)
      << server.log();
}

TEST(StartupTest, HttpIoThreadCountOutsideItsRangeIsRefusedNamingTheFlag) {
  for (const char* count : {"0", "65"}) {
    TempDir data;
    ServerProcess::Options o{"", data.path() + "/d", NewMasterKey()};
    o.extra_args = {"--http-io-threads", count};
    ServerProcess server(o);
    EXPECT_EQ(server.RunUntilExit(), 1) << count;
    EXPECT_NE(server.log().find("--http-io-threads"), std::string::npos) << server.log();
  }
}

TEST(StartupTest, MissingNatsServerBinaryNamesTheDebianPackage) {
  TempDir data;
  // IRONFLOW_NATS_SERVER points the embedded mode at a binary; a missing one must be reported clearly.
  auto r = RunIronflow({"serve", "--data-dir", data.path() + "/d", "--port", "0"},
                       {{"IRONFLOW_NATS_SERVER", "/nonexistent/nats-server"}, {"IRONFLOW_MASTER_KEY", NewMasterKey()}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("apt-get install nats-server"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ironflow::server::testing

namespace ironflow::server::testing {
namespace {

TEST(NatsUrls, ServerStartsWhenTheFirstListedNatsIsDeadAndReportsTheOneInUse) {
  NatsFixture nats;
  TempDir data;
  const int dead = PickFreeLoopbackPort();
  const std::string urls = "nats://127.0.0.1:" + std::to_string(dead) + ", " + nats.url();
  ServerProcess server({urls, data.path() + "/d", NewMasterKey()});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  ApiClient api(server.url(), server.api_key());
  EXPECT_EQ(api.Call("PUT", "/api/v1/secrets/K", json{{"value", "v-" + RandomHex(8)}}).status, 201);
  const json status = api.Call("GET", "/api/v1/status").body["nats"];
  EXPECT_EQ(status["url"], nats.url()) << status.dump();
  EXPECT_FALSE(status["server_id"].get<std::string>().empty());
  auto info = ProbeNatsServer(nats.url(), 2000);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(status["version"], info->version) << status.dump();
  EXPECT_EQ(status["server_id"], info->server_id);
  EXPECT_EQ(status["jetstream_writable"], true);
}

TEST(NatsUrls, NoReachableNatsIsRefusedNamingTheUrlsWithoutTheirPasswords) {
  TempDir data;
  const std::string urls = "nats://ironflow:hunter2pw@127.0.0.1:" + std::to_string(PickFreeLoopbackPort()) +
                           ",nats://127.0.0.1:" + std::to_string(PickFreeLoopbackPort());
  ServerProcess server({urls, data.path() + "/d", NewMasterKey()});
  EXPECT_EQ(server.RunUntilExit(30000), 1);
  EXPECT_NE(server.log().find("cannot connect to NATS"), std::string::npos) << server.log();
  EXPECT_EQ(server.log().find("hunter2pw"), std::string::npos) << "a NATS password reached the log";
}

TEST(NatsVersionGate, ReplicatedStorageOnThisNatsFollowsTheGate) {
  // Debian 12's nats-server (2.9.10) is older than the minimum: refused, naming the version and the way out. On
  // a newer NATS the gate lets it through and the single node then cannot place 3 replicas.
  NatsFixture nats;
  TempDir data;
  auto info = ProbeNatsServer(nats.url(), 2000);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ServerProcess server({nats.url(), data.path() + "/d", NewMasterKey(), false, {"--kv-replicas", "3"}});
  EXPECT_EQ(server.RunUntilExit(), 1);
  const std::string log = server.log();
  if (CompareNatsVersions(info->version, kMinReplicatedCasNatsVersion) < 0) {
    EXPECT_NE(log.find("needs nats-server " + std::string(kMinReplicatedCasNatsVersion)), std::string::npos) << log;
    EXPECT_NE(log.find(info->version + " at 127.0.0.1:"), std::string::npos) << log;
    EXPECT_NE(log.find("nats-server#4320"), std::string::npos) << log;
  } else {
    EXPECT_EQ(log.find("nats-server#4320"), std::string::npos) << log;
  }
}

TEST(DevModeGuard, WithoutAuthenticationOnlyLoopbackHostsAndOriginsAreServed) {
  NatsFixture nats;
  TempDir data;
  ServerProcess::Options o{nats.url(), data.path() + "/d", NewMasterKey(), /*dev_auth=*/true};
  ServerProcess server(o);
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  ApiClient api(server.url(), "");
  EXPECT_EQ(api.Call("GET", "/api/v1/secrets").status, 200) << "127.0.0.1 is served";
  EXPECT_EQ(api.Call("GET", "/api/v1/secrets", std::string(), {{"Host", "localhost:9123"}}).status, 200);
  // A rebinding attack: the browser sends the attacker's host name although it resolved to 127.0.0.1.
  auto rebound = api.Call("GET", "/api/v1/secrets", std::string(), {{"Host", "evil.example:9123"}});
  EXPECT_EQ(rebound.status, 403) << rebound.raw;
  EXPECT_EQ(rebound.body["error"]["code"], "permission_denied");
  EXPECT_EQ(api.Call("PUT", "/api/v1/secrets/X", json{{"value", "v"}}, {{"Origin", "http://evil.example"}}).status,
            403);
  EXPECT_EQ(api.Call("GET", "/api/v1/secrets/X").status, 404) << "the cross-origin write changed nothing";
  EXPECT_EQ(api.Call("GET", "/api/v1/secrets", std::string(), {{"Origin", "null"}}).status, 403);
  EXPECT_EQ(api.Call("GET", "/api/v1/secrets", std::string(), {{"Origin", "http://localhost:9123"}}).status, 200);
}

}  // namespace
}  // namespace ironflow::server::testing

namespace ironflow::server::testing {
namespace {

// The audit stream's retention follows --audit-retention-days, also for a stream that already exists.
TEST(AuditRetention, RetentionFlagsApplyToTheExistingAuditStreamAndRunsBucket) {
  NatsFixture nats;
  TempDir data;
  auto max_age_days = [&](const std::string& stream = "IRONFLOW_SYSTEM") -> int64_t {
    auto nc = nats.Connect();
    natsMsg* msg = nullptr;
    if (natsConnection_RequestString(&msg, nc->raw(), ("$JS.API.STREAM.INFO." + stream).c_str(), "", 5000) != NATS_OK)
      return -1;
    json info = json::parse(std::string(natsMsg_GetData(msg), natsMsg_GetDataLength(msg)), nullptr, false);
    natsMsg_Destroy(msg);
    return info["config"].value("max_age", int64_t{0}) / (int64_t{86400} * 1000000000);
  };
  std::string key = NewMasterKey(), error;
  {
    ServerProcess first({nats.url(), data.path() + "/d", key});
    ASSERT_TRUE(first.Start(&error)) << error;
  }
  EXPECT_EQ(max_age_days(), 30);
  EXPECT_EQ(max_age_days("KV_ironflow-runs"), 30) << "the default run retention is 30 days";
  ServerProcess::Options o{nats.url(), data.path() + "/d", key};
  o.extra_args = {"--audit-retention-days", "7", "--run-retention-days", "3"};
  {
    ServerProcess second(o);
    ASSERT_TRUE(second.Start(&error)) << error;
  }
  EXPECT_EQ(max_age_days(), 7);
  EXPECT_EQ(max_age_days("KV_ironflow-runs"), 3);
  for (const char* flag : {"--audit-retention-days", "--run-retention-days"}) {
    o.extra_args = {flag, "0"};
    ServerProcess bad(o);
    EXPECT_EQ(bad.RunUntilExit(), 1) << flag;
  }
  o.extra_args = {"--run-retention-days", "1"};  // shorter than the longest retry delay
  ServerProcess too_short(o);
  EXPECT_EQ(too_short.RunUntilExit(), 1);
  EXPECT_EQ(max_age_days("KV_ironflow-runs"), 3) << "a refused start changed the retention";
}

}  // namespace
}  // namespace ironflow::server::testing

namespace ironflow::server::testing {
namespace {

// A secured external NATS: the server requires TLS with a client certificate; ironflow joins it with
// --nats-tls-ca/--nats-tls-cert/--nats-tls-key and works as usual. Without the client certificate it cannot.
TEST(SecuredNats, ServerJoinsANatsThatRequiresMutualTls) {
  TempDir dir;
  const std::string d = dir.path();
  ASSERT_TRUE(MakeTestPki(d)) << "openssl could not make the test certificates";
  EmbeddedNats::Options no;
  no.store_dir = d + "/store";
  no.log_file = d + "/nats.log";
  no.supervise = false;
  no.extra_args = {"--tls",           "--tlscert",   d + "/server.pem", "--tlskey",
                   d + "/server.key", "--tlsverify", "--tlscacert",     d + "/ca.pem"};
  auto nats = EmbeddedNats::Start(no);
  ASSERT_TRUE(nats.ok()) << nats.status().ToString();

  ServerProcess::Options o{(*nats)->url(), d + "/data", NewMasterKey()};
  o.extra_args = {"--nats-tls-ca",   d + "/ca.pem",    "--nats-tls-cert",
                  d + "/client.pem", "--nats-tls-key", d + "/client.key"};
  ServerProcess server(o);
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error << "\n" << ReadFile(d + "/nats.log");
  ApiClient api(server.url(), server.api_key());
  EXPECT_EQ(api.Call("PUT", "/api/v1/secrets/K", json{{"value", "v-" + RandomHex(8)}}).status, 201);
  EXPECT_TRUE(api.Call("GET", "/api/v1/status").body["nats"]["connected"].get<bool>());
  server.Stop();

  // Half a TLS configuration is refused at once, with the flag named.
  ServerProcess::Options half = o;
  half.extra_args = {"--nats-tls-ca", d + "/ca.pem", "--nats-tls-cert", d + "/client.pem"};
  ServerProcess refused(half);
  EXPECT_EQ(refused.RunUntilExit(), 1);
  EXPECT_NE(refused.log().find("--nats-tls-key"), std::string::npos) << refused.log();
}

}  // namespace
}  // namespace ironflow::server::testing
