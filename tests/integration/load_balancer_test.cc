// deploy/nginx/ironflow.conf, used as shipped (only the upstream addresses and the listen port replaced), in
// front of two servers on one NATS: Server-Sent Events arrive frame by frame (no proxy buffering), a worker long
// poll is held for its full wait and answered by a server, and with one server down every request is still
// answered.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <regex>

#include "store/embedded_nats.h"
#include "support/api_fixture.h"
#include "support/child_process.h"
#include "support/sse_reader.h"

namespace ironflow::server::testing {
namespace {

using nlohmann::json;

// nginx from scripts/install-test-deps.sh (only the binary, no service), or the system's.
std::string NginxBinary() {
  for (const char* p : {"/usr/local/lib/ironflow-test-tools/nginx", "/usr/sbin/nginx"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "";
}

// The shipped config with the test's upstreams and port, wrapped in a minimal nginx.conf (no daemon, one process,
// everything under `dir`).
std::string WriteNginxConfig(const std::string& dir, const std::vector<int>& upstream_ports, int listen_port) {
  std::string conf = ReadFile(IRONFLOW_SOURCE_DIR "/deploy/nginx/ironflow.conf");
  // The example upstream lines become the test's servers.
  const std::regex example_servers(R"((    server 10\.0\.0\.\d+:9123 [^\n]*\n)+)");
  std::string servers;
  for (int port : upstream_ports) {
    servers += "    server 127.0.0.1:" + std::to_string(port) + " max_fails=1 fail_timeout=10s;\n";
  }
  conf = std::regex_replace(conf, example_servers, servers);
  conf = std::regex_replace(conf, std::regex(R"(listen 80;)"), "listen 127.0.0.1:" + std::to_string(listen_port) + ";");
  std::ofstream(dir + "/ironflow.conf") << conf;
  std::ofstream(dir + "/nginx.conf") << "daemon off;\nmaster_process off;\nerror_log " << dir
                                     << "/error.log info;\npid " << dir << "/nginx.pid;\n"
                                     << "events { worker_connections 256; }\nhttp {\n  access_log " << dir
                                     << "/access.log;\n  client_body_temp_path " << dir << "/body;\n  proxy_temp_path "
                                     << dir << "/proxy;\n  fastcgi_temp_path " << dir << "/fastcgi;\n  uwsgi_temp_path "
                                     << dir << "/uwsgi;\n  scgi_temp_path " << dir << "/scgi;\n  include " << dir
                                     << "/ironflow.conf;\n}\n";
  return conf;
}

TEST(LoadBalancerTest, ShippedNginxConfigStreamsEventsHoldsLongPollsAndSurvivesAServerLoss) {
  const std::string nginx = NginxBinary();
  ASSERT_FALSE(nginx.empty()) << "nginx not found: run scripts/install-test-deps.sh";
  NatsFixture nats;
  TempDir dir;
  const std::string key = NewMasterKey();
  ServerProcess::Options a_opts{nats.url(), dir.path() + "/a", key};
  a_opts.extra_args = {"--trusted-proxy", "127.0.0.1"};
  ServerProcess a(a_opts);
  std::string error;
  ASSERT_TRUE(a.Start(&error)) << error;
  ServerProcess::Options b_opts = a_opts;
  b_opts.data_dir = dir.path() + "/b";
  ServerProcess b(b_opts);
  ASSERT_TRUE(b.Start(&error)) << error;

  const int port = PickFreeLoopbackPort();
  ASSERT_GT(port, 0);
  WriteNginxConfig(dir.path(), {a.port(), b.port()}, port);
  ChildProcess proxy(nginx, {{"PATH", "/usr/bin:/bin"}}, dir.path() + "/nginx.out",
                     {"-p", dir.path() + "/", "-e", dir.path() + "/error.log", "-c", dir.path() + "/nginx.conf"});
  const std::string lb = "http://127.0.0.1:" + std::to_string(port);
  ApiClient api(lb, a.api_key());
  // nginx is up when it answers (bounded wait for its start).
  int ready = 0;
  for (int i = 0; i < 100 && ready != 200; ++i) {
    ready = api.Call("GET", "/readyz").status;
    if (ready != 200) usleep(50 * 1000);
  }
  ASSERT_EQ(ready, 200) << ReadFile(dir.path() + "/error.log") << ReadFile(dir.path() + "/nginx.out");

  // Events through the proxy arrive as they happen: the first frame is there before anything else is sent.
  {
    SseReader events(lb, a.api_key(), "default", "/api/v1/stream?subject=system.secret.>");
    std::pair<std::string, std::string> frame;
    ASSERT_TRUE(events.frames().Next(&frame, 5000)) << "the subscription frame was held back by the proxy";
    ASSERT_EQ(api.Call("PUT", "/api/v1/secrets/LB_SECRET", json{{"value", "lb-" + RandomHex(8)}}).status, 201);
    ASSERT_TRUE(events.frames().Next(&frame, 5000)) << "the event was held back by the proxy";
    EXPECT_NE(frame.second.find("LB_SECRET"), std::string::npos) << frame.second;
    events.StopAfterNextFrame();
    ASSERT_EQ(api.Call("DELETE", "/api/v1/secrets/LB_SECRET").status, 204);
  }

  // A worker's long poll waits its full time through the proxy and is answered by a server, not by nginx.
  ASSERT_LT(api.Call("POST", "/api/v1/functions",
                     json{{"id", "lb_fn"}, {"triggers", {{{"event", "lb.go"}}}}, {"mode", "pull"}})
                .status,
            300);
  ASSERT_EQ(api.Call("POST", "/api/v1/workers/w/register",
                     json{{"function_ids", {"lb_fn"}}, {"max_concurrent_jobs", 1}, {"lease_ms", 30000}})
                .status,
            200);
  const auto started = std::chrono::steady_clock::now();
  auto poll = api.Call("GET", "/api/v1/workers/w/jobs?available=1&wait_ms=3000");
  EXPECT_EQ(poll.status, 204) << poll.raw;
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(2900));

  // One server gone: every request is still answered, by the other.
  a.Stop();
  for (int i = 0; i < 10; ++i) {
    auto r = api.Call("GET", "/api/v1/secrets");
    EXPECT_EQ(r.status, 200) << "request " << i << " with one server down: " << r.raw;
  }
}

}  // namespace
}  // namespace ironflow::server::testing
