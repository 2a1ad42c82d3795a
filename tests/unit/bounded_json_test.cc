// Bounded JSON: the nesting limit every JSON reader applies, and the iterative walks that must survive any depth.
#include <gtest/gtest.h>

#include <string>

#include "common/bounded_json.h"
#include "common/json_nesting.h"

namespace ironflow::server {
namespace {

std::string Nested(size_t depth, char open = '[', char close = ']') {
  return std::string(depth, open) + std::string(depth, close);
}

TEST(BoundedJsonTest, DepthCountsArraysAndObjectsButNotBracketsInsideStrings) {
  EXPECT_EQ(JsonNestingDepth("1"), 0u);
  EXPECT_EQ(JsonNestingDepth("[[1]]"), 2u);
  EXPECT_EQ(JsonNestingDepth(R"({"a":[{"b":1}]})"), 3u);
  EXPECT_EQ(JsonNestingDepth(R"(["[[[[", "\"[[["])"), 1u);
  EXPECT_EQ(JsonNestingDepth(R"(["\\", [["x"]]])"), 3u);
}

TEST(BoundedJsonTest, DocumentAtTheLimitParsesAndOneLevelMoreIsRefusedNamingTheLimit) {
  bool too_deep = true;
  EXPECT_FALSE(ParseBoundedJson(Nested(kMaxJsonNesting), &too_deep, kMaxJsonNesting).is_discarded());
  EXPECT_FALSE(too_deep);
  EXPECT_TRUE(ParseBoundedJson(Nested(kMaxJsonNesting + 1), &too_deep, kMaxJsonNesting).is_discarded());
  EXPECT_TRUE(too_deep);
  Status s = CheckJsonNesting(Nested(kMaxJsonNesting + 1), "request body");
  EXPECT_TRUE(s.is(Code::kInvalidArgument));
  EXPECT_NE(s.message().find("64"), std::string::npos) << s.message();
}

TEST(BoundedJsonTest, ServerBuiltEnvelopesAroundInputAtTheLimitStillParse) {
  // A run record or a pull answer wraps client data that is itself at the limit.
  const std::string answer = R"({"jobs":[{"event":{"data":)" + Nested(kMaxJsonNesting - 1) + "}}]}";
  EXPECT_FALSE(ParseBoundedJson(answer).is_discarded());
  EXPECT_TRUE(ParseBoundedJson(Nested(kMaxEnvelopeNesting + 1)).is_discarded());
}

TEST(BoundedJsonTest, TwoHundredThousandLevelsAreRefusedWithoutRecursing) {
  const std::string deep = Nested(200000, '{', '}');
  bool too_deep = false;
  EXPECT_TRUE(ParseBoundedJson(deep, &too_deep).is_discarded());
  EXPECT_TRUE(too_deep);
  EXPECT_FALSE(CheckJsonNesting(deep, "x").ok());
}

TEST(BoundedJsonTest, WipeReachesEveryStringOfAnArbitrarilyDeepTree) {
  // Built by hand (parsing would refuse it): 100,000 levels with a string at the bottom.
  nlohmann::json root = nlohmann::json::array();
  nlohmann::json* node = &root;
  for (int i = 0; i < 100000; ++i) {
    node->push_back(nlohmann::json::array());
    node = &(*node)[0];
  }
  node->push_back("sk_live_bottom");
  WipeJsonStrings(root);
  const std::string& bottom = node->at(0).get_ref<const std::string&>();
  EXPECT_EQ(bottom, std::string(bottom.size(), '\0'));
}

}  // namespace
}  // namespace ironflow::server
