// Client retries: a keyed write answered 503 is sent again with the same Idempotency-Key until it gets a final
// answer; a write the server cannot replay is sent once; the keyed routes are exactly the server's.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "http/http_server.h"
#include "http/request_retry.h"

namespace ironflow::server {
namespace {

class FlakyServer {
 public:
  explicit FlakyServer(int failures) : failures_(failures) {
    server_ = std::make_unique<HttpServer>(HttpServer::Options{"127.0.0.1", 0, 2}, [this](const HttpRequest& req) {
      std::lock_guard<std::mutex> lock(mu_);
      keys_.push_back(req.header("idempotency-key").value_or(""));
      HttpResponse res;
      res.status = static_cast<int>(keys_.size()) <= failures_ ? 503 : 200;
      res.body = res.status == 200 ? R"({"ok":true})" : R"({"error":{"code":"unavailable","message":"election"}})";
      return res;
    });
    EXPECT_TRUE(server_->Start().ok());
  }
  ~FlakyServer() { server_->Stop(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  // One logical request to this server through SendWithRetries; the final status (-1: no answer).
  int Send(const std::string& method, const std::string& target, HeaderList headers = {}, RetryPolicy policy = {}) {
    auto client = HttpClient::Create(url());
    if (!client.ok()) return -1;
    auto res = SendWithRetries(**client, method, target, headers, "{}", 5000, policy);
    return res.ok() ? res->status : -1;
  }
  std::vector<std::string> keys() {
    std::lock_guard<std::mutex> lock(mu_);
    return keys_;
  }

 private:
  int failures_;
  std::mutex mu_;
  std::vector<std::string> keys_;
  std::unique_ptr<HttpServer> server_;
};

TEST(RequestRetry, KeyedWriteAnswered503IsSentAgainWithTheSameIdempotencyKey) {
  FlakyServer server(2);
  EXPECT_EQ(server.Send("POST", "/api/v1/kv/buckets/b/keys/hits/increment"), 200);
  auto keys = server.keys();
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[0].size(), 32u);
  EXPECT_EQ(keys[1], keys[0]);
  EXPECT_EQ(keys[2], keys[0]);
}

TEST(RequestRetry, WriteTheServerCannotReplayIsSentOnce) {
  FlakyServer server(5);
  EXPECT_EQ(server.Send("POST", "/api/v1/apikeys"), 503) << "the 503 is the caller's to report";
  EXPECT_EQ(server.keys(), std::vector<std::string>{""});
}

TEST(RequestRetry, GivesUpAfterItsAttemptsAndReturnsTheLastAnswer) {
  FlakyServer server(100);
  RetryPolicy policy;
  policy.max_attempts = 2;
  EXPECT_EQ(server.Send("PUT", "/api/v1/config/flags", {{"Idempotency-Key", "mine"}}, policy), 503);
  EXPECT_EQ(server.keys(), (std::vector<std::string>{"mine", "mine"})) << "a caller's own key is kept";
}

TEST(RequestRetry, KeyedRoutesAreTheServersReplayableWrites) {
  for (const auto& [method, target] :
       std::vector<std::pair<std::string, std::string>>{{"POST", "/api/v1/events"},
                                                        {"POST", "/api/v1/secrets"},
                                                        {"PUT", "/api/v1/secrets/STRIPE_KEY"},
                                                        {"PATCH", "/api/v1/secrets/STRIPE_KEY"},
                                                        {"DELETE", "/api/v1/secrets/STRIPE_KEY"},
                                                        {"POST", "/api/v1/secrets/STRIPE_KEY/rollback"},
                                                        {"PUT", "/api/v1/config/flags"},
                                                        {"PATCH", "/api/v1/config/flags?x=1"},
                                                        {"DELETE", "/api/v1/config/flags"},
                                                        {"PUT", "/api/v1/kv/buckets/b/keys/k"},
                                                        {"DELETE", "/api/v1/kv/buckets/b/keys/k?purge=true"},
                                                        {"POST", "/api/v1/kv/buckets/b/keys/k/increment"}}) {
    EXPECT_TRUE(IdempotentRoute(method, target)) << method << " " << target;
  }
  for (const auto& [method, target] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/api/v1/secrets"},
                                                        {"POST", "/api/v1/rekey"},
                                                        {"POST", "/api/v1/kv/buckets"},
                                                        {"DELETE", "/api/v1/kv/buckets/b"},
                                                        {"POST", "/api/v1/apikeys"},
                                                        {"POST", "/api/v1/environments"},
                                                        {"POST", "/api/v1/functions"},
                                                        {"POST", "/api/v1/workers/w/poll"},
                                                        {"GET", "/api/v1/config/flags"}}) {
    EXPECT_FALSE(IdempotentRoute(method, target)) << method << " " << target;
  }
}

}  // namespace
}  // namespace ironflow::server
