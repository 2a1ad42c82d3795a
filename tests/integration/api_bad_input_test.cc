// Bad input gets a clear 4xx JSON error and changes nothing: a table of hostile or mistaken requests, each
// checked against the stored state (list + revision) before and after.
#include <gtest/gtest.h>

#include "support/api_fixture.h"
#include "support/raw_http.h"

namespace ironflow::server::testing {
namespace {

using nlohmann::json;

struct BadRequest {
  std::string label;
  std::string method;
  std::string target;
  std::string body;
  HeaderList headers;
  int status;
  std::string code;
};

class ApiBadInputTest : public ApiTest {};

TEST_F(ApiBadInputTest, EveryBadRequestGetsItsErrorAndChangesNothing) {
  std::string value = NewValue();
  auto created =
      api_->Call("POST", "/api/v1/secrets", json{{"name", "EXISTING"}, {"value", value}, {"description", "d"}});
  ASSERT_EQ(created.status, 201);
  const std::string rev = std::to_string(created.body["revision"].get<uint64_t>());
  const std::string big_value(64 * 1024 + 1, 'x');
  const std::string huge_body = "{\"value\":\"" + std::string(1024 * 1024 + 10, 'y') + "\"}";

  std::vector<BadRequest> table = {
      {"malformed json", "POST", "/api/v1/secrets", "{\"name\":", {}, 400, "invalid_argument"},
      {"not an object", "POST", "/api/v1/secrets", "[1,2]", {}, 400, "invalid_argument"},
      {"empty body", "PUT", "/api/v1/secrets/EXISTING", "", {}, 400, "invalid_argument"},
      {"typo field", "PUT", "/api/v1/secrets/EXISTING", R"({"valeu":"x"})", {}, 400, "invalid_argument"},
      {"extra field",
       "PUT",
       "/api/v1/secrets/EXISTING",
       R"({"value":"x","name":"OTHER"})",
       {},
       400,
       "invalid_argument"},
      {"value not a string", "PUT", "/api/v1/secrets/EXISTING", R"({"value":42})", {}, 400, "invalid_argument"},
      {"value null", "PUT", "/api/v1/secrets/EXISTING", R"({"value":null})", {}, 400, "invalid_argument"},
      {"empty value", "PUT", "/api/v1/secrets/EXISTING", R"({"value":""})", {}, 400, "invalid_argument"},
      {"missing value", "PUT", "/api/v1/secrets/EXISTING", R"({"description":"x"})", {}, 400, "invalid_argument"},
      {"description not a string",
       "PUT",
       "/api/v1/secrets/EXISTING",
       R"({"value":"x","description":7})",
       {},
       400,
       "invalid_argument"},
      {"value over 64 KiB",
       "PUT",
       "/api/v1/secrets/EXISTING",
       json{{"value", big_value}}.dump(),
       {},
       413,
       "payload_too_large"},
      {"body over 1 MiB", "PUT", "/api/v1/secrets/EXISTING", huge_body, {}, 413, "payload_too_large"},
      {"invalid UTF-8",
       "PUT",
       "/api/v1/secrets/EXISTING",
       std::string("{\"value\":\"\xff\xfe\"}"),
       {},
       400,
       "invalid_argument"},
      {"name with dot", "PUT", "/api/v1/secrets/A.B", R"({"value":"x"})", {}, 400, "invalid_argument"},
      {"name with wildcard", "PUT", "/api/v1/secrets/A*", R"({"value":"x"})", {}, 400, "invalid_argument"},
      {"name with space", "PUT", "/api/v1/secrets/A%20B", R"({"value":"x"})", {}, 400, "invalid_argument"},
      {"name with encoded slash", "PUT", "/api/v1/secrets/A%2FB", R"({"value":"x"})", {}, 400, "invalid_argument"},
      {"name starting with digit",
       "POST",
       "/api/v1/secrets",
       R"({"name":"1ABC","value":"x"})",
       {},
       400,
       "invalid_argument"},
      {"name too long",
       "POST",
       "/api/v1/secrets",
       json{{"name", std::string(129, 'A')}, {"value", "x"}}.dump(),
       {},
       400,
       "invalid_argument"},
      {"name not a string", "POST", "/api/v1/secrets", R"({"name":["A"],"value":"x"})", {}, 400, "invalid_argument"},
      {"create existing", "POST", "/api/v1/secrets", R"({"name":"EXISTING","value":"x"})", {}, 409, "already_exists"},
      {"non-numeric If-Match",
       "PUT",
       "/api/v1/secrets/EXISTING",
       R"({"value":"x"})",
       {{"If-Match", "abc"}},
       400,
       "invalid_argument"},
      {"stale If-Match",
       "PUT",
       "/api/v1/secrets/EXISTING",
       R"({"value":"x"})",
       {{"If-Match", "999999"}},
       412,
       "precondition_failed"},
      {"unknown environment",
       "PUT",
       "/api/v1/secrets/EXISTING",
       R"({"value":"x"})",
       {{"X-Ironflow-Environment", "nope"}},
       404,
       "not_found"},
      {"invalid environment",
       "PUT",
       "/api/v1/secrets/EXISTING",
       R"({"value":"x"})",
       {{"X-Ironflow-Environment", "Bad Env"}},
       400,
       "invalid_argument"},
      {"patch without description", "PATCH", "/api/v1/secrets/EXISTING", R"({})", {}, 400, "invalid_argument"},
      {"patch with value",
       "PATCH",
       "/api/v1/secrets/EXISTING",
       R"({"description":"x","value":"y"})",
       {},
       400,
       "invalid_argument"},
      {"description too long",
       "PATCH",
       "/api/v1/secrets/EXISTING",
       json{{"description", std::string(2000, 'd')}}.dump(),
       {},
       400,
       "invalid_argument"},
      {"delete with stale If-Match",
       "DELETE",
       "/api/v1/secrets/EXISTING",
       std::string(),
       {{"If-Match", "1000000"}},
       412,
       "precondition_failed"},
      {"wrong method", "POST", "/api/v1/secrets/EXISTING", R"({"value":"x"})", {}, 405, "invalid_argument"},
      {"unknown route", "GET", "/api/v1/nothing", "", {}, 404, "not_found"},
  };

  auto snapshot = [&] { return api_->Call("GET", "/api/v1/secrets").raw; };
  const std::string before = snapshot();
  for (const auto& t : table) {
    HeaderList headers = t.headers;
    auto r = api_->Call(t.method, t.target, t.body, headers);
    EXPECT_EQ(r.status, t.status) << t.label << ": " << r.raw.substr(0, 300);
    ASSERT_TRUE(r.body.is_object()) << t.label << ": error body is not JSON: " << r.raw.substr(0, 300);
    EXPECT_EQ(r.body["error"]["code"], t.code) << t.label;
    EXPECT_TRUE(r.body["error"]["message"].is_string() && !r.body["error"]["message"].get<std::string>().empty())
        << t.label;
    EXPECT_EQ(r.raw.find(value), std::string::npos) << t.label;
    EXPECT_EQ(snapshot(), before) << t.label << " changed the stored state";
  }
  // The missing-header case (the fixture client always sends one).
  auto no_env = ClientFor("");
  no_env->set_environment("");
  auto r = no_env->Call("GET", "/api/v1/secrets");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["error"]["code"], "invalid_argument");
  EXPECT_EQ(snapshot(), before);
}

TEST_F(ApiBadInputTest, UnknownEnvironmentErrorSaysHowToCreateIt) {
  auto r = ClientFor("prodution")->Call("GET", "/api/v1/secrets");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body["error"]["message"].get<std::string>().find("ironflow env create prodution"), std::string::npos);
  // A typo never creates the environment.
  auto envs = api_->Call("GET", "/api/v1/environments");
  ASSERT_EQ(envs.status, 200);
  for (const auto& e : envs.body["environments"]) EXPECT_NE(e["name"], "prodution");
}

TEST_F(ApiBadInputTest, GarbageOnTheSocketGetsAnErrorAndTheServerKeepsServing) {
  // Written on a raw socket, so the malformed bytes reach the server exactly as sent (an HTTP client library
  // would refuse to send them, and the test could not fail).
  const std::string auth = "Authorization: Bearer " + server_->api_key() + "\r\n";
  const std::vector<std::pair<std::string, std::string>> garbage = {
      {"control byte in a header", "GET /api/v1/secrets HTTP/1.1\r\nHost: x\r\n" + auth + "X: \x01\r\n\r\n"},
      {"space in the target", "GET /api/v1/sec rets HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n"},
      {"not HTTP at all", std::string("\x16\x03\x01\x02\x00 hello\r\n\r\n")},
      {"bad version", "GET /api/v1/secrets HTTP/9.7\r\nHost: x\r\n" + auth + "\r\n"},
      {"header without colon", "GET /api/v1/secrets HTTP/1.1\r\nHost: x\r\n" + auth + "NoColonHere\r\n\r\n"},
  };
  for (const auto& [label, bytes] : garbage) {
    const std::string answer = RawExchange(server_->port(), bytes);
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << label << ": " << answer.substr(0, 200);
    EXPECT_EQ(api_->Call("GET", "/healthz").status, 200) << label << ": the server stopped serving";
  }
  auto huge_header = api_->Call("GET", "/api/v1/secrets", std::string(), {{"X-Big", std::string(20000, 'h')}});
  EXPECT_EQ(huge_header.status, 431) << huge_header.raw;
  EXPECT_EQ(api_->Call("GET", "/healthz").status, 200);
}

}  // namespace
}  // namespace ironflow::server::testing
