// The access matrix, built from the running server's own route table (api/router.h): every route × every role
// (and an empty or unknown one) × a key bound or not to an environment × the environment the request names.
//
// The expected access of each route is written out here, independently of where the routes declare theirs: a
// route added without an entry, a route whose access changed, or an entry whose route went away fails the test,
// so every change to who may call what is a visible change to this file. The routes are then copied into a
// Router whose handlers only say "reached", and each cell of the matrix is dispatched through it.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/api_util.h"
#include "api/router.h"
#include "server/server.h"
#include "support/nats_fixture.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace ironflow::server::testing {
namespace {

using A = Access;

// What each route needs. Public routes are never authenticated; every other one needs a key whose role grants
// the level.
const std::map<std::pair<std::string, std::string>, Access>& ExpectedAccess() {
  static const std::map<std::pair<std::string, std::string>, Access> table = {
      {{"GET", "/"}, A::kPublic},
      {{"GET", "/ui/{file}"}, A::kPublic},
      {{"GET", "/healthz"}, A::kPublic},
      {{"GET", "/readyz"}, A::kPublic},
      {{"GET", "/metrics"}, A::kPublic},
      {{"GET", "/api/v1/status"}, A::kAuthenticated},
      {{"GET", "/api/v1/environments"}, A::kAuthenticated},
      {{"POST", "/api/v1/environments"}, A::kAdmin},
      {{"DELETE", "/api/v1/environments/{name}"}, A::kAdmin},
      {{"POST", "/api/v1/apikeys"}, A::kAdmin},
      {{"GET", "/api/v1/apikeys"}, A::kAdmin},
      {{"POST", "/api/v1/apikeys/{id}/rotate"}, A::kAdmin},
      {{"DELETE", "/api/v1/apikeys/{id}"}, A::kAdmin},
      {{"POST", "/api/v1/rekey"}, A::kAdmin},
      {{"GET", "/api/v1/signing-key"}, A::kAdmin},
      {{"POST", "/api/v1/signing-key/rotate"}, A::kAdmin},
      {{"GET", "/api/v1/secrets"}, A::kRead},
      {{"POST", "/api/v1/secrets"}, A::kWrite},
      {{"GET", "/api/v1/secrets/{name}"}, A::kRead},
      {{"PUT", "/api/v1/secrets/{name}"}, A::kWrite},
      {{"PATCH", "/api/v1/secrets/{name}"}, A::kWrite},
      {{"DELETE", "/api/v1/secrets/{name}"}, A::kWrite},
      {{"GET", "/api/v1/secrets/{name}/versions"}, A::kRead},
      {{"POST", "/api/v1/secrets/{name}/rollback"}, A::kWrite},
      {{"GET", "/api/v1/stream"}, A::kRead},
      {{"GET", "/api/v1/audit"}, A::kRead},
      {{"GET", "/api/v1/config"}, A::kConfigRead},
      {{"GET", "/api/v1/config/{name}"}, A::kConfigRead},
      {{"PUT", "/api/v1/config/{name}"}, A::kWrite},
      {{"PATCH", "/api/v1/config/{name}"}, A::kWrite},
      {{"DELETE", "/api/v1/config/{name}"}, A::kWrite},
      {{"GET", "/api/v1/config/{name}/watch"}, A::kConfigRead},
      {{"POST", "/api/v1/kv/buckets"}, A::kWrite},
      {{"GET", "/api/v1/kv/buckets"}, A::kRead},
      {{"GET", "/api/v1/kv/buckets/{bucket}"}, A::kRead},
      {{"DELETE", "/api/v1/kv/buckets/{bucket}"}, A::kWrite},
      {{"GET", "/api/v1/kv/buckets/{bucket}/keys"}, A::kKvRead},
      {{"GET", "/api/v1/kv/buckets/{bucket}/keys/{key}"}, A::kKvRead},
      {{"PUT", "/api/v1/kv/buckets/{bucket}/keys/{key}"}, A::kKvWrite},
      {{"DELETE", "/api/v1/kv/buckets/{bucket}/keys/{key}"}, A::kKvWrite},
      {{"POST", "/api/v1/kv/buckets/{bucket}/keys/{key}/increment"}, A::kKvWrite},
      {{"GET", "/api/v1/kv/buckets/{bucket}/watch"}, A::kKvRead},
      {{"POST", "/api/v1/events"}, A::kEmit},
      {{"POST", "/api/v1/functions"}, A::kRegister},
      {{"GET", "/api/v1/functions"}, A::kRead},
      {{"GET", "/api/v1/functions/{id}"}, A::kRead},
      {{"GET", "/api/v1/runs"}, A::kRead},
      {{"GET", "/api/v1/runs/{id}"}, A::kRead},
      {{"POST", "/api/v1/workers/{worker_id}/register"}, A::kWorker},
      {{"POST", "/api/v1/workers/{worker_id}/heartbeat"}, A::kWorker},
      {{"GET", "/api/v1/workers/{worker_id}/jobs"}, A::kWorker},
      {{"PUT", "/api/v1/workers/{worker_id}/jobs/{job_id}"}, A::kWorker},
  };
  return table;
}

// The levels each role grants (docs/security.md); an empty or unknown role grants none.
bool Grants(const std::string& role, Access a) {
  static const std::map<std::string, std::set<Access>> grants = {
      {"admin",
       {A::kAuthenticated, A::kRead, A::kConfigRead, A::kKvRead, A::kKvWrite, A::kWrite, A::kEmit, A::kRegister,
        A::kWorker, A::kAdmin}},
      {"manager",
       {A::kAuthenticated, A::kRead, A::kConfigRead, A::kKvRead, A::kKvWrite, A::kWrite, A::kEmit, A::kRegister}},
      {"reader", {A::kAuthenticated, A::kRead, A::kConfigRead, A::kKvRead}},
      {"worker", {A::kAuthenticated, A::kWorker, A::kEmit, A::kRegister, A::kConfigRead, A::kKvRead, A::kKvWrite}},
  };
  auto it = grants.find(role);
  return it != grants.end() && it->second.count(a) > 0;
}

// Adds `routes` to `probe` with handlers that only answer 299 ("reached"): a route's own handler never runs.
void AddProbeRoutes(Router& probe, const std::vector<RouteInfo>& routes) {
  for (const auto& r : routes) {
    probe.Add(r.method, r.pattern, r.access, [](const ApiCall&) {
      return api::JsonResponse(299, nlohmann::json{{"reached", true}});
    });
  }
}

std::string ConcretePath(const std::string& pattern) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '{') {
      i = pattern.find('}', i);
      out += "x";
    } else {
      out += pattern[i];
    }
  }
  return out;
}

class RouteAccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(nats_.running());
    ServerConfig config;
    config.port = 0;
    config.nats_url = nats_.url();
    config.data_dir = dir_.path() + "/data";
    config.master_key_hex = NewMasterKey();
    auto started = Server::Start(config);
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    server_ = std::move(started).value();
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  NatsFixture nats_;
  TempDir dir_;
  std::unique_ptr<Server> server_;
};

TEST_F(RouteAccessTest, EveryServedRouteDeclaresTheAccessThisTableExpects) {
  const auto routes = server_->routes();
  std::set<std::pair<std::string, std::string>> served;
  for (const auto& r : routes) {
    const auto id = std::make_pair(r.method, r.pattern);
    served.insert(id);
    auto it = ExpectedAccess().find(id);
    if (it == ExpectedAccess().end()) {
      ADD_FAILURE() << r.method << " " << r.pattern << " (" << AccessName(r.access)
                    << ") is served but has no entry in this test: add it with the access it should need";
      continue;
    }
    EXPECT_EQ(AccessName(r.access), std::string(AccessName(it->second))) << r.method << " " << r.pattern;
  }
  for (const auto& [id, access] : ExpectedAccess()) {
    EXPECT_TRUE(served.count(id)) << id.first << " " << id.second << " is expected but not served";
  }
}

TEST_F(RouteAccessTest, EachRoleAndBoundEnvironmentReachesExactlyTheRoutesItsLevelsGrant) {
  // A Router with the served table whose handlers only report that they ran. The key names the actor:
  // "Bearer <role>" or "Bearer <role>@<bound environment>".
  Metrics metrics;
  Router probe(
      [](const HttpRequest& r) -> Result<Actor> {
        auto auth = r.header("authorization");
        if (!auth) return Status::Unauthenticated("missing API key");
        std::string who = auth->substr(std::string("Bearer ").size());
        std::string env;
        if (auto at = who.find('@'); at != std::string::npos) {
          env = who.substr(at + 1);
          who.resize(at);
        }
        return Actor{"apikey", "key_1", "probe", ParseRole(who).value_or(Role::kNone), env};
      },
      metrics);
  const auto routes = server_->routes();
  ASSERT_GT(routes.size(), 40u);
  AddProbeRoutes(probe, routes);
  ASSERT_TRUE(probe.Check().ok()) << probe.Check().ToString();

  const std::vector<std::string> roles = {"admin", "manager", "reader", "worker", "", "owner"};
  const std::vector<std::string> bound = {"", "staging"};
  const std::vector<std::optional<std::string>> named = {std::nullopt, "staging", "production"};
  int cells = 0, reached = 0;
  for (const auto& r : routes) {
    for (const auto& role : roles) {
      for (const auto& env : bound) {
        for (const auto& header : named) {
          HttpRequest request;
          request.method = r.method;
          request.path = ConcretePath(r.pattern);
          request.headers.emplace_back("authorization", "Bearer " + role + (env.empty() ? "" : "@" + env));
          if (header) request.headers.emplace_back("x-ironflow-environment", *header);
          const bool other_environment = !env.empty() && header && *header != env;
          const bool allowed = r.access == Access::kPublic || (Grants(role, r.access) && !other_environment);
          const int status = probe.Dispatch(request).status;
          ++cells;
          if (status == 299) ++reached;
          EXPECT_EQ(status, allowed ? 299 : 403)
              << r.method << " " << r.pattern << " role \"" << role << "\" bound to \"" << env << "\" naming \""
              << header.value_or("(none)") << "\"";
        }
      }
    }
  }
  EXPECT_EQ(cells, static_cast<int>(routes.size() * roles.size() * bound.size() * named.size()));
  EXPECT_GT(reached, 0);
  EXPECT_LT(reached, cells);
}

TEST_F(RouteAccessTest, APublicRouteAnswersWithoutAKeyAndEveryOtherOneAsks) {
  Metrics metrics;
  Router probe([](const HttpRequest&) -> Result<Actor> { return Status::Unauthenticated("missing API key"); }, metrics);
  const auto routes = server_->routes();
  AddProbeRoutes(probe, routes);
  for (const auto& r : routes) {
    HttpRequest request;
    request.method = r.method;
    request.path = ConcretePath(r.pattern);
    EXPECT_EQ(probe.Dispatch(request).status, r.access == Access::kPublic ? 299 : 401) << r.method << " " << r.pattern;
  }
}

}  // namespace
}  // namespace ironflow::server::testing
