// Transport security: `ironflow serve --tls-cert/--tls-key` serves the API, the dashboard and pull-mode jobs
// (which carry secret values) over HTTPS only; clients verify the server against a CA file (--ca-file /
// IRONFLOW_CA_FILE) and the URL's host; push-mode deliveries to https:// apps verify the app (--push-ca-file).
// Everything runs against a real nats-server, a real server process and real SDK example processes.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "http/http_client.h"
#include "store/embedded_nats.h"
#include "support/child_process.h"
#include "support/nats_fixture.h"
#include "support/server_process.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace ironflow::server::testing {
namespace {

using nlohmann::json;

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(nats_.running());
    pki_ = dir_.path() + "/pki";
    ASSERT_EQ(std::system(("mkdir -p " + pki_).c_str()), 0);
    ASSERT_TRUE(MakeTestPki(pki_)) << "openssl could not make the test certificates";
  }

  // A server on HTTPS (plus `extra` flags).
  std::unique_ptr<ServerProcess> StartTlsServer(std::vector<std::string> extra = {}) {
    ServerProcess::Options o{nats_.url(), dir_.path() + "/data", NewMasterKey()};
    o.tls_cert = pki_ + "/server.pem";
    o.tls_key = pki_ + "/server.key";
    o.ca_file = pki_ + "/ca.pem";
    o.extra_args = std::move(extra);
    auto server = std::make_unique<ServerProcess>(o);
    std::string error;
    EXPECT_TRUE(server->Start(&error)) << error;
    return server;
  }

  json WaitRunDone(ApiClient& api, const std::string& run_id) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    json last;
    while (std::chrono::steady_clock::now() < deadline) {
      last = api.Call("GET", "/api/v1/runs/" + run_id).body;
      if (last.is_object() && (last["status"] == "completed" || last["status"] == "failed")) return last;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "run " << run_id << " did not finish; last: " << last.dump();
    return last;
  }

  bool WaitFunction(ApiClient& api, const std::string& id) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (api.Call("GET", "/api/v1/functions/" + id).status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  NatsFixture nats_;
  TempDir dir_;
  std::string pki_;
};

TEST_F(TlsTest, ApiIsServedOverHttpsToAClientThatTrustsTheCa) {
  auto server = StartTlsServer();
  ASSERT_EQ(server->url().rfind("https://", 0), 0u);
  ApiClient api(server->url(), server->api_key(), "default", pki_ + "/ca.pem");
  auto put = api.Call("PUT", "/api/v1/secrets/STRIPE_KEY", json{{"value", "sk-" + RandomHex(12)}});
  EXPECT_EQ(put.status, 201) << put.raw;
  auto list = api.Call("GET", "/api/v1/secrets");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body["secrets"][0]["name"], "STRIPE_KEY");
  // Browsers are told to stay on HTTPS; the dashboard comes over the same channel.
  EXPECT_EQ(list.header("strict-transport-security"), "max-age=31536000");
  EXPECT_EQ(api.Call("GET", "/").status, 200);
  EXPECT_NE(server->log().find("listening on https://"), std::string::npos);
}

TEST_F(TlsTest, EventStreamsWorkOverHttps) {
  auto server = StartTlsServer();
  auto client = HttpClient::Create(server->url(), pki_ + "/ca.pem");
  ASSERT_TRUE(client.ok());
  int status = 0;
  std::string received;
  Status st = (*client)->Stream(
      "/api/v1/stream?subject=system.%3E",
      {{"Authorization", "Bearer " + server->api_key()}, {"X-Ironflow-Environment", "default"}},
      [&](int s) { status = s; },
      [&](std::string_view data) {
        received.append(data);
        return received.find("subscribed") == std::string::npos;  // stop after the first frame
      },
      10000);
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(status, 200);
  EXPECT_NE(received.find("subscribed"), std::string::npos) << received;
}

TEST_F(TlsTest, ClientRefusesAServerItsCaDidNotSignAndSaysHowToFixIt) {
  auto server = StartTlsServer();
  for (const std::string& ca : {pki_ + "/other-ca.pem", std::string()}) {  // an unrelated CA; the system store
    auto client = HttpClient::Create(server->url(), ca);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    auto r = (*client)->Send("GET", "/readyz", {});
    ASSERT_FALSE(r.ok()) << "a server signed by an untrusted CA was accepted (ca " << ca << ")";
    EXPECT_NE(r.status().message().find("certificate verify failed"), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("--ca-file"), std::string::npos) << r.status().message();
  }
}

TEST_F(TlsTest, CertificateThatDoesNotNameTheHostIsRefused) {
  auto server = StartTlsServer();
  // The certificate names IP 127.0.0.1 only; "localhost" reaches the same socket but is not who it vouches for.
  auto client = HttpClient::Create("https://localhost:" + std::to_string(server->port()), pki_ + "/ca.pem");
  ASSERT_TRUE(client.ok());
  auto r = (*client)->Send("GET", "/readyz", {});
  ASSERT_FALSE(r.ok()) << "host name verification accepted a certificate for another host";
  EXPECT_NE(r.status().message().find("TLS handshake"), std::string::npos) << r.status().message();
}

TEST_F(TlsTest, PlainHttpToTheTlsPortGetsNoApiAndTheServerKeepsServing) {
  auto server = StartTlsServer();
  auto plain = HttpClient::Create("http://127.0.0.1:" + std::to_string(server->port()));
  ASSERT_TRUE(plain.ok());
  auto r = (*plain)->Send("GET", "/api/v1/secrets", {{"X-Ironflow-Environment", "default"}}, "", 5000);
  EXPECT_FALSE(r.ok() && r->status == 200) << "plain HTTP got an API answer from the TLS port";
  ApiClient api(server->url(), server->api_key(), "default", pki_ + "/ca.pem");
  EXPECT_EQ(api.Call("GET", "/api/v1/secrets").status, 200);
}

TEST_F(TlsTest, CliUsesHttpsWithCaFileAndFailsInOneLineWithout) {
  auto server = StartTlsServer();
  const std::string value = "sk-" + RandomHex(12);
  Env env{{"IRONFLOW_SERVER_URL", server->url()}, {"IRONFLOW_API_KEY", server->api_key()}};
  auto untrusted = RunIronflow({"secret", "list"}, env);
  EXPECT_EQ(untrusted.exit_code, 1);
  EXPECT_NE(untrusted.err.find("certificate verify failed"), std::string::npos) << untrusted.err;
  EXPECT_EQ(std::count(untrusted.err.begin(), untrusted.err.end(), '\n'), 1) << untrusted.err;

  auto set = RunIronflow({"--ca-file", pki_ + "/ca.pem", "secret", "set", "STRIPE_KEY"}, env, value);
  EXPECT_EQ(set.exit_code, 0) << set.err;
  env["IRONFLOW_CA_FILE"] = pki_ + "/ca.pem";
  auto list = RunIronflow({"secret", "list"}, env);
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("STRIPE_KEY"), std::string::npos) << list.out;
  for (const auto* out : {&set.out, &set.err, &list.out, &list.err}) EXPECT_EQ(out->find(value), std::string::npos);
}

TEST_F(TlsTest, PullWorkerOverHttpsReceivesItsDeclaredSecret) {
  auto server = StartTlsServer();
  ApiClient api(server->url(), server->api_key(), "default", pki_ + "/ca.pem");
  const std::string value = "sk-" + RandomHex(20);
  ASSERT_EQ(api.Call("PUT", "/api/v1/secrets/STRIPE_KEY", json{{"value", value}}).status, 201);
  ChildProcess worker(std::string(IRONFLOW_EXAMPLES_DIR) + "/payout_pull",
                      {{"IRONFLOW_SERVER_URL", server->url()},
                       {"IRONFLOW_API_KEY", server->api_key()},
                       {"IRONFLOW_CA_FILE", pki_ + "/ca.pem"}},
                      dir_.path() + "/worker.log");
  ASSERT_TRUE(WaitFunction(api, "payout")) << ReadFile(dir_.path() + "/worker.log");
  auto e = api.Call("POST", "/api/v1/events", json{{"name", "payout.requested"}, {"data", {{"amount", 5}}}});
  ASSERT_EQ(e.status, 202) << e.raw;
  json run = WaitRunDone(api, e.body["run_ids"][0]);
  EXPECT_EQ(run["status"], "completed") << run.dump();
  EXPECT_EQ(run["output"]["key_length"], value.size()) << run.dump();
  EXPECT_EQ(ReadFile(dir_.path() + "/worker.log").find(value), std::string::npos);
  EXPECT_EQ(server->log().find(value), std::string::npos);
}

TEST_F(TlsTest, PushDeliveryToAnHttpsAppVerifiesTheAppWithThePushCaFile) {
  auto server = StartTlsServer({"--push-ca-file", pki_ + "/ca.pem"});
  ApiClient api(server->url(), server->api_key(), "default", pki_ + "/ca.pem");
  const std::string value = "sk-" + RandomHex(20);
  ASSERT_EQ(api.Call("PUT", "/api/v1/secrets/STRIPE_KEY", json{{"value", value}}).status, 201);
  const std::string signing_key = api.Call("GET", "/api/v1/signing-key").body["signing_key"];
  const int port = PickFreeLoopbackPort();
  ChildProcess app(std::string(IRONFLOW_EXAMPLES_DIR) + "/payout_push",
                   {{"IRONFLOW_SERVER_URL", server->url()},
                    {"IRONFLOW_API_KEY", server->api_key()},
                    {"IRONFLOW_CA_FILE", pki_ + "/ca.pem"},
                    {"IRONFLOW_SIGNING_KEY", signing_key},
                    {"IRONFLOW_PUSH_TLS_CERT", pki_ + "/server.pem"},
                    {"IRONFLOW_PUSH_TLS_KEY", pki_ + "/server.key"}},
                   dir_.path() + "/push.log", {std::to_string(port)});
  ASSERT_TRUE(WaitFunction(api, "payout")) << ReadFile(dir_.path() + "/push.log");
  EXPECT_EQ(api.Call("GET", "/api/v1/functions/payout").body["url"].get<std::string>().rfind("https://", 0), 0u);
  auto e = api.Call("POST", "/api/v1/events", json{{"name", "payout.requested"}, {"data", {{"amount", 9}}}});
  ASSERT_EQ(e.status, 202) << e.raw;
  json run = WaitRunDone(api, e.body["run_ids"][0]);
  EXPECT_EQ(run["status"], "completed") << run.dump() << ReadFile(dir_.path() + "/push.log");
  EXPECT_EQ(run["output"]["key_length"], value.size()) << run.dump();
}

TEST_F(TlsTest, PushDeliveryToAnHttpsAppWithAnUntrustedCertificateFails) {
  auto server = StartTlsServer();  // no --push-ca-file: the system trust store does not know the test CA
  ApiClient api(server->url(), server->api_key(), "default", pki_ + "/ca.pem");
  ASSERT_EQ(api.Call("PUT", "/api/v1/secrets/STRIPE_KEY", json{{"value", "sk-" + RandomHex(8)}}).status, 201);
  const std::string signing_key = api.Call("GET", "/api/v1/signing-key").body["signing_key"];
  ChildProcess app(std::string(IRONFLOW_EXAMPLES_DIR) + "/payout_push",
                   {{"IRONFLOW_SERVER_URL", server->url()},
                    {"IRONFLOW_API_KEY", server->api_key()},
                    {"IRONFLOW_CA_FILE", pki_ + "/ca.pem"},
                    {"IRONFLOW_SIGNING_KEY", signing_key},
                    {"IRONFLOW_PUSH_TLS_CERT", pki_ + "/server.pem"},
                    {"IRONFLOW_PUSH_TLS_KEY", pki_ + "/server.key"}},
                   dir_.path() + "/push.log", {std::to_string(PickFreeLoopbackPort())});
  ASSERT_TRUE(WaitFunction(api, "payout")) << ReadFile(dir_.path() + "/push.log");
  // One attempt is enough to see the verdict: make the function give up after it.
  json fn = api.Call("GET", "/api/v1/functions/payout").body;
  ASSERT_EQ(api.Call("POST", "/api/v1/functions",
                     json{{"id", "payout"},
                          {"triggers", fn["triggers"]},
                          {"secrets", {"STRIPE_KEY"}},
                          {"mode", "push"},
                          {"url", fn["url"]},
                          {"retry", {{"max_attempts", 1}}}})
                    .status /
                100,
            2);
  auto e = api.Call("POST", "/api/v1/events", json{{"name", "payout.requested"}, {"data", json::object()}});
  json run = WaitRunDone(api, e.body["run_ids"][0]);
  EXPECT_EQ(run["status"], "failed") << run.dump();
  EXPECT_NE(run["error"].dump().find("certificate verify failed"), std::string::npos) << run.dump();
}

TEST_F(TlsTest, BadCertificateOrKeyIsRefusedAtStartWithTheFileNamed) {
  struct Case {
    std::vector<std::string> args;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {{"--tls-cert", pki_ + "/server.pem"}, "--tls-key"},
      {{"--tls-cert", pki_ + "/missing.pem", "--tls-key", pki_ + "/server.key"}, "missing.pem"},
      {{"--tls-cert", pki_ + "/server.pem", "--tls-key", pki_ + "/client.key"}, "client.key: key values mismatch"},
      {{"--tls-cert", pki_ + "/server.key", "--tls-key", pki_ + "/server.key"}, "server.key"},
  };
  const std::string master_key = NewMasterKey();
  for (const auto& c : cases) {
    ServerProcess::Options o{nats_.url(), dir_.path() + "/data", master_key};
    o.extra_args = c.args;
    ServerProcess refused(o);
    EXPECT_EQ(refused.RunUntilExit(), 1) << c.expect;
    EXPECT_NE(refused.log().find(c.expect), std::string::npos) << refused.log();
  }
}

TEST_F(TlsTest, PlainHttpOnANonLoopbackAddressStartsWithAWarning) {
  ServerProcess::Options o{nats_.url(), dir_.path() + "/data", NewMasterKey()};
  o.host = "0.0.0.0";
  ServerProcess server(o);
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  EXPECT_NE(server.log().find("serving plain HTTP on 0.0.0.0"), std::string::npos) << server.log();
}

}  // namespace
}  // namespace ironflow::server::testing
