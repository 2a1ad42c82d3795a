#include "secrets/nonce_budget.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

namespace ironflow::server {
namespace {

bool ParseCount(std::string_view text, uint64_t* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

}  // namespace

NonceBudget::NonceBudget(KvBucket& bucket, std::string key_id, uint64_t block)
    : bucket_(bucket), key_id_(std::move(key_id)), kv_key_("nonces." + key_id_), block_(std::max<uint64_t>(block, 1)) {}

Result<uint64_t> NonceBudget::Take() {
  std::lock_guard<std::mutex> lock(mu_);
  if (next_ == end_) IF_RETURN_IF_ERROR(Reserve());
  return next_++;
}

Status NonceBudget::Reserve() {
  for (int attempt = 0; attempt < kCasRetryBudget; ++attempt) {
    IF_ASSIGN_OR_RETURN(auto e, bucket_.Get(kv_key_));
    uint64_t used = 0;
    uint64_t revision = 0;
    if (e.has_value()) {
      if (!ParseCount((e)->value, &used)) {
        return Status::Internal("the encryption counter " + kv_key_ + " in ironflow-system is malformed");
      }
      revision = (e)->revision;
    }
    if (used >= kLimit) {
      return Status::Unavailable("master key " + key_id_ +
                                 " has sealed 2^32 values, the NIST SP 800-38D limit for "
                                 "random nonces; nothing more is encrypted with it: rotate IRONFLOW_MASTER_KEY "
                                 "(docs/security.md, master-key rotation)");
    }
    const uint64_t grant = std::min(block_, kLimit - used);
    const std::string next = std::to_string(used + grant);
    auto written = revision == 0 ? bucket_.Create(kv_key_, next) : bucket_.Update(kv_key_, next, revision);
    if (!written.ok()) {
      if (written.status().is(Code::kConflict)) continue;  // another process reserved first: take the next block
      return written.status();
    }
    next_ = used;
    end_ = used + grant;
    if (end_ >= kWarnAt) {
      spdlog::warn(
          "master key {} has sealed up to {} values ({:.1f}% of the 2^32 limit for random nonces); rotate "
          "IRONFLOW_MASTER_KEY and run `ironflow secret rekey --all`",
          key_id_, end_, 100.0 * static_cast<double>(end_) / static_cast<double>(kLimit));
    }
    return Status::Ok();
  }
  return Status::Unavailable("could not reserve encryptions for master key " + key_id_ + " (too much contention)");
}

Result<NonceBudget::Usage> NonceBudget::Read() const {
  IF_ASSIGN_OR_RETURN(auto e, bucket_.Get(kv_key_));
  Usage u;
  u.key_id = key_id_;
  if (e.has_value() && !ParseCount((e)->value, &u.reserved)) {
    return Status::Internal("the encryption counter " + kv_key_ + " in ironflow-system is malformed");
  }
  u.warning = u.reserved >= kWarnAt;
  return u;
}

Result<std::vector<NonceBudget::Usage>> NonceBudget::ReadAll(KvBucket& system_bucket) {
  constexpr std::string_view kPrefix = "nonces.";
  IF_ASSIGN_OR_RETURN(auto entries, system_bucket.List(std::string(kPrefix) + "*"));
  std::vector<Usage> out;
  for (const auto& e : entries) {
    Usage u;
    u.key_id = e.key.substr(kPrefix.size());
    if (!ParseCount(e.value, &u.reserved)) continue;  // reported by Read() for the current key
    u.warning = u.reserved >= kWarnAt;
    out.push_back(std::move(u));
  }
  return out;
}

}  // namespace ironflow::server
