// The result body of both delivery modes (api/job_result_body.h): a well-formed body becomes a JobResult with
// its output, error and steps; anything else is refused with a message that names the field.
#include "api/job_result_body.h"

#include <gtest/gtest.h>

#include <string>

namespace ironflow::server {
namespace {

TEST(JobResultBodyTest, ACompletedResultCarriesItsOutputAndSteps) {
  auto r = ParseJobResult(R"({"lease_token":"tok","status":"completed","output":{"ok":1},
                              "steps":[{"id":"charge","output":42},{"id":"mail"}]})",
                          true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->completed);
  EXPECT_EQ(r->lease_token, "tok");
  EXPECT_EQ(r->output_json, R"({"ok":1})");
  ASSERT_EQ(r->steps.size(), 2u);
  EXPECT_EQ(r->steps[0].id, "charge");
  EXPECT_EQ(r->steps[0].output_json, "42");
  EXPECT_EQ(r->steps[1].output_json, "null");
}

TEST(JobResultBodyTest, AFailureKeepsItsMessageAndWhetherToRetry) {
  auto final_failure =
      ParseJobResult(R"({"status":"failed","error":{"message":"card declined","retryable":false}})", false);
  ASSERT_TRUE(final_failure.ok());
  EXPECT_FALSE(final_failure->completed);
  EXPECT_EQ(final_failure->error, "card declined");
  EXPECT_FALSE(final_failure->retryable);
  auto bare = ParseJobResult(R"({"status":"failed"})", false);
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->error, "function failed");
  EXPECT_TRUE(bare->retryable);
}

TEST(JobResultBodyTest, MalformedBodiesAreRefusedNamingTheField) {
  const std::pair<const char*, const char*> cases[] = {
      {"[]", "JSON object"},
      {R"({"status":"done"})", "status"},
      {R"({"status":"completed","extra":1})", "extra"},
      {R"({"status":"failed","error":"boom"})", "error"},
      {R"({"status":"failed","error":{"message":"x","retryable":"no"}})", "error.retryable"},
      {R"({"status":"completed","steps":{}})", "steps"},
      {R"({"status":"completed","steps":[{"output":1}]})", "step"},
  };
  for (const auto& [body, field] : cases) {
    auto r = ParseJobResult(body, false);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_TRUE(r.status().is(Code::kInvalidArgument)) << body;
    EXPECT_NE(r.status().message().find(field), std::string::npos) << body << ": " << r.status().message();
  }
  EXPECT_FALSE(ParseJobResult(R"({"status":"completed"})", true).ok()) << "a pull result needs its lease token";
  EXPECT_FALSE(ParseJobResult(std::string(200, '[') + std::string(200, ']'), false).ok()) << "nesting past the limit";
}

}  // namespace
}  // namespace ironflow::server
