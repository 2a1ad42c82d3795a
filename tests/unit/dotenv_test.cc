// The dotenv parser behind `ironflow secret import`.
#include "cli/dotenv.h"

#include <gtest/gtest.h>

namespace ironflow::server::cli {
namespace {

std::vector<std::pair<std::string, std::string>> Pairs(std::string_view text) {
  auto parsed = ParseDotenv(text);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  std::vector<std::pair<std::string, std::string>> out;
  if (parsed.ok())
    for (auto& e : *parsed) out.emplace_back(e.name, e.value);
  return out;
}

using P = std::vector<std::pair<std::string, std::string>>;

TEST(Dotenv, PlainLinesCommentsBlankLinesAndExportPrefixes) {
  EXPECT_EQ(Pairs("# comment\n\nA=1\nexport B=two words  # note\n  C = spaced \nD=\nE=a#b\r\n"),
            (P{{"A", "1"}, {"B", "two words"}, {"C", "spaced"}, {"D", ""}, {"E", "a#b"}}));
}

TEST(Dotenv, QuotedValuesKeepTheirContentAndMaySpanLines) {
  EXPECT_EQ(
      Pairs("S='single $HOME \\n kept'\nD=\"tab\\tnl\\nquote\\\" back\\\\\"\nM=\"line1\nline2\" # after\nK='x=y'\n"),
      (P{{"S", "single $HOME \\n kept"}, {"D", "tab\tnl\nquote\" back\\"}, {"M", "line1\nline2"}, {"K", "x=y"}}));
}

TEST(Dotenv, MalformedFilesNameTheLineNeverTheValue) {
  for (std::string_view bad : {"=novalue\n", "A\n", "A B=x\n", "A=\"unclosed-secret-value\n", "A='x' trailing\n"}) {
    auto parsed = ParseDotenv(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.status().message().find("line 1"), std::string::npos) << parsed.status().message();
    EXPECT_EQ(parsed.status().message().find("unclosed-secret-value"), std::string::npos);
  }
  auto later = ParseDotenv("A=1\nB=\"multi\nline\"\nno equals sign\n");
  ASSERT_FALSE(later.ok());
  EXPECT_NE(later.status().message().find("line 4"), std::string::npos) << later.status().message();
}

}  // namespace
}  // namespace ironflow::server::cli
