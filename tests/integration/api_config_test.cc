// Config store through the HTTP API: documents round-trip, revisions guard writes (If-None-Match / If-Match),
// concurrent PATCHes of different fields all survive, deletes are idempotent, watches replay then follow, events
// carry metadata only, and environments do not see each other's documents.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "support/api_fixture.h"
#include "support/sse_reader.h"

namespace ironflow::server::testing {
namespace {

using nlohmann::json;

class ConfigApiTest : public ApiTest {
 protected:
  ApiClient::Response Put(const std::string& name, const json& data, const HeaderList& h = {}) {
    return api_->Call("PUT", "/api/v1/config/" + name, json{{"data", data}}, h);
  }
  ApiClient::Response Get(const std::string& name) { return api_->Call("GET", "/api/v1/config/" + name); }
};

TEST_F(ConfigApiTest, PutThenGetReturnsTheDocumentWithItsRevision) {
  json data = {{"checkout_v2", true}, {"limits", {{"max", 5}}}};
  auto put = Put("flags", data);
  ASSERT_EQ(put.status, 200) << put.raw;
  EXPECT_EQ(put.body["name"], "flags");
  auto got = Get("flags");
  ASSERT_EQ(got.status, 200) << got.raw;
  EXPECT_EQ(got.body["data"], data);
  EXPECT_EQ(got.body["revision"], put.body["revision"]);
  EXPECT_EQ(got.header("etag"), "\"" + std::to_string(put.body["revision"].get<uint64_t>()) + "\"");
  EXPECT_TRUE(got.body["updated_at"].is_string());
  auto list = api_->Call("GET", "/api/v1/config");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.body["configs"].size(), 1u);
  EXPECT_EQ(list.body["configs"][0]["name"], "flags");
  EXPECT_FALSE(list.body["configs"][0].contains("data"));
  EXPECT_EQ(Get("absent").status, 404);
}

TEST_F(ConfigApiTest, CreateOnlyAndCompareAndSetConflictsAre412AndChangeNothing) {
  auto first = Put("app", json{{"v", 1}}, {{"If-None-Match", "*"}});
  ASSERT_EQ(first.status, 200) << first.raw;
  uint64_t rev = first.body["revision"];
  EXPECT_EQ(Put("app", json{{"v", 2}}, {{"If-None-Match", "*"}}).status, 412);
  EXPECT_EQ(Put("app", json{{"v", 3}}, {{"If-Match", std::to_string(rev + 100)}}).status, 412);
  EXPECT_EQ(Get("app").body["data"], json({{"v", 1}}));
  auto cas = Put("app", json{{"v", 4}}, {{"If-Match", "\"" + std::to_string(rev) + "\""}});
  ASSERT_EQ(cas.status, 200) << cas.raw;
  // The revision a writer read is stale once someone else wrote: the second CAS with it fails.
  EXPECT_EQ(Put("app", json{{"v", 5}}, {{"If-Match", std::to_string(rev)}}).status, 412);
  EXPECT_EQ(Get("app").body["data"], json({{"v", 4}}));
  EXPECT_EQ(
      api_->Call("PATCH", "/api/v1/config/app", json{{"data", {{"w", 1}}}}, {{"If-Match", std::to_string(rev)}}).status,
      412);
  EXPECT_EQ(Get("app").body["data"], json({{"v", 4}}));
}

TEST_F(ConfigApiTest, PatchMergesTopLevelFieldsAndNullRemovesOne) {
  ASSERT_EQ(Put("site", json{{"a", 1}, {"b", {{"x", 1}}}, {"c", "keep"}}).status, 200);
  auto p = api_->Call("PATCH", "/api/v1/config/site", json{{"data", {{"a", 2}, {"b", {{"y", 2}}}, {"c", nullptr}}}});
  ASSERT_EQ(p.status, 200) << p.raw;
  EXPECT_EQ(Get("site").body["data"], json({{"a", 2}, {"b", {{"y", 2}}}}));
  // PATCH creates an absent document.
  ASSERT_EQ(api_->Call("PATCH", "/api/v1/config/fresh", json{{"data", {{"on", true}}}}).status, 200);
  EXPECT_EQ(Get("fresh").body["data"], json({{"on", true}}));
}

TEST_F(ConfigApiTest, ConcurrentPatchesOfDifferentFieldsAllSurvive) {
  ASSERT_EQ(Put("shared", json::object()).status, 200);
  constexpr int kWriters = 8, kFieldsEach = 10;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      ApiClient client(server_->url(), server_->api_key());
      for (int f = 0; f < kFieldsEach; ++f) {
        std::string field = "w" + std::to_string(w) + "_f" + std::to_string(f);
        auto r = client.Call("PATCH", "/api/v1/config/shared", json{{"data", {{field, w * 100 + f}}}});
        if (r.status != 200) failures.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  json data = Get("shared").body["data"];
  ASSERT_EQ(data.size(), static_cast<size_t>(kWriters * kFieldsEach)) << data.dump();
  for (int w = 0; w < kWriters; ++w) {
    for (int f = 0; f < kFieldsEach; ++f) {
      EXPECT_EQ(data["w" + std::to_string(w) + "_f" + std::to_string(f)], w * 100 + f);
    }
  }
}

TEST_F(ConfigApiTest, DeleteIsIdempotentAndHonoursIfMatch) {
  auto put = Put("gone", json{{"x", 1}});
  uint64_t rev = put.body["revision"];
  EXPECT_EQ(api_->Call("DELETE", "/api/v1/config/gone", std::string(), {{"If-Match", std::to_string(rev + 1)}}).status,
            412);
  EXPECT_EQ(Get("gone").status, 200);
  EXPECT_EQ(api_->Call("DELETE", "/api/v1/config/gone", std::string(), {{"If-Match", std::to_string(rev)}}).status,
            204);
  EXPECT_EQ(Get("gone").status, 404);
  EXPECT_EQ(api_->Call("DELETE", "/api/v1/config/gone").status, 204);
  EXPECT_EQ(api_->Call("DELETE", "/api/v1/config/never-was").status, 204);
  // An If-Match on an absent document cannot match.
  EXPECT_EQ(api_->Call("DELETE", "/api/v1/config/gone", std::string(), {{"If-Match", std::to_string(rev)}}).status,
            412);
}

TEST_F(ConfigApiTest, EnvironmentsHoldSeparateDocuments) {
  ASSERT_EQ(api_->Call("POST", "/api/v1/environments", json{{"name", "staging"}}).status, 201);
  auto staging = ClientFor("staging");
  ASSERT_EQ(Put("flags", json{{"env", "default"}}).status, 200);
  ASSERT_EQ(staging->Call("PUT", "/api/v1/config/flags", json{{"data", {{"env", "staging"}}}}).status, 200);
  EXPECT_EQ(Get("flags").body["data"]["env"], "default");
  EXPECT_EQ(staging->Call("GET", "/api/v1/config/flags").body["data"]["env"], "staging");
  ASSERT_EQ(staging->Call("DELETE", "/api/v1/config/flags").status, 204);
  EXPECT_EQ(Get("flags").status, 200);
  EXPECT_EQ(ClientFor("nowhere")->Call("GET", "/api/v1/config/flags").status, 404);
}

TEST_F(ConfigApiTest, BadInputIsRejectedAndChangesNothing) {
  ASSERT_EQ(Put("flags", json{{"ok", true}}).status, 200);
  struct Case {
    std::string method, target, body;
    HeaderList headers;
    int want;
  } cases[] = {
      {"PUT", "/api/v1/config/flags", R"({"data":[1,2]})", {}, 400},
      {"PUT", "/api/v1/config/flags", R"({"data":"text"})", {}, 400},
      {"PUT", "/api/v1/config/flags", R"({"data":{},"extra":1})", {}, 400},
      {"PUT", "/api/v1/config/flags", R"({})", {}, 400},
      {"PUT", "/api/v1/config/flags", R"(not json)", {}, 400},
      {"PUT", "/api/v1/config/flags", R"({"data":{}})", {{"If-Match", "abc"}}, 400},
      {"PUT", "/api/v1/config/flags", R"({"data":{}})", {{"If-None-Match", "\"3\""}}, 400},
      {"PUT", "/api/v1/config/flags", R"({"data":{}})", {{"If-None-Match", "*"}, {"If-Match", "1"}}, 400},
      {"PUT", "/api/v1/config/bad.name", R"({"data":{}})", {}, 400},
      {"PUT", "/api/v1/config/9starts-with-digit", R"({"data":{}})", {}, 400},
      {"PATCH", "/api/v1/config/flags", R"({"data":null})", {}, 400},
      {"PUT", "/api/v1/config/flags", R"({"data":{"big":")" + std::string(600 * 1024, 'x') + R"("}})", {}, 413},
  };
  for (const auto& c : cases) {
    auto r = api_->Call(c.method, c.target, c.body, c.headers);
    EXPECT_EQ(r.status, c.want) << c.method << " " << c.target << " " << c.body.substr(0, 60) << " -> " << r.raw;
    EXPECT_TRUE(r.body.contains("error")) << r.raw;
  }
  auto got = Get("flags");
  EXPECT_EQ(got.body["data"], json({{"ok", true}}));
  EXPECT_EQ(api_->Call("GET", "/api/v1/config").body["configs"].size(), 1u);
}

TEST_F(ConfigApiTest, WatchSendsTheCurrentValueThenEachChangeInOrder) {
  ASSERT_EQ(Put("live", json{{"v", 0}}).status, 200);
  SseReader reader(server_->url(), server_->api_key(), "default", "/api/v1/config/live/watch");
  std::pair<std::string, std::string> frame;
  ASSERT_TRUE(reader.frames().Next(&frame));
  EXPECT_EQ(frame.second, ": subscribed");
  auto next_json = [&]() -> json {
    EXPECT_TRUE(reader.frames().Next(&frame));
    EXPECT_EQ(frame.second.rfind("data: ", 0), 0u) << frame.second;
    return json::parse(frame.second.substr(6), nullptr, false);
  };
  json initial = next_json();
  EXPECT_EQ(initial["type"], "config_update");
  EXPECT_EQ(initial["data"], json({{"v", 0}}));
  for (int i = 1; i <= 3; ++i) ASSERT_EQ(Put("live", json{{"v", i}}).status, 200);
  ASSERT_EQ(Put("other", json{{"unrelated", true}}).status, 200);
  uint64_t last = initial["revision"];
  for (int i = 1; i <= 3; ++i) {
    json u = next_json();
    EXPECT_EQ(u["type"], "config_update");
    EXPECT_EQ(u["name"], "live");
    EXPECT_EQ(u["data"], json({{"v", i}}));
    EXPECT_GT(u["revision"].get<uint64_t>(), last);
    last = u["revision"];
  }
  reader.StopAfterNextFrame();
  ASSERT_EQ(api_->Call("DELETE", "/api/v1/config/live").status, 204);
  json d = next_json();
  EXPECT_EQ(d["type"], "config_delete");
  EXPECT_EQ(d["name"], "live");
  EXPECT_GT(d["revision"].get<uint64_t>(), last);
}

TEST_F(ConfigApiTest, WatchOfAnAbsentDocumentStartsWithNothingThenSeesItsCreation) {
  SseReader reader(server_->url(), server_->api_key(), "default", "/api/v1/config/later/watch");
  std::pair<std::string, std::string> frame;
  ASSERT_TRUE(reader.frames().Next(&frame));
  EXPECT_EQ(frame.second, ": subscribed");
  reader.StopAfterNextFrame();
  ASSERT_EQ(Put("later", json{{"born", true}}).status, 200);
  ASSERT_TRUE(reader.frames().Next(&frame));
  json u = json::parse(frame.second.substr(6), nullptr, false);
  EXPECT_EQ(u["type"], "config_update");
  EXPECT_EQ(u["data"], json({{"born", true}}));
}

TEST_F(ConfigApiTest, EveryChangePublishesAConfigEventWithoutTheDocument) {
  auto nc = nats_.Connect();
  Collector got;
  auto sub = nc->Subscribe("system.config.>",
                           [&](std::string_view s, std::string_view d) { got.Add(std::string(s), std::string(d)); });
  ASSERT_TRUE(sub.ok());
  ASSERT_EQ(Put("evented", json{{"marker", "document-body-1234"}}).status, 200);
  ASSERT_EQ(api_->Call("DELETE", "/api/v1/config/evented").status, 204);
  std::pair<std::string, std::string> e;
  ASSERT_TRUE(got.Next(&e));
  EXPECT_EQ(e.first, "system.config.evented.updated");
  json p = json::parse(e.second);
  EXPECT_EQ(p["environment"], "default");
  EXPECT_EQ(p["name"], "evented");
  EXPECT_TRUE(p["revision"].is_number());
  EXPECT_TRUE(p["actor"].is_object());
  EXPECT_TRUE(p["timestamp"].is_string());
  EXPECT_EQ(e.second.find("document-body-1234"), std::string::npos);
  ASSERT_TRUE(got.Next(&e));
  EXPECT_EQ(e.first, "system.config.evented.deleted");
}

TEST_F(ConfigApiTest, DeletingAnEnvironmentNeedsForceWhileItHoldsConfig) {
  ASSERT_EQ(api_->Call("POST", "/api/v1/environments", json{{"name", "tmp"}}).status, 201);
  auto tmp = ClientFor("tmp");
  ASSERT_EQ(tmp->Call("PUT", "/api/v1/config/c", json{{"data", {{"x", 1}}}}).status, 200);
  auto refused = api_->Call("DELETE", "/api/v1/environments/tmp");
  EXPECT_EQ(refused.status, 409) << refused.raw;
  ASSERT_EQ(api_->Call("DELETE", "/api/v1/environments/tmp?force=true").status, 204);
  ASSERT_EQ(api_->Call("POST", "/api/v1/environments", json{{"name", "tmp"}}).status, 201);
  EXPECT_EQ(tmp->Call("GET", "/api/v1/config/c").status, 404) << "a recreated environment starts empty";
}

}  // namespace
}  // namespace ironflow::server::testing
