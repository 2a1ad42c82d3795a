// The server's log line format: text for people (the default), JSON Lines for log shippers (--log-format json).
//
// A JSON line is one object per record: {"time":"2026-12-04T05:10:20.123Z","level":"info","logger":"ironflow",
// "msg":"..."}; the message is escaped (invalid UTF-8 replaced), so a line never breaks and never injects fields.
// Log messages never hold secret values whatever the format (callers log names, ids and revisions only).
#pragma once

#include <memory>
#include <optional>
#include <string_view>

namespace spdlog {
class formatter;
}

namespace ironflow::server {

enum class LogFormat { kText, kJson };

// "text" or "json"; nullopt for anything else.
std::optional<LogFormat> ParseLogFormat(std::string_view name);

// A formatter writing JSON Lines (for a logger's set_formatter).
std::unique_ptr<spdlog::formatter> MakeJsonLogFormatter();

// Makes the stderr logger "ironflow" the default logger, with `format`.
void SetUpServerLogging(LogFormat format);

}  // namespace ironflow::server
