// Router (api/router.h): a request reaches the one route its method and path name, with its parameters decoded;
// an unknown path is 404, a known path with another method 405 with Allow; a route that needs a key is never run
// without one or for a role that lacks its access; a table with a public /api/ route or a route added twice is
// refused; metrics are labelled with the pattern, never the path.
#include "api/router.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/api_util.h"

namespace ironflow::server {
namespace {

HttpRequest Request(std::string method, std::string path, HeaderList headers = {}) {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.headers = std::move(headers);
  return r;
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest()
      : router_(
            [this](const HttpRequest& r) -> Result<Actor> {
              auto key = r.header("authorization");
              if (!key) return Status::Unauthenticated("missing API key");
              return Actor{"apikey", "key_1", "test", *key == "Bearer reader" ? Role::kReader : Role::kAdmin, ""};
            },
            metrics_) {
    router_.Add("GET", "/healthz", Access::kPublic, [this](const ApiCall&) {
      ++runs_;
      return api::JsonResponse(200, nlohmann::json{{"status", "ok"}});
    });
    router_.Add("GET", "/api/v1/secrets/{name}", Access::kRead, [this](const ApiCall& call) {
      ++runs_;
      return api::JsonResponse(200, nlohmann::json{{"name", call.params.at(0)}});
    });
    router_.Add("PUT", "/api/v1/secrets/{name}", Access::kWrite, [this](const ApiCall&) {
      ++runs_;
      return api::JsonResponse(200, nlohmann::json::object());
    });
  }
  Metrics metrics_;
  Router router_;
  int runs_ = 0;
};

TEST_F(RouterTest, ARequestReachesItsRouteWithDecodedParameters) {
  auto r = router_.Dispatch(Request("GET", "/api/v1/secrets/A%2FB", {{"authorization", "Bearer admin"}}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body)["name"], "A/B");
  EXPECT_EQ(runs_, 1);
}

TEST_F(RouterTest, UnknownPathsAre404AndOtherMethods405WithAllow) {
  auto missing = router_.Dispatch(Request("GET", "/api/v1/nothing"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(nlohmann::json::parse(missing.body)["error"]["code"], "not_found");
  auto wrong = router_.Dispatch(Request("DELETE", "/api/v1/secrets/A", {{"authorization", "Bearer admin"}}));
  EXPECT_EQ(wrong.status, 405);
  std::string allow;
  for (const auto& [k, v] : wrong.headers) {
    if (k == "Allow") allow = v;
  }
  EXPECT_EQ(allow, "GET, PUT");
  EXPECT_EQ(runs_, 0);
}

TEST_F(RouterTest, AKeyedRouteNeverRunsWithoutAKeyOrForARoleThatLacksItsAccess) {
  auto anonymous = router_.Dispatch(Request("GET", "/api/v1/secrets/A"));
  EXPECT_EQ(anonymous.status, 401);
  auto reader_write = router_.Dispatch(Request("PUT", "/api/v1/secrets/A", {{"authorization", "Bearer reader"}}));
  EXPECT_EQ(reader_write.status, 403);
  EXPECT_EQ(runs_, 0);
  EXPECT_EQ(router_.Dispatch(Request("GET", "/healthz")).status, 200) << "public routes need no key";
  EXPECT_EQ(router_.Dispatch(Request("HEAD", "/healthz")).status, 200) << "HEAD is served by the GET route";
}

TEST_F(RouterTest, TheDeclaredTableIsReportedAndPassesTheCheck) {
  EXPECT_TRUE(router_.Check().ok()) << router_.Check().ToString();
  auto table = router_.routes();
  ASSERT_EQ(table.size(), 3u);
  EXPECT_EQ(table[2].method, "PUT");
  EXPECT_EQ(table[2].pattern, "/api/v1/secrets/{name}");
  EXPECT_EQ(table[2].access, Access::kWrite);
}

TEST_F(RouterTest, APublicApiRouteOrARouteAddedTwiceFailsTheCheck) {
  auto ok = [](const ApiCall&) { return api::JsonResponse(200, nlohmann::json::object()); };
  Router public_api([](const HttpRequest&) -> Result<Actor> { return Status::Unauthenticated("no"); }, metrics_);
  public_api.Add("GET", "/api/v1/things", Access::kPublic, ok);
  EXPECT_TRUE(public_api.Check().is(Code::kInternal));
  EXPECT_NE(public_api.Check().message().find("GET /api/v1/things"), std::string::npos);

  Router twice([](const HttpRequest&) -> Result<Actor> { return Status::Unauthenticated("no"); }, metrics_);
  twice.Add("GET", "/api/v1/things", Access::kRead, ok);
  twice.Add("GET", "/api/v1/things", Access::kAdmin, ok);
  EXPECT_TRUE(twice.Check().is(Code::kInternal));
  EXPECT_NE(twice.Check().message().find("added twice"), std::string::npos);
}

TEST_F(RouterTest, MetricsNameThePatternNeverThePath) {
  router_.Dispatch(Request("GET", "/api/v1/secrets/STRIPE_KEY", {{"authorization", "Bearer admin"}}));
  const std::string text = metrics_.Render(Metrics::Gauges{});
  EXPECT_NE(text.find("route=\"/api/v1/secrets/{name}\""), std::string::npos);
  EXPECT_EQ(text.find("STRIPE_KEY"), std::string::npos);
}

}  // namespace
}  // namespace ironflow::server
