// Wall-clock helpers: RFC 3339 UTC timestamps with millisecond precision ("2026-12-01T05:36:31.123Z").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ironflow::server {

// Milliseconds since the Unix epoch, now.
int64_t NowUnixMillis();
// Formats milliseconds since the epoch as RFC 3339 UTC.
std::string FormatRfc3339(int64_t unix_millis);
// Formats nanoseconds since the epoch (as NATS reports them) as RFC 3339 UTC.
std::string FormatRfc3339FromNanos(int64_t unix_nanos);
// Parses "2026-12-01T05:36:31Z" or "2026-12-01T05:36:31.123Z" (UTC only) into milliseconds since the epoch;
// false for anything else.
bool ParseRfc3339(std::string_view text, int64_t* unix_millis);

}  // namespace ironflow::server
