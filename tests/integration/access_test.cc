// API keys and roles: each role reaches exactly its route families (the scope matrix), environment-bound keys
// cannot address another environment, expired/deleted/rotated-away keys get 401, denials reveal nothing about
// what exists, and repeated failed authentications from one address are slowed down with 429.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <thread>

#include "support/api_fixture.h"

namespace ironflow::server::testing {
namespace {

using nlohmann::json;

class AccessTest : public ApiTest {
 protected:
  std::string NewKey(const std::string& role, const std::string& env = "default", int64_t expires_in = 0) {
    json body = {{"name", role + "-key"}, {"role", role}};
    if (role != "admin") body["environment"] = env;
    if (role == "worker") body["functions"] = body["secrets"] = json::array({"*"});
    if (expires_in > 0) body["expires_in"] = expires_in;
    auto r = api_->Call("POST", "/api/v1/apikeys", body);
    EXPECT_EQ(r.status, 201) << r.raw;
    keys_[r.body.value("id", "")] = r.body.value("key", "");
    return r.body.value("key", "");
  }
  std::map<std::string, std::string> keys_;
};

TEST_F(AccessTest, EachRoleReachesExactlyItsRouteFamilies) {
  const std::map<std::string, std::string> key = {{"admin", NewKey("admin")},
                                                  {"manager", NewKey("manager")},
                                                  {"reader", NewKey("reader")},
                                                  {"worker", NewKey("worker")}};
  ASSERT_EQ(api_->Call("PUT", "/api/v1/secrets/EXISTING", json{{"value", NewValue()}}).status, 201);
  ASSERT_EQ(api_->Call("POST", "/api/v1/kv/buckets", json{{"name", "b"}}).status, 201);
  struct Row {
    std::string method, target, body;
    std::set<std::string> allowed;
  } rows[] = {
      {"GET", "/api/v1/status", "", {"admin", "manager", "reader", "worker"}},
      {"GET", "/api/v1/secrets", "", {"admin", "manager", "reader"}},
      {"GET", "/api/v1/secrets/EXISTING/versions", "", {"admin", "manager", "reader"}},
      {"PUT", "/api/v1/secrets/NEW_ONE", R"({"value":"v-access-matrix"})", {"admin", "manager"}},
      {"GET", "/api/v1/config", "", {"admin", "manager", "reader", "worker"}},
      {"PUT", "/api/v1/config/c", R"({"data":{}})", {"admin", "manager"}},
      {"POST", "/api/v1/kv/buckets", R"({"name":"x"})", {"admin", "manager"}},
      {"GET", "/api/v1/kv/buckets", "", {"admin", "manager", "reader"}},
      {"GET", "/api/v1/kv/buckets/b/keys", "", {"admin", "manager", "reader", "worker"}},
      {"POST", "/api/v1/kv/buckets/b/keys/n/increment", "", {"admin", "manager", "worker"}},
      {"POST",
       "/api/v1/functions",
       R"({"id":"f","triggers":[{"event":"e"}],"secrets":[],"mode":"pull"})",
       {"admin", "manager", "worker"}},
      {"GET", "/api/v1/functions", "", {"admin", "manager", "reader"}},
      {"POST", "/api/v1/events", R"({"name":"e","data":{}})", {"admin", "manager", "worker"}},
      {"GET", "/api/v1/workers/w/jobs?available=1&wait_ms=0", "", {"admin", "worker"}},
      {"GET", "/api/v1/runs", "", {"admin", "manager", "reader"}},
      {"GET", "/api/v1/audit", "", {"admin", "manager", "reader"}},
      {"GET", "/api/v1/stream?subject=system.secret.NONE.%3E", "", {}},  // checked separately (streams)
      {"GET", "/api/v1/apikeys", "", {"admin"}},
      {"POST", "/api/v1/environments", R"({"name":"made-by-test"})", {"admin"}},
      {"POST", "/api/v1/rekey", R"({"all":true})", {"admin"}},
      {"GET", "/api/v1/signing-key", "", {"admin"}},
      {"POST", "/api/v1/signing-key/rotate", R"({"grace_seconds":60})", {"admin"}},
  };
  for (const auto& row : rows) {
    if (row.target.rfind("/api/v1/stream", 0) == 0) continue;
    for (const auto& [role, k] : key) {
      ApiClient client(server_->url(), k);
      auto r = client.Call(row.method, row.target, row.body);
      const bool allowed = r.status != 403 && r.status != 401;
      EXPECT_EQ(allowed, row.allowed.count(role) == 1)
          << role << " " << row.method << " " << row.target << " -> " << r.status << " " << r.raw;
      if (!allowed) {
        EXPECT_EQ(r.body["error"]["code"], "permission_denied") << r.raw;
      }
    }
  }
}

TEST_F(AccessTest, AuditOfEveryEnvironmentNeedsAnAdminKey) {
  ASSERT_EQ(api_->Call("POST", "/api/v1/apikeys", json{{"name", "ci"}, {"role", "reader"}, {"environment", "default"}})
                .status,
            201);
  for (const char* role : {"reader", "manager"}) {
    ApiClient scoped(server_->url(), NewKey(role), "*");
    auto r = scoped.Call("GET", "/api/v1/audit?kind=apikey");
    EXPECT_EQ(r.status, 403) << role << " " << r.raw;
  }
  auto all = ClientFor("*")->Call("GET", "/api/v1/audit?kind=apikey");
  ASSERT_EQ(all.status, 200) << all.raw;
  ASSERT_GE(all.body["entries"].size(), 3u) << all.raw;  // ci + the two keys above
  EXPECT_EQ(all.body["entries"][0]["event"]["type"], "apikey.created");
  EXPECT_EQ(all.raw.find("ifkey_"), std::string::npos) << "an audit entry carries a key";
}

TEST_F(AccessTest, DenialsRevealNothingAboutWhatExists) {
  ApiClient reader(server_->url(), NewKey("reader"));
  ASSERT_EQ(api_->Call("PUT", "/api/v1/secrets/EXISTING", json{{"value", NewValue()}}).status, 201);
  auto a = reader.Call("DELETE", "/api/v1/secrets/EXISTING");
  auto b = reader.Call("DELETE", "/api/v1/secrets/NEVER_EXISTED");
  EXPECT_EQ(a.status, 403);
  EXPECT_EQ(a.raw, b.raw);
  EXPECT_EQ(api_->Call("GET", "/api/v1/secrets/EXISTING").status, 200) << "the denied delete changed nothing";
}

TEST_F(AccessTest, AnEnvironmentBoundKeyCannotAddressAnotherEnvironment) {
  ASSERT_EQ(api_->Call("POST", "/api/v1/environments", json{{"name", "staging"}}).status, 201);
  ApiClient staging_manager(server_->url(), NewKey("manager", "staging"), "staging");
  EXPECT_EQ(staging_manager.Call("PUT", "/api/v1/secrets/S", json{{"value", NewValue()}}).status, 201);
  staging_manager.set_environment("default");
  auto r = staging_manager.Call("GET", "/api/v1/secrets");
  EXPECT_EQ(r.status, 403) << r.raw;
  EXPECT_NE(r.body["error"]["message"].get<std::string>().find("staging"), std::string::npos);
  EXPECT_EQ(staging_manager.Call("PUT", "/api/v1/secrets/S", json{{"value", NewValue()}}).status, 403);
  EXPECT_EQ(api_->Call("GET", "/api/v1/secrets/S").status, 404) << "nothing was written to default";
  // A bound key must name an environment that exists; an admin key is never bound.
  EXPECT_EQ(
      api_->Call("POST", "/api/v1/apikeys", json{{"name", "x"}, {"role", "reader"}, {"environment", "nope"}}).status,
      404);
  EXPECT_EQ(api_->Call("POST", "/api/v1/apikeys", json{{"name", "x"}, {"role", "reader"}}).status, 400);
  EXPECT_EQ(
      api_->Call("POST", "/api/v1/apikeys", json{{"name", "x"}, {"role", "admin"}, {"environment", "staging"}}).status,
      400);
  EXPECT_EQ(
      api_->Call("POST", "/api/v1/apikeys", json{{"name", "x"}, {"role", "owner"}, {"environment", "staging"}}).status,
      400);
}

TEST_F(AccessTest, DeletedRotatedAndExpiredKeysAre401) {
  std::string reader_key = NewKey("reader");
  std::string id = keys_.begin()->first;
  ApiClient reader(server_->url(), reader_key);
  ASSERT_EQ(reader.Call("GET", "/api/v1/secrets").status, 200);
  auto listed = api_->Call("GET", "/api/v1/apikeys");
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(listed.raw.find(reader_key), std::string::npos) << "a key is shown only once";
  EXPECT_EQ(listed.raw.find(reader_key.substr(6)), std::string::npos);

  auto rotated = api_->Call("POST", "/api/v1/apikeys/" + id + "/rotate");
  ASSERT_EQ(rotated.status, 200) << rotated.raw;
  EXPECT_EQ(rotated.body["id"], id);
  EXPECT_EQ(reader.Call("GET", "/api/v1/secrets").status, 401) << "the old secret part stops working";
  ApiClient rotated_reader(server_->url(), rotated.body["key"].get<std::string>());
  EXPECT_EQ(rotated_reader.Call("GET", "/api/v1/secrets").status, 200);
  ASSERT_EQ(api_->Call("DELETE", "/api/v1/apikeys/" + id).status, 204);
  EXPECT_EQ(rotated_reader.Call("GET", "/api/v1/secrets").status, 401);
  EXPECT_EQ(api_->Call("DELETE", "/api/v1/apikeys/" + id).status, 404);

  ApiClient short_lived(server_->url(), NewKey("reader", "default", 1));
  EXPECT_EQ(short_lived.Call("GET", "/api/v1/secrets").status, 200);
  int status = 200;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (status == 200 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    status = short_lived.Call("GET", "/api/v1/secrets").status;
  }
  EXPECT_EQ(status, 401) << "a key that expired after 1 s still worked 10 s later";
}

// Fails authentication with fresh guesses (sent with X-Forwarded-For: forwarded_for(i) when that is not empty)
// until 429 or 40 tries; returns the last status. The guesses are remembered for the log check.
int GuessUntilLimited(const std::string& url, std::vector<std::string>* guesses,
                      const std::function<std::string(int)>& forwarded_for = nullptr) {
  int last = 0;
  for (int i = 0; i < 40 && last != 429; ++i) {
    guesses->push_back("ifkey_" + RandomHex(16));
    HeaderList extra;
    if (forwarded_for) extra.emplace_back("X-Forwarded-For", forwarded_for(i));
    last = ApiClient(url, guesses->back()).Call("GET", "/api/v1/secrets", std::string(), extra).status;
  }
  return last;
}

TEST_F(AccessTest, RepeatedFailedAuthenticationsAreAnswered429AndNotLoggedWithTheKey) {
  // TearDown checks the server log holds none of the presented keys.
  EXPECT_EQ(GuessUntilLimited(server_->url(), &remembered_), 429);
  auto valid = api_->Call("GET", "/api/v1/secrets");
  EXPECT_EQ(valid.status, 429) << "while limited, this address gets 429 even with a valid key";
  EXPECT_EQ(valid.body["error"]["code"], "too_many_requests");
  const std::string retry_after = valid.header("retry-after");
  ASSERT_FALSE(retry_after.empty()) << "a 429 must say when to come back";
  EXPECT_GE(std::stoi(retry_after), 1);
}

TEST_F(AccessTest, BehindATrustedProxyEachClientIsLimitedOnItsOwn) {
  // Behind a load balancer every request comes from the balancer's address: without --trusted-proxy one
  // guessing client would lock every other client out.
  TempDir dir;
  ServerProcess::Options o{nats_.url(), dir.path() + "/data", master_key_};
  o.extra_args = {"--trusted-proxy", "127.0.0.0/8"};
  ServerProcess proxied(o);
  std::string error;
  ASSERT_TRUE(proxied.Start(&error)) << error;
  EXPECT_EQ(GuessUntilLimited(proxied.url(), &remembered_, [](int) { return "198.51.100.7"; }), 429)
      << "the guessing client was not limited";
  // Right away (its bucket is full whatever the time), another client of the same proxy still gets in.
  ApiClient other(proxied.url(), server_->api_key());
  auto fine = other.Call("GET", "/api/v1/secrets", std::string(), {{"X-Forwarded-For", "198.51.100.8"}});
  EXPECT_EQ(fine.status, 200) << "another client behind the same proxy was locked out: " << fine.raw;
  // The failures were counted and logged under the forwarded address, not the proxy's.
  EXPECT_NE(proxied.log().find("failed authentication from 198.51.100.7"), std::string::npos) << proxied.log();
  EXPECT_EQ(proxied.log().find("failed authentication from 127.0.0.1"), std::string::npos) << proxied.log();
  for (const auto& guess : remembered_)
    EXPECT_EQ(proxied.log().find(guess), std::string::npos) << "a presented key was logged";
}

TEST_F(AccessTest, WithoutTrustedProxiesAForgedForwardedForEvadesNothing) {
  // The default server trusts no proxy: a client rotating X-Forwarded-For values is still one address.
  int last = GuessUntilLimited(server_->url(), &remembered_, [](int i) { return "198.51.100." + std::to_string(i); });
  EXPECT_EQ(last, 429) << "forged X-Forwarded-For headers escaped the failure limiter";
}

}  // namespace
}  // namespace ironflow::server::testing
