// --log-format json: every record is one parseable JSON object on one line, whatever its message holds.
#include "server/log_format.h"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <nlohmann/json.hpp>
#include <sstream>

namespace ironflow::server {
namespace {

std::vector<nlohmann::json> LogThroughJson(const std::vector<std::string>& messages) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::logger logger("ironflow-test", sink);
  logger.set_formatter(MakeJsonLogFormatter());
  for (const auto& m : messages) logger.warn("{}", m);
  logger.flush();
  std::vector<nlohmann::json> lines;
  std::istringstream in(out.str());
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

TEST(LogFormatTest, EachRecordIsOneJsonObjectWithTimeLevelLoggerAndMessage) {
  auto lines = LogThroughJson({"listening on 127.0.0.1:9123"});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["level"], "warning");
  EXPECT_EQ(lines[0]["logger"], "ironflow-test");
  EXPECT_EQ(lines[0]["msg"], "listening on 127.0.0.1:9123");
  const std::string time = lines[0]["time"];
  ASSERT_EQ(time.size(), 24u) << time;  // 2026-12-04T05:10:20.123Z
  EXPECT_EQ(time.back(), 'Z');
}

TEST(LogFormatTest, NewlinesQuotesAndInvalidUtf8CannotBreakALineOrAddFields) {
  const std::string injected = "name\"}\n{\"level\":\"info\",\"msg\":\"forged";
  auto lines = LogThroughJson({injected, std::string("bad \xff\xfe bytes")});
  ASSERT_EQ(lines.size(), 2u) << "one line per record";
  EXPECT_EQ(lines[0]["msg"], injected);
  EXPECT_EQ(lines[0]["level"], "warning");
  EXPECT_NE(lines[1]["msg"].get<std::string>().find("bytes"), std::string::npos);
}

TEST(LogFormatTest, OnlyTextAndJsonAreFormats) {
  EXPECT_EQ(ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_EQ(ParseLogFormat("text"), LogFormat::kText);
  EXPECT_FALSE(ParseLogFormat("JSON").has_value());
  EXPECT_FALSE(ParseLogFormat("").has_value());
}

}  // namespace
}  // namespace ironflow::server
