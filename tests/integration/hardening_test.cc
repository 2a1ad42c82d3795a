// Hardening: no single request can take the server down or smuggle another past it, the master key lives in the
// server process only, and an absent key check is never taken as "new store".
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <signal.h>
#include <fstream>
#include <thread>

#include "store/kv_bucket.h"
#include "support/api_fixture.h"
#include "support/raw_http.h"

namespace ironflow::server::testing {
namespace {

using nlohmann::json;

std::string Nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

class HardeningTest : public ApiTest {};

TEST_F(HardeningTest, BodiesNestedTwoHundredThousandDeepAre400NamingTheLimitAndTheServerStaysUp) {
  const std::string deep = Nested(200000);
  ASSERT_EQ(api_->Call("POST", "/api/v1/environments", json{{"name", "other"}}).status, 201);
  struct Case {
    std::string method, target, body;
  };
  const std::vector<Case> cases = {
      {"POST", "/api/v1/events", R"({"name":"x.y","data":)" + deep + "}"},
      {"PUT", "/api/v1/config/x", R"({"data":{"a":)" + deep + "}}"},
      {"POST", "/api/v1/secrets", R"({"name":"A","value":"v","nope":)" + deep + "}"},
      {"POST", "/api/v1/functions", R"({"id":"f","triggers":)" + deep + "}"},
  };
  for (const auto& c : cases) {
    auto r = api_->Call(c.method, c.target, c.body);
    EXPECT_EQ(r.status, 400) << c.target << ": " << r.raw.substr(0, 200);
    EXPECT_EQ(r.body["error"]["code"], "invalid_argument") << c.target;
    EXPECT_NE(r.raw.find("64"), std::string::npos) << c.target << " does not name the limit: " << r.raw;
    ASSERT_EQ(api_->Call("GET", "/healthz").status, 200) << "the server went down after " << c.target;
  }
  EXPECT_EQ(api_->Call("GET", "/api/v1/config/x").status, 404) << "a refused body changed nothing";
  // At the limit it is accepted.
  EXPECT_EQ(api_->Call("PUT", "/api/v1/config/x", R"({"data":{"a":)" + Nested(62) + "}}").status, 200);
}

TEST_F(HardeningTest, ClientDataAtTheNestingLimitTravelsThroughRunsJobsAndResults) {
  // The server wraps what clients send (run records, pull answers): data at the limit must survive the wrapping.
  ASSERT_EQ(api_->Call("POST", "/api/v1/functions",
                       json{{"id", "deep"}, {"triggers", {{{"event", "deep.data"}}}}, {"mode", "pull"}})
                .status,
            201);
  ASSERT_EQ(api_->Call("POST", "/api/v1/workers/w/register", json{{"function_ids", {"deep"}}}).status, 200);
  auto emitted = api_->Call("POST", "/api/v1/events", R"({"name":"deep.data","data":)" + Nested(63) + "}");
  ASSERT_EQ(emitted.status, 202) << emitted.raw;
  const std::string run_id = emitted.body["run_ids"][0];
  auto jobs = api_->Call("GET", "/api/v1/workers/w/jobs?wait_ms=5000");
  ASSERT_EQ(jobs.status, 200) << jobs.raw.substr(0, 200);
  ASSERT_TRUE(jobs.body.is_object()) << "the pull answer around data at the limit is not readable JSON";
  const json& job = jobs.body["jobs"][0];
  const std::string result = R"({"lease_token":")" + job["lease_token"].get<std::string>() +
                             R"(","status":"completed","output":)" + Nested(62) + "}";
  auto done = api_->Call("PUT", "/api/v1/workers/w/jobs/" + job["job_id"].get<std::string>(), result);
  ASSERT_EQ(done.status, 200) << done.raw;
  auto run = api_->Call("GET", "/api/v1/runs/" + run_id);
  ASSERT_EQ(run.status, 200) << run.raw.substr(0, 200);
  EXPECT_EQ(run.body["status"], "completed");
}

TEST_F(HardeningTest, ConfigStoredDeeperThanTheLimitStaysReadableAndCanBeReplacedButNotPatched) {
  // Written around the API (as a store from before the limit could hold it).
  auto nc = nats_.Connect();
  auto bucket = KvBucket::Open(*nc, "ironflow-config");
  ASSERT_TRUE(bucket.ok()) << bucket.status().ToString();
  const std::string deep_doc = R"({"a":)" + Nested(5000) + "}";
  ASSERT_TRUE((*bucket)->Put("default.legacy", deep_doc).ok());

  auto got = api_->Call("GET", "/api/v1/config/legacy");
  ASSERT_EQ(got.status, 200) << got.raw.substr(0, 200);
  EXPECT_NE(got.raw.find(Nested(5000)), std::string::npos) << "the stored document is not served whole";
  auto patch = api_->Call("PATCH", "/api/v1/config/legacy", json{{"data", {{"b", 1}}}});
  EXPECT_EQ(patch.status, 409) << patch.raw;
  EXPECT_NE(patch.raw.find("PUT"), std::string::npos) << patch.raw;
  auto put = api_->Call("PUT", "/api/v1/config/legacy", json{{"data", {{"b", 1}}}});
  EXPECT_EQ(put.status, 200) << put.raw;
  EXPECT_EQ(api_->Call("GET", "/api/v1/config/legacy").body["data"], json({{"b", 1}}));
}

TEST_F(HardeningTest, SmuggledRequestsAfterAnUnsupportedTransferEncodingGet400AndNeverRun) {
  ASSERT_EQ(api_->Call("PUT", "/api/v1/secrets/VICTIM", json{{"value", NewValue()}}).status, 201);
  const std::string auth = "Authorization: Bearer " + server_->api_key() + "\r\nX-Ironflow-Environment: default\r\n";
  const std::string smuggled = "DELETE /api/v1/secrets/VICTIM HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n";
  const std::string head = "POST /api/v1/events HTTP/1.1\r\nHost: x\r\n" + auth;
  const std::vector<std::pair<std::string, std::string>> variants = {
      {"chunked, identity", head + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggled},
      {"identity, chunked", head + "Transfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n" + smuggled},
      {"xchunked", head + "Transfer-Encoding: xchunked\r\n\r\n" + smuggled},
      {"identity", head + "Transfer-Encoding: identity\r\n\r\n" + smuggled},
      {"gzip", head + "Transfer-Encoding: gzip\r\n\r\n" + smuggled},
      {"two TE fields", head + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled},
      {"TE and CL", head + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled},
      {"CL and TE", head + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggled},
      {"two CL", head + "Content-Length: 0\r\nContent-Length: 2\r\n\r\n" + smuggled},
      {"TE in HTTP/1.0",
       "POST /api/v1/events HTTP/1.0\r\nHost: x\r\n" + auth + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled},
  };
  for (const auto& [label, bytes] : variants) {
    std::string answer = RawExchange(server_->port(), bytes);
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << label << ": " << answer.substr(0, 200);
    EXPECT_EQ(Count(answer, "HTTP/1.1 "), 1u) << label << ": something after the refused request was answered";
    EXPECT_EQ(api_->Call("GET", "/api/v1/secrets/VICTIM").status, 200) << label << ": the smuggled DELETE ran";
  }
  // Exactly "chunked", in any case and with whitespace, is served normally.
  std::string body = R"({"name":"ok.event","data":{}})";
  char size[16];
  snprintf(size, sizeof size, "%zx", body.size());
  std::string ok = RawExchange(server_->port(), head + "Connection: close\r\nTransfer-Encoding:  Chunked \r\n\r\n" +
                                                    size + "\r\n" + body + "\r\n0\r\n\r\n");
  EXPECT_EQ(ok.rfind("HTTP/1.1 202", 0), 0u) << ok.substr(0, 300);
}

TEST_F(HardeningTest, AnOversizedBodyGetsA413EvenToAClientThatSendsItAllBeforeReading) {
  // The server answers 413 before the body has arrived. Closing with the rest unread resets the connection: a
  // client that sends the whole body before reading (as most HTTP clients do) gets "broken pipe" and never sees
  // the answer.
  const std::string value = "v-" + RandomHex(16);
  const std::string body = "{\"value\":\"" + value + std::string(3 * 1024 * 1024, 'x') + "\"}";
  for (int round = 0; round < 3; ++round) {
    int fd = OpenLoopback(server_->port(), "PUT /api/v1/secrets/BIG HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                                               server_->api_key() +
                                               "\r\nContent-Type: application/json\r\n"
                                               "Content-Length: " +
                                               std::to_string(body.size()) + "\r\n\r\n");
    ASSERT_GE(fd, 0);
    size_t sent = 0;
    while (sent < body.size()) {
      ssize_t n = ::send(fd, body.data() + sent, std::min<size_t>(64 * 1024, body.size() - sent), MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    const std::string answer = ReadUntil(fd, "payload_too_large");
    ::close(fd);
    EXPECT_EQ(sent, body.size()) << "round " << round << ": the server reset the connection while the body was sent";
    EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << "round " << round << ": " << answer.substr(0, 200);
    EXPECT_EQ(answer.find(value), std::string::npos);
  }
  EXPECT_EQ(api_->Call("GET", "/api/v1/secrets/BIG").status, 404);
}

// --- waiting costs no thread ---------------------------------------------------------------------------------

TEST(WaitingTest, IdleLongPollsEventStreamsAndWatchesHoldNoThreadAndLeaveTheApiServing) {
  NatsFixture nats;
  TempDir data;
  // Four handler threads: before, four idle long polls were enough to stall every other request.
  ServerProcess server({nats.url(), data.path() + "/d", NewMasterKey(), false, {"--http-threads", "4"}});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  ApiClient api(server.url(), server.api_key());
  ASSERT_EQ(api.Call("POST", "/api/v1/functions",
                     json{{"id", "idle"}, {"triggers", {{{"event", "never.happens"}}}}, {"mode", "pull"}})
                .status,
            201);
  ASSERT_EQ(api.Call("POST", "/api/v1/workers/idle/register", json{{"function_ids", {"idle"}}}).status, 200);
  ASSERT_EQ(api.Call("PUT", "/api/v1/secrets/K", json{{"value", "v-" + RandomHex(8)}}).status, 201);
  ASSERT_EQ(api.Call("PUT", "/api/v1/config/app", json{{"data", {{"v", 1}}}}).status, 200);
  ASSERT_EQ(api.Call("POST", "/api/v1/kv/buckets", json{{"name", "sessions"}}).status, 201);
  ASSERT_EQ(api.Call("PUT", "/api/v1/kv/buckets/sessions/keys/s1", std::string("x")).status, 200);
  const long threads_before = ProcStatusField(server.pid(), "Threads");

  const std::string auth = "Authorization: Bearer " + server.api_key() + "\r\nX-Ironflow-Environment: default\r\n";
  std::vector<int> waiting;
  auto wait_on = [&](const std::string& target) {
    waiting.push_back(OpenLoopback(server.port(), "GET " + target + " HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n"));
    return waiting.back();
  };
  for (int i = 0; i < 40; ++i) wait_on("/api/v1/workers/idle/jobs?wait_ms=30000");
  for (int i = 0; i < 20; ++i) wait_on("/api/v1/stream");
  // A watch counts once its replay arrived: by then it is as established as it will ever be.
  for (int i = 0; i < 10; ++i) {
    int fd = wait_on("/api/v1/config/app/watch");
    ASSERT_NE(ReadUntil(fd, "data:").find("data:"), std::string::npos) << "config watch " << i << " sent no replay";
  }
  for (int i = 0; i < 10; ++i) {
    int fd = wait_on("/api/v1/kv/buckets/sessions/watch");
    ASSERT_NE(ReadUntil(fd, "data:").find("data:"), std::string::npos) << "KV watch " << i << " sent no replay";
  }
  for (int fd : waiting) ASSERT_GE(fd, 0);
  // Each of these needs a handler thread; with the pollers holding threads they would wait out the polls' 30 s
  // and fail on the client's 10 s timeout.
  auto client = HttpClient::Create(server.url());
  ASSERT_TRUE(client.ok());
  HeaderList headers = {{"Authorization", "Bearer " + server.api_key()}, {"X-Ironflow-Environment", "default"}};
  for (int i = 0; i < 10; ++i) {
    auto r = (*client)->Send("GET", "/api/v1/secrets/K", headers, "", 10000);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 200);
  }
  const long threads_after = ProcStatusField(server.pid(), "Threads");
  EXPECT_LE(threads_after, threads_before + 4)
      << "80 idle waiters grew the server from " << threads_before << " to " << threads_after << " threads";
  for (int fd : waiting) ::close(fd);
}

TEST(WaitingTest, OneKeyCannotHoldMoreWaitersThanItsQuotaAndOtherKeysAreUnaffected) {
  NatsFixture nats;
  TempDir data;
  ServerProcess server({nats.url(), data.path() + "/d", NewMasterKey(), false, {"--max-waiting-per-key", "3"}});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  ApiClient admin(server.url(), server.api_key());
  ASSERT_EQ(admin
                .Call("POST", "/api/v1/functions",
                      json{{"id", "idle"}, {"triggers", {{{"event", "never.happens"}}}}, {"mode", "pull"}})
                .status,
            201);
  ASSERT_EQ(admin.Call("POST", "/api/v1/workers/idle/register", json{{"function_ids", {"idle"}}}).status, 200);
  auto other =
      admin.Call("POST", "/api/v1/apikeys", json{{"name", "other"}, {"role", "reader"}, {"environment", "default"}});
  ASSERT_EQ(other.status, 201) << other.raw;
  const std::string auth = "Authorization: Bearer " + server.api_key() + "\r\nX-Ironflow-Environment: default\r\n";
  auto request = [](const std::string& target, const std::string& headers) {
    return "GET " + target + " HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n";
  };
  // Three waiters of one key (streams, so each is known to be established once ": subscribed" arrived).
  std::vector<int> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(OpenLoopback(server.port(), request("/api/v1/stream", auth)));
    ASSERT_NE(ReadUntil(held.back(), ": subscribed").find(": subscribed"), std::string::npos);
  }
  // A fourth waiter of the same key: 429 with Retry-After, whatever kind of wait it asks for (a long poll here).
  held.push_back(OpenLoopback(server.port(), request("/api/v1/workers/idle/jobs?wait_ms=1500", auth)));
  const std::string refused = ReadUntil(held.back(), "}}");
  EXPECT_EQ(refused.rfind("HTTP/1.1 429", 0), 0u) << refused.substr(0, 300);
  EXPECT_NE(refused.find("Retry-After"), std::string::npos);
  // Another key still gets its stream, and the first key's ordinary requests still work.
  const std::string other_auth =
      "Authorization: Bearer " + other.body["key"].get<std::string>() + "\r\nX-Ironflow-Environment: default\r\n";
  int other_fd = OpenLoopback(server.port(), request("/api/v1/stream", other_auth));
  EXPECT_NE(ReadUntil(other_fd, ": subscribed").find(": subscribed"), std::string::npos);
  EXPECT_EQ(admin.Call("GET", "/api/v1/secrets").status, 200);
  // A client that leaves gives its slot back once the server notices (at its stream's next write: events here).
  ::close(held[0]);
  bool admitted = false;
  for (int i = 0; i < 50 && !admitted; ++i) {
    ASSERT_LT(admin.Call("PUT", "/api/v1/secrets/NUDGE", json{{"value", "v-" + RandomHex(8)}}).status, 300);
    int probe = OpenLoopback(server.port(), request("/api/v1/stream", auth));
    admitted = ReadUntil(probe, "\r\n\r\n").rfind("HTTP/1.1 200", 0) == 0;
    if (admitted)
      held[0] = probe;
    else
      ::close(probe);
  }
  EXPECT_TRUE(admitted) << "the slot of a client that left never came back";
  for (int fd : held) ::close(fd);
  ::close(other_fd);
}

// --- tampering is loud ------------------------------------------------------------------------------------------

TEST_F(HardeningTest, TamperedRecordsAreLoggedCountedAndShownUnreadableUnderTheirOwnKeyName) {
  const std::string api_value = NewValue(), file_value = NewValue(), flipped_value = NewValue();
  for (const auto& [name, value] :
       {std::pair{"API_SECRET", api_value}, {"FILE_SECRET", file_value}, {"FLIPPED", flipped_value}}) {
    ASSERT_EQ(api_->Call("PUT", std::string("/api/v1/secrets/") + name, json{{"value", value}}).status, 201);
  }
  auto nc = nats_.Connect();
  auto bucket = KvBucket::Open(*nc, "ironflow-secrets");
  ASSERT_TRUE(bucket.ok());
  // A whole record copied over another key, and one byte of a ciphertext flipped, both around the API.
  auto src = (*bucket)->Get("default.API_SECRET");
  auto dst = (*bucket)->Get("default.FILE_SECRET");
  ASSERT_TRUE((*bucket)->Update("default.FILE_SECRET", (*src)->value, (*dst)->revision).ok());
  auto flip = (*bucket)->Get("default.FLIPPED");
  json record = json::parse((*flip)->value);
  std::string ct = record["value"]["ciphertext"];
  ct[4] = ct[4] == 'A' ? 'B' : 'A';
  record["value"]["ciphertext"] = ct;
  ASSERT_TRUE((*bucket)->Update("default.FLIPPED", record.dump(), (*flip)->revision).ok());

  auto metadata = api_->Call("GET", "/api/v1/secrets/FILE_SECRET");
  ASSERT_EQ(metadata.status, 200);
  EXPECT_EQ(metadata.body["name"], "FILE_SECRET") << "a copied record was answered under the name it claims";
  for (const char* name : {"FILE_SECRET", "FLIPPED"}) {
    auto versions = api_->Call("GET", std::string("/api/v1/secrets/") + name + "/versions");
    ASSERT_EQ(versions.status, 200) << versions.raw;
    ASSERT_EQ(versions.body["versions"].size(), 2u);
    EXPECT_EQ(versions.body["versions"][0]["state"], "unreadable") << name << ": " << versions.raw;
    EXPECT_EQ(versions.body["versions"][1]["state"], "ok") << name;
  }
  EXPECT_EQ(api_->Call("GET", "/api/v1/secrets/API_SECRET/versions").body["versions"][0]["state"], "ok");

  std::string metrics = api_->Call("GET", "/metrics").raw;
  const std::string sample = "\nironflow_secret_integrity_failures_total ";
  size_t at = metrics.find(sample);
  ASSERT_NE(at, std::string::npos) << metrics;
  EXPECT_GE(std::stoi(metrics.substr(at + sample.size())), 2);
  std::string log = server_->log();
  EXPECT_NE(log.find("integrity failure: secret record environment=default name=FILE_SECRET"), std::string::npos)
      << log;
  EXPECT_NE(log.find("the record names environment default, secret API_SECRET"), std::string::npos) << log;
  EXPECT_NE(log.find("name=FLIPPED"), std::string::npos) << log;
  EXPECT_NE(log.find(" error "), std::string::npos) << "integrity failures must be logged at error level";
}

// --- the master key stays in the server process -------------------------------------------------------------

TEST(KeyInOneProcessTest, NeitherTheServerNorItsEmbeddedNatsServerShowsTheKeyInProcEnviron) {
  ASSERT_EQ(geteuid(), 0u) << "this test reads /proc/<pid>/environ of a non-dumpable process: run it as root (CI does)";
  TempDir data;
  const std::string key = NewMasterKey(), previous = NewMasterKey(), signing = NewMasterKey();
  ServerProcess::Options o{"", data.path() + "/d", key};
  o.previous_master_key = previous;
  o.extra_env = {{"IRONFLOW_SIGNING_KEY", signing}};
  ServerProcess server(o);
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  std::string server_env = ReadProcFile(server.pid(), "environ");
  ASSERT_FALSE(server_env.empty()) << "could not read the server's environ";
  std::vector<pid_t> children = ChildrenOf(server.pid());
  ASSERT_FALSE(children.empty()) << "no embedded nats-server child found";
  for (const std::string* k : {&key, &previous, &signing}) {
    EXPECT_EQ(server_env.find(*k), std::string::npos) << "a key is readable in the server's /proc/<pid>/environ";
    for (pid_t child : children) {
      std::string child_env = ReadProcFile(child, "environ");
      EXPECT_EQ(child_env.find(*k), std::string::npos) << "a key reached the embedded nats-server's environment";
      EXPECT_EQ(child_env.find("IRONFLOW_"), std::string::npos)
          << "the nats-server child inherited IRONFLOW_* variables";
    }
  }
}

void WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path) << text;
  chmod(path.c_str(), mode);
}

TEST(KeyInOneProcessTest, MasterKeyFromAFileOrASystemdCredentialOpensWhatTheVariableSealed) {
  NatsFixture nats;
  TempDir data;
  const std::string key = NewMasterKey();
  std::string error, key_id;
  {
    ServerProcess first({nats.url(), data.path() + "/d", key});
    ASSERT_TRUE(first.Start(&error)) << error;
    ApiClient api(first.url(), first.api_key());
    ASSERT_EQ(api.Call("PUT", "/api/v1/secrets/K", json{{"value", "v-" + RandomHex(8)}}).status, 201);
    key_id = api.Call("GET", "/api/v1/status").body["encryption"]["key_id"];
  }
  const std::string file = data.path() + "/master.key";
  WriteFile(file, key + "\n", 0600);
  ServerProcess from_file({nats.url(), data.path() + "/d", "", false, {"--master-key-file", file}});
  ASSERT_TRUE(from_file.Start(&error)) << error;
  ApiClient api(from_file.url(), from_file.api_key());
  EXPECT_EQ(api.Call("GET", "/api/v1/status").body["encryption"]["key_id"], key_id);
  EXPECT_EQ(from_file.log().find(key), std::string::npos);
  from_file.Stop();

  // A systemd credential, when no variable or file names the key.
  const std::string creds = data.path() + "/creds";
  mkdir(creds.c_str(), 0700);
  WriteFile(creds + "/ironflow-master-key", key, 0400);
  ServerProcess::Options co{nats.url(), data.path() + "/d", ""};
  co.extra_env = {{"CREDENTIALS_DIRECTORY", creds}};
  ServerProcess from_credential(co);
  ASSERT_TRUE(from_credential.Start(&error)) << error;
  ApiClient api2(from_credential.url(), from_credential.api_key());
  EXPECT_EQ(api2.Call("GET", "/api/v1/status").body["encryption"]["key_id"], key_id);
  from_credential.Stop();

  // A key file others can read, or two sources for one key, are refused.
  WriteFile(file, key, 0644);
  ServerProcess loose({nats.url(), data.path() + "/d", "", false, {"--master-key-file", file}});
  EXPECT_EQ(loose.RunUntilExit(), 1);
  EXPECT_NE(loose.log().find("chmod 600"), std::string::npos) << loose.log();
  WriteFile(file, key, 0600);
  ServerProcess both({nats.url(), data.path() + "/d", key, false, {"--master-key-file", file}});
  EXPECT_EQ(both.RunUntilExit(), 1);
  EXPECT_NE(both.log().find("use one"), std::string::npos) << both.log();
}

// --- an absent key check ----------------------------------------------------------------------------------------

TEST(KeyCheckTest, MissingKeyCheckWithSealedRecordsRefusesEveryKeyAndWritesNothingUntilTheKeyIsProven) {
  NatsFixture nats;
  TempDir data;
  const std::string right = NewMasterKey(), wrong = NewMasterKey();
  std::string error, key_id;
  {
    ServerProcess first({nats.url(), data.path() + "/d", right});
    ASSERT_TRUE(first.Start(&error)) << error;
    ApiClient api(first.url(), first.api_key());
    ASSERT_EQ(api.Call("PUT", "/api/v1/secrets/K", json{{"value", "v-" + RandomHex(8)}}).status, 201);
    key_id = api.Call("GET", "/api/v1/status").body["encryption"]["key_id"];
  }
  auto nc = nats.Connect();
  auto system = KvBucket::Open(*nc, "ironflow-system");
  ASSERT_TRUE(system.ok());
  ASSERT_TRUE((*system)->Purge("keycheck").ok());

  for (const auto& [label, key, args] : std::vector<std::tuple<std::string, std::string, std::vector<std::string>>>{
           {"wrong key", wrong, {}},
           {"wrong key with --recreate-key-check", wrong, {"--recreate-key-check"}},
           {"right key without --recreate-key-check", right, {}},
           {"dev mode", "", {}}}) {
    ServerProcess s({nats.url(), data.path() + "/d", key, false, args});
    EXPECT_EQ(s.RunUntilExit(), 1) << label;
    EXPECT_NE(s.log().find(key_id), std::string::npos) << label << ": the records' key id is not named:\n" << s.log();
    auto check = (*system)->Get("keycheck");
    ASSERT_TRUE(check.ok());
    EXPECT_FALSE(check->has_value()) << label << " wrote a key check";
  }

  ServerProcess proven({nats.url(), data.path() + "/d", right, false, {"--recreate-key-check"}});
  ASSERT_TRUE(proven.Start(&error)) << error;
  auto check = (*system)->Get("keycheck");
  ASSERT_TRUE(check.ok() && check->has_value());
  proven.Stop();
  // The key check is back: the wrong key is refused the usual way, the right one starts without the flag.
  ServerProcess wrong_again({nats.url(), data.path() + "/d", wrong});
  EXPECT_EQ(wrong_again.RunUntilExit(), 1);
  ServerProcess right_again({nats.url(), data.path() + "/d", right});
  EXPECT_TRUE(right_again.Start(&error)) << error;
}

TEST(KeyCheckTest, BrandNewStoreStillInitialisesItsKeyCheck) {
  NatsFixture nats;
  TempDir data;
  ServerProcess s({nats.url(), data.path() + "/d", NewMasterKey()});
  std::string error;
  ASSERT_TRUE(s.Start(&error)) << error;
  auto nc = nats.Connect();
  auto system = KvBucket::Open(*nc, "ironflow-system");
  ASSERT_TRUE(system.ok());
  auto check = (*system)->Get("keycheck");
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->has_value());
}

}  // namespace
}  // namespace ironflow::server::testing
