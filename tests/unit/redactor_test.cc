// Redaction (runtime/redactor.h): no resolved secret value survives in what a function returned, however it
// appears; short values and ordinary text are left alone.
#include "runtime/redactor.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <utility>

namespace ironflow::server {
namespace {

SecretValues Values(std::initializer_list<std::pair<const char*, std::string>> list) {
  SecretValues out;
  for (const auto& [name, value] : list) out.emplace(name, SecretString(value));
  return out;
}

TEST(RedactorTest, EveryOccurrenceIsMaskedWithTheSecretsName) {
  EXPECT_EQ(Redact(R"({"msg":"key sk_live_123 and again sk_live_123"})", Values({{"STRIPE_KEY", "sk_live_123"}})),
            R"({"msg":"key [REDACTED:STRIPE_KEY] and again [REDACTED:STRIPE_KEY]"})");
}

TEST(RedactorTest, AValueContainingAnotherIsMaskedAsAWhole) {
  const std::string out = Redact("token=abcd-efgh-ijkl", Values({{"SHORT", "efgh"}, {"LONG", "abcd-efgh-ijkl"}}));
  EXPECT_EQ(out, "token=[REDACTED:LONG]");
}

TEST(RedactorTest, OverlappingOccurrencesLeaveNoPartOfTheValue) {
  const std::string out = Redact("abababab", Values({{"S", "abab"}}));
  EXPECT_EQ(out.find("abab"), std::string::npos) << out;
}

TEST(RedactorTest, AValueIsFoundInItsJsonEscapedForm) {
  // A value with a quote and a backslash, as it appears inside a JSON string.
  const std::string value = "pa\"ss\\word";
  const std::string json_text = R"({"error":"login with pa\"ss\\word failed"})";
  const std::string out = Redact(json_text, Values({{"PASSWORD", value}}));
  EXPECT_EQ(out.find(R"(pa\"ss\\word)"), std::string::npos) << out;
  EXPECT_NE(out.find("[REDACTED:PASSWORD]"), std::string::npos) << out;
}

TEST(RedactorTest, ValuesShorterThanFourBytesAreNotMasked) {
  EXPECT_EQ(Redact("status: on", Values({{"FLAG", "on"}})), "status: on");
  EXPECT_EQ(Redact("nothing to hide", {}), "nothing to hide");
}

}  // namespace
}  // namespace ironflow::server
