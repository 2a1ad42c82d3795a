// /api/v1/environments: explicit creation, validation, and guarded deletion.
#include <gtest/gtest.h>

#include "support/api_fixture.h"

namespace ironflow::server::testing {
namespace {

using nlohmann::json;

class ApiEnvironmentsTest : public ApiTest {};

std::vector<std::string> EnvNames(ApiClient& api) {
  std::vector<std::string> out;
  auto r = api.Call("GET", "/api/v1/environments");
  for (const auto& e : r.body["environments"]) out.push_back(e["name"]);
  return out;
}

TEST_F(ApiEnvironmentsTest, DefaultExistsFromFirstStart) {
  EXPECT_EQ(EnvNames(*api_), std::vector<std::string>{"default"});
}

TEST_F(ApiEnvironmentsTest, CreateListDuplicateAndInvalidNames) {
  auto c = api_->Call("POST", "/api/v1/environments", json{{"name", "production"}});
  ASSERT_EQ(c.status, 201) << c.raw;
  EXPECT_EQ(c.body["name"], "production");
  EXPECT_EQ(api_->Call("POST", "/api/v1/environments", json{{"name", "production"}}).status, 409);
  for (const char* bad : {"Production", "-lead", "has space", "dot.ted", "under_score", ""}) {
    auto r = api_->Call("POST", "/api/v1/environments", json{{"name", bad}});
    EXPECT_EQ(r.status, 400) << bad;
  }
  EXPECT_EQ(api_->Call("POST", "/api/v1/environments", json{{"name", std::string(64, 'a')}}).status, 400);
  EXPECT_EQ(api_->Call("POST", "/api/v1/environments", json{{"name", std::string(63, 'a')}}).status, 201);
  EXPECT_EQ(EnvNames(*api_), (std::vector<std::string>{std::string(63, 'a'), "default", "production"}));
}

TEST_F(ApiEnvironmentsTest, DeleteIsRefusedWhileItHoldsSecretsUnlessForced) {
  ASSERT_EQ(api_->Call("POST", "/api/v1/environments", json{{"name", "staging"}}).status, 201);
  auto staging = ClientFor("staging");
  ASSERT_EQ(staging->Call("POST", "/api/v1/secrets", json{{"name", "A"}, {"value", NewValue()}}).status, 201);
  auto refused = api_->Call("DELETE", "/api/v1/environments/staging");
  EXPECT_EQ(refused.status, 409);
  EXPECT_EQ(refused.body["error"]["code"], "conflict");
  EXPECT_EQ(staging->Call("GET", "/api/v1/secrets/A").status, 200);

  EXPECT_EQ(api_->Call("DELETE", "/api/v1/environments/staging?force=true").status, 204);
  EXPECT_EQ(EnvNames(*api_), std::vector<std::string>{"default"});
  EXPECT_EQ(staging->Call("GET", "/api/v1/secrets").status, 404);
  // Re-created, it starts empty: the forced delete removed its secrets.
  ASSERT_EQ(api_->Call("POST", "/api/v1/environments", json{{"name", "staging"}}).status, 201);
  EXPECT_TRUE(staging->Call("GET", "/api/v1/secrets").body["secrets"].empty());
}

TEST_F(ApiEnvironmentsTest, DeletingUnknownIs404AndDefaultCannotBeDeleted) {
  EXPECT_EQ(api_->Call("DELETE", "/api/v1/environments/ghost").status, 404);
  EXPECT_EQ(api_->Call("DELETE", "/api/v1/environments/default").status, 409);
  EXPECT_EQ(api_->Call("DELETE", "/api/v1/environments/Bad_Name").status, 400);
  EXPECT_EQ(api_->Call("DELETE", "/api/v1/environments/ghost?force=maybe").status, 400);
}

}  // namespace
}  // namespace ironflow::server::testing
