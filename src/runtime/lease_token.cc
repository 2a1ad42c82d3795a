#include "runtime/lease_token.h"

#include "common/hex.h"
#include "crypto/digest.h"

namespace ironflow::server {

namespace {

constexpr std::string_view kPrefix = "lt1.";
constexpr std::string_view kContext = "ironflow lease token v1\n";

std::string Mac(ByteView key, std::string_view payload) {
  return HexEncode(HmacSha256(key, {AsBytes(kContext), AsBytes(payload)}));
}

std::vector<std::string> SplitLines(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t nl = s.find('\n', start);
    out.emplace_back(s.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start));
    if (nl == std::string_view::npos) return out;
    start = nl + 1;
  }
}

}  // namespace

std::string SealLeaseToken(const LeaseClaim& c, ByteView key) {
  const std::string payload = c.environment + "\n" + c.run_id + "\n" + std::to_string(c.attempt) + "\n" + c.worker_id +
                              "\n" + c.lease_id + "\n" + c.ack_subject;
  return std::string(kPrefix) + HexEncode(AsBytes(payload).data(), payload.size()) + "." + Mac(key, payload);
}

Result<LeaseClaim> OpenLeaseToken(std::string_view token, const std::vector<ByteView>& keys) {
  const Status invalid = Status::Conflict("lease token is not valid for this job (lease expired or taken over)");
  if (token.size() > 4096 || token.substr(0, kPrefix.size()) != kPrefix) return invalid;
  token.remove_prefix(kPrefix.size());
  const size_t dot = token.find('.');
  if (dot == std::string_view::npos) return invalid;
  auto payload_bytes = HexDecode(token.substr(0, dot));
  if (!payload_bytes) return invalid;
  const std::string payload(payload_bytes->begin(), payload_bytes->end());
  const std::string_view mac = token.substr(dot + 1);
  bool verified = false;
  for (const auto& key : keys) verified |= !key.empty() && ConstantTimeEquals(Mac(key, payload), mac);
  if (!verified) return invalid;
  auto f = SplitLines(payload);
  if (f.size() != 6) return invalid;
  LeaseClaim c{f[0], f[1], 0, f[3], f[4], f[5]};
  try {
    c.attempt = std::stoi(f[2]);
  } catch (...) {
    return invalid;
  }
  return c;
}

}  // namespace ironflow::server
