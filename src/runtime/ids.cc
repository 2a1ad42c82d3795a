#include "runtime/ids.h"

#include <charconv>

#include "common/hex.h"
#include "crypto/digest.h"

namespace ironflow::server {

namespace {
constexpr std::string_view kRunPrefix = "run_";
constexpr std::string_view kJobPrefix = "job_";
}  // namespace

std::string NewId(const char* prefix) { return std::string(prefix) + HexEncode(RandomBytes(12)); }

std::string JobIdFor(const std::string& run_id, int attempt) {
  std::string_view hex = std::string_view(run_id).substr(run_id.rfind(kRunPrefix, 0) == 0 ? kRunPrefix.size() : 0);
  return std::string(kJobPrefix) + std::string(hex) + "_" + std::to_string(attempt);
}

bool ParseJobId(std::string_view job_id, std::string* run_id, int* attempt) {
  if (job_id.substr(0, kJobPrefix.size()) != kJobPrefix) return false;
  std::string_view rest = job_id.substr(kJobPrefix.size());
  size_t sep = rest.rfind('_');
  if (sep == std::string_view::npos || sep == 0 || sep > 64) return false;
  std::string_view hex = rest.substr(0, sep);
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  std::string_view digits = rest.substr(sep + 1);
  int n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() || n < 1) return false;
  *run_id = std::string(kRunPrefix) + std::string(hex);
  *attempt = n;
  return true;
}

}  // namespace ironflow::server
