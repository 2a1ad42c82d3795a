#include "common/time_util.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace ironflow {

int64_t NowUnixMillis() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string FormatRfc3339(int64_t unix_millis) {
  time_t secs = static_cast<time_t>(unix_millis / 1000);
  int millis = static_cast<int>(unix_millis % 1000);
  if (millis < 0) { millis += 1000; secs -= 1; }
  struct tm tm_utc;
  gmtime_r(&secs, &tm_utc);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm_utc.tm_year + 1900, tm_utc.tm_mon + 1,
                tm_utc.tm_mday, tm_utc.tm_hour, tm_utc.tm_min, tm_utc.tm_sec, millis);
  return buf;
}

std::string FormatRfc3339FromNanos(int64_t unix_nanos) { return FormatRfc3339(unix_nanos / 1000000); }

}  // namespace ironflow
