// System events: an independent NATS subscriber sees every mutation with the right subject and payload and no
// value; the SSE stream delivers only the request's environment.
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <thread>

#include "support/api_fixture.h"
#include "support/sse_reader.h"

namespace ironflow::server::testing {
namespace {

using nlohmann::json;

class EventsTest : public ApiTest {};

TEST_F(EventsTest, IndependentSubscriberSeesEveryMutationWithoutTheValue) {
  auto nc = nats_.Connect();
  Collector got;
  auto sub = nc->Subscribe("system.secret.>",
                           [&](std::string_view s, std::string_view d) { got.Add(std::string(s), std::string(d)); });
  ASSERT_TRUE(sub.ok());
  std::string v1 = NewValue(), v2 = NewValue();
  auto c = api_->Call("POST", "/api/v1/secrets", json{{"name", "STRIPE_KEY"}, {"value", v1}});
  auto u = api_->Call("PUT", "/api/v1/secrets/STRIPE_KEY", json{{"value", v2}});
  auto p = api_->Call("PATCH", "/api/v1/secrets/STRIPE_KEY", json{{"description", "d"}});
  ASSERT_EQ(api_->Call("DELETE", "/api/v1/secrets/STRIPE_KEY").status, 204);

  struct Want {
    std::string subject, type;
    uint64_t revision;
  };
  std::vector<Want> want = {{"system.secret.STRIPE_KEY.created", "secret.created", c.body["revision"]},
                            {"system.secret.STRIPE_KEY.updated", "secret.updated", u.body["revision"]},
                            {"system.secret.STRIPE_KEY.updated", "secret.updated", p.body["revision"]},
                            {"system.secret.STRIPE_KEY.deleted", "secret.deleted", 0}};
  for (const auto& w : want) {
    std::pair<std::string, std::string> ev;
    ASSERT_TRUE(got.Next(&ev)) << "missing event " << w.subject;
    EXPECT_EQ(ev.first, w.subject);
    EXPECT_EQ(ev.second.find(v1), std::string::npos);
    EXPECT_EQ(ev.second.find(v2), std::string::npos);
    json j = json::parse(ev.second);
    EXPECT_EQ(j["type"], w.type);
    EXPECT_EQ(j["environment"], "default");
    EXPECT_EQ(j["name"], "STRIPE_KEY");
    EXPECT_EQ(j["actor"]["type"], "apikey");
    EXPECT_EQ(j["actor"]["name"], "bootstrap-admin");
    EXPECT_FALSE(j.contains("value"));
    EXPECT_TRUE(j["timestamp"].is_string());
    if (w.revision)
      EXPECT_EQ(j["revision"], w.revision);
    else
      EXPECT_GT(j["revision"].get<uint64_t>(), p.body["revision"].get<uint64_t>());
  }
}

TEST_F(EventsTest, FailedMutationsPublishNothing) {
  auto nc = nats_.Connect();
  Collector got;
  auto sub = nc->Subscribe("system.>",
                           [&](std::string_view s, std::string_view d) { got.Add(std::string(s), std::string(d)); });
  ASSERT_EQ(api_->Call("PUT", "/api/v1/secrets/K", json{{"value", NewValue()}}, {{"If-Match", "12345"}}).status, 412);
  ASSERT_EQ(api_->Call("DELETE", "/api/v1/secrets/K").status, 404);
  // A successful write afterwards is the first thing the subscriber sees.
  ASSERT_EQ(api_->Call("PUT", "/api/v1/secrets/K", json{{"value", NewValue()}}).status, 201);
  std::pair<std::string, std::string> ev;
  ASSERT_TRUE(got.Next(&ev));
  EXPECT_EQ(ev.first, "system.secret.K.created");
}

TEST_F(EventsTest, EventsAreStoredInTheSystemStreamForAudit) {
  ASSERT_EQ(api_->Call("PUT", "/api/v1/secrets/AUDITED", json{{"value", NewValue()}}).status, 201);
  auto nc = nats_.Connect();
  // Read the stream's last message on the subject through the JetStream API.
  natsMsg* msg = nullptr;
  std::string req = R"({"last_by_subj":"system.secret.AUDITED.created"})";
  natsStatus s = natsConnection_Request(&msg, nc->raw(), "$JS.API.STREAM.MSG.GET.IRONFLOW_SYSTEM", req.data(),
                                        static_cast<int>(req.size()), 5000);
  ASSERT_EQ(s, NATS_OK);
  std::string body(natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
  natsMsg_Destroy(msg);
  json j = json::parse(body);
  ASSERT_TRUE(j.contains("message")) << body;
  EXPECT_EQ(j["message"]["subject"], "system.secret.AUDITED.created");
}

TEST_F(EventsTest, WriteWhoseAuditEventCannotBeStoredIsNotAcknowledged) {
  // Every acknowledged change has its audit event. With the audit stream gone, the event is retried (with
  // backoff, for about 10 s, as across a leader election), then the write is answered 503, not 201; the failure
  // is logged and counted, without the value.
  auto nc = nats_.Connect();
  natsMsg* reply = nullptr;
  ASSERT_EQ(natsConnection_RequestString(&reply, nc->raw(), "$JS.API.STREAM.DELETE.IRONFLOW_SYSTEM", "", 5000),
            NATS_OK);
  natsMsg_Destroy(reply);
  const std::string value = NewValue();
  auto put = api_->Call("PUT", "/api/v1/secrets/UNAUDITED", json{{"value", value}});
  EXPECT_EQ(put.status, 503) << put.raw;
  EXPECT_EQ(put.body["error"]["code"], "unavailable") << put.raw;
  EXPECT_EQ(put.raw.find(value), std::string::npos);
  const std::string metrics = api_->Call("GET", "/metrics").raw;
  EXPECT_NE(metrics.find("ironflow_event_publish_failures_total 1\n"), std::string::npos) << metrics;
  const std::string log = server_->log();
  EXPECT_NE(log.find("event system.secret.UNAUDITED.created (environment default) not stored"), std::string::npos)
      << log;
  EXPECT_EQ(log.find(value), std::string::npos);
}

TEST_F(EventsTest, StreamDeliversOnlyTheRequestEnvironmentsEvents) {
  ASSERT_EQ(api_->Call("POST", "/api/v1/environments", json{{"name", "staging"}}).status, 201);
  SseReader reader(server_->url(), server_->api_key(), "default", "/api/v1/stream?subject=system.secret.>");
  std::pair<std::string, std::string> frame;
  ASSERT_TRUE(reader.frames().Next(&frame));
  EXPECT_EQ(frame.second, ": subscribed");

  std::string staging_value = NewValue();
  ASSERT_EQ(ClientFor("staging")->Call("PUT", "/api/v1/secrets/OTHER_ENV", json{{"value", staging_value}}).status, 201);
  ASSERT_EQ(api_->Call("PUT", "/api/v1/secrets/MINE", json{{"value", NewValue()}}).status, 201);
  ASSERT_TRUE(reader.frames().Next(&frame));
  ASSERT_EQ(frame.second.rfind("data: ", 0), 0u) << frame.second;
  json j = json::parse(frame.second.substr(6));
  EXPECT_EQ(j["subject"], "system.secret.MINE.created");
  EXPECT_EQ(j["data"]["environment"], "default");
  EXPECT_EQ(frame.second.find("OTHER_ENV"), std::string::npos);
  // End the stream: the reader stops after the frame this write produces.
  reader.StopAfterNextFrame();
  ASSERT_EQ(api_->Call("PUT", "/api/v1/secrets/MINE", json{{"value", NewValue()}}).status, 200);
  ASSERT_TRUE(reader.frames().Next(&frame));
}

TEST_F(EventsTest, TwoServersOnOneNatsActAsOneSystem) {
  TempDir second_dir;
  ServerProcess second({nats_.url(), second_dir.path() + "/data", master_key_});
  std::string error;
  ASSERT_TRUE(second.Start(&error)) << error;
  EXPECT_TRUE(second.api_key().empty()) << "a second server created another bootstrap key";
  // The first server's key works on the second: keys live in NATS, not in a process.
  ApiClient via_second(second.url(), server_->api_key());
  SseReader reader(second.url(), server_->api_key(), "default", "/api/v1/stream?subject=system.secret.>");
  std::pair<std::string, std::string> frame;
  ASSERT_TRUE(reader.frames().Next(&frame));

  ASSERT_EQ(api_->Call("POST", "/api/v1/environments", json{{"name", "shared"}}).status, 201);
  via_second.set_environment("shared");
  auto created = via_second.Call("PUT", "/api/v1/secrets/K", json{{"value", NewValue()}});
  ASSERT_EQ(created.status, 201) << created.raw;
  auto seen = ClientFor("shared")->Call("GET", "/api/v1/secrets/K");
  EXPECT_EQ(seen.body, created.body);
  // A write through the first server reaches a stream served by the second (default environment).
  reader.StopAfterNextFrame();
  ASSERT_EQ(api_->Call("PUT", "/api/v1/secrets/VIA_FIRST", json{{"value", NewValue()}}).status, 201);
  ASSERT_TRUE(reader.frames().Next(&frame));
  EXPECT_NE(frame.second.find("system.secret.VIA_FIRST.created"), std::string::npos) << frame.second;
}

TEST_F(EventsTest, StreamRejectsNonSystemSubjectsAndNeedsAuth) {
  EXPECT_EQ(api_->Call("GET", "/api/v1/stream?subject=events.>").status, 400);
  EXPECT_EQ(api_->Call("GET", "/api/v1/stream?subject=system..x").status, 400);
  auto anon = ClientFor("default");
  anon->set_api_key("");
  EXPECT_EQ(anon->Call("GET", "/api/v1/stream").status, 401);
}

}  // namespace
}  // namespace ironflow::server::testing
