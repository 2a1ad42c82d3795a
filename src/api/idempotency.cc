#include "api/idempotency.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "api/api_util.h"
#include "common/hex.h"
#include "common/time_util.h"
#include "crypto/digest.h"

namespace ironflow::server {
namespace {

using api::json;

constexpr size_t kMaxKeyBytes = 255;
// A request still running after this long is stuck: its claim is no longer renewed, so it runs out and a retry
// can take the key over (the record itself is kept 10 minutes).
constexpr int64_t kMaxHoldMs = 5 * 60 * 1000;
// Answers larger than this are not kept; a replay then says the request succeeded without its body.
constexpr size_t kMaxRecordedBody = 256 * 1024;

Status CheckKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyBytes) {
    return Status::InvalidArgument("Idempotency-Key must be 1-255 characters");
  }
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) return Status::InvalidArgument("Idempotency-Key must be printable ASCII without spaces");
  }
  return Status::Ok();
}

// The fields Begin reads, with their types (a record is read from NATS: never trusted blindly).
bool WellFormed(const json& r) {
  if (!r.is_object() || !r.contains("fp") || !r["fp"].is_string() || !r.contains("state") || !r["state"].is_string()) {
    return false;
  }
  if (r.contains("status") && !r["status"].is_number_integer()) return false;
  if (r.contains("body") && !r["body"].is_string()) return false;
  if (r.contains("etag") && !r["etag"].is_string()) return false;
  if (r.contains("holder") && !r["holder"].is_string()) return false;
  return !r.contains("until_ms") || r["until_ms"].is_number_integer();
}

// The revision of `entry` if it is a pending claim of `holder`.
std::optional<uint64_t> PendingUnder(const std::optional<KvEntry>& entry, const std::string& holder) {
  if (!entry.has_value()) return std::nullopt;
  json current = json::parse(entry->value, nullptr, false);
  if (!WellFormed(current) || current.value("state", "") != "pending" || current.value("holder", "") != holder) {
    return std::nullopt;
  }
  return entry->revision;
}

}  // namespace

IdempotencyStore::IdempotencyStore(KvBucket& bucket, SecureBytes fingerprint_key, Timing timing,
                                   SecureBytes previous_fingerprint_key)
    : bucket_(bucket),
      fingerprint_key_(std::move(fingerprint_key)),
      previous_fingerprint_key_(std::move(previous_fingerprint_key)),
      timing_(timing) {
  renewer_ = std::thread([this] { RenewLoop(); });
}

IdempotencyStore::~IdempotencyStore() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  renewer_.join();
}

std::string IdempotencyStore::PendingRecord(const std::string& fingerprint, const std::string& holder) const {
  return json{{"v", 1},
              {"state", "pending"},
              {"fp", fingerprint},
              {"holder", holder},
              {"until_ms", NowUnixMillis() + timing_.claim_ms}}
      .dump();
}

Result<std::optional<uint64_t>> IdempotencyStore::PendingRevisionOf(const std::string& record_key,
                                                                    const std::string& holder) {
  IF_ASSIGN_OR_RETURN(auto entry, bucket_.Get(record_key));
  return PendingUnder(entry, holder);
}

void IdempotencyStore::Hold(const Claim& claim) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  held_[claim.holder] = Held{claim.record_key, claim.fingerprint, claim.record_revision, now, now};
}

// Writes every claim last written renew_every_ms ago or more again, all in one round trip, each compare-and-set
// against its latest revision; it wakes twice per interval, so a claim is written again within 1.5 intervals of
// its last write. A claim that someone else has written meanwhile is no longer ours: Finish has recorded it (and
// dropped it from held_) or this process was too slow and another attempt took it over, which is logged. Whatever
// cannot be decided (no answer, a read that failed) is tried again at the next wake-up.
void IdempotencyStore::RenewLoop() {
  const auto every = std::chrono::milliseconds(timing_.renew_every_ms);
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_cv_.wait_for(lock, every / 2, [&] { return stop_; })) {
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::string> holders, keys;
    std::vector<StreamPublish> writes;
    for (auto it = held_.begin(); it != held_.end();) {
      if (now - it->second.since > std::chrono::milliseconds(kMaxHoldMs)) {
        spdlog::warn("idempotency: a keyed request has run for more than {} minutes; its claim is left to run out",
                     kMaxHoldMs / 60000);
        it = held_.erase(it);
        continue;
      }
      if (now - it->second.written >= every) {
        holders.push_back(it->first);
        keys.push_back(it->second.record_key);
        writes.push_back(bucket_.UpdateMessage(it->second.record_key, PendingRecord(it->second.fingerprint, it->first),
                                               it->second.revision));
      }
      ++it;
    }
    if (writes.empty()) continue;
    lock.unlock();
    auto answers = bucket_.connection().PublishEachOnce(writes);
    std::vector<Result<std::optional<uint64_t>>> ours;  // after a conflict: our own claim's revision, if it is one
    for (size_t i = 0; i < answers.size(); ++i) {
      ours.push_back(answers[i].status().is(Code::kConflict)
                         ? PendingRevisionOf(keys[i], holders[i])
                         : Result<std::optional<uint64_t>>(std::optional<uint64_t>()));
    }
    lock.lock();
    for (size_t i = 0; i < answers.size(); ++i) {
      auto it = held_.find(holders[i]);
      if (it == held_.end()) continue;  // finished meanwhile
      if (answers[i].ok()) {
        it->second.revision = *answers[i];
        it->second.written = now;
      } else if (!answers[i].status().is(Code::kConflict) || !ours[i].ok()) {
        continue;  // outcome or ownership unknown: tried again at the next wake-up, while the claim lasts
      } else if (ours[i]->has_value()) {
        it->second.revision = **ours[i];  // an earlier renewal whose answer was lost had landed
      } else {
        spdlog::warn("idempotency: the claim of a keyed request still running was taken over by a retry");
        held_.erase(it);
      }
    }
  }
}

std::string IdempotencyStore::Fingerprint(ByteView key, const HttpRequest& r) {
  auto part = [&](std::optional<std::string> h) { return h.value_or(std::string("\x01", 1)); };
  const std::string env = part(r.header("x-ironflow-environment"));
  const std::string if_match = part(r.header("if-match"));
  const std::string if_none = part(r.header("if-none-match"));
  const std::string zero(1, '\0');
  auto mac = HmacSha256(key, {AsBytes(r.method), AsBytes(zero), AsBytes(r.path), AsBytes(zero), AsBytes(r.query),
                              AsBytes(zero), AsBytes(env), AsBytes(zero), AsBytes(if_match), AsBytes(zero),
                              AsBytes(if_none), AsBytes(zero), AsBytes(r.body)});
  return HexEncode(mac);
}

Result<IdempotencyStore::Claim> IdempotencyStore::Begin(const Actor& actor, const HttpRequest& request,
                                                        std::string_view key) {
  IF_RETURN_IF_ERROR(CheckKey(key));
  Claim claim;
  claim.record_key = Sha256Hex(actor.type + "\n" + actor.id + "\n" + std::string(key));
  // The tag names this key *and* this request: the same key reused for another request after its record expired
  // gets other event and run ids.
  auto use_fingerprint = [&](std::string fingerprint) {
    claim.fingerprint = std::move(fingerprint);
    claim.tag.id = Sha256Hex(claim.record_key + claim.fingerprint).substr(0, 32);
  };
  const std::string current_fp = Fingerprint(fingerprint_key_.view(), request);
  claim.holder = HexEncode(RandomBytes(12));
  // A claim is tried a few times only: each try repeats a create-only write, which older NATS clusters do not
  // always enforce (nats-server#4320); past that the caller gets 503 and retries later.
  for (int attempt = 0; attempt < 5; ++attempt) {
    use_fingerprint(current_fp);  // a record of its own is always made under the current key
    auto created = bucket_.Create(claim.record_key, PendingRecord(claim.fingerprint, claim.holder));
    if (created.ok()) {
      claim.record_revision = *created;
      Hold(claim);
      return claim;
    }
    if (!created.status().is(Code::kConflict)) return created.status();
    IF_ASSIGN_OR_RETURN(auto existing, bucket_.Get(claim.record_key));
    if (!existing.has_value()) continue;  // expired or removed in between: claim it again
    json record = json::parse((existing)->value, nullptr, false);
    if (!WellFormed(record)) return Status::Internal("unreadable idempotency record");
    const std::string recorded_fp = record["fp"].get<std::string>();
    if (!ConstantTimeEquals(recorded_fp, claim.fingerprint) && !previous_fingerprint_key_.empty()) {
      // Written by a server still on the previous master key (a rotation rolling out): the same request matches
      // under that key. From here on this claim is that record's (same fingerprint, so the same tag and ids).
      std::string previous = Fingerprint(previous_fingerprint_key_.view(), request);
      if (ConstantTimeEquals(recorded_fp, previous)) use_fingerprint(std::move(previous));
    }
    if (!ConstantTimeEquals(recorded_fp, claim.fingerprint)) {
      claim.answer = api::ErrorResponse(422, "idempotency_key_reused",
                                        "this Idempotency-Key was used for a different request in the last 10 "
                                        "minutes; send a new key for a new request");
      return claim;
    }
    const std::string state = record.value("state", "");
    if (state == "done") {
      HttpResponse replay;
      replay.status = record.value("status", 200);
      replay.body = record.value("body", "");
      if (record.contains("etag")) replay.headers.emplace_back("ETag", record["etag"].get<std::string>());
      replay.headers.emplace_back("Idempotent-Replayed", "true");
      claim.answer = std::move(replay);
      return claim;
    }
    const int64_t left_ms = record.value("until_ms", int64_t{0}) - NowUnixMillis();
    if (state == "pending" && left_ms > 0) {
      // Retry-After follows the claim's time left, at most 3 s: a client's 8 attempts then outlast a dead server's
      // claim (up to 10 s), and a live request that ends soon is not waited for long. (A fixed 1 s let a client
      // give up after about 8 s.)
      const int after_s = static_cast<int>(std::clamp<int64_t>((left_ms + 999) / 1000, 1, 3));
      return Status::Unavailable("a request with this Idempotency-Key is still in progress; retry shortly")
          .WithRetryAfter(after_s);
    }
    // "unknown" (the first attempt answered 5xx), or a claim that ran out (its server died): run again, as a
    // retry that checks whether the earlier attempt's write landed.
    auto taken = bucket_.Update(claim.record_key, PendingRecord(claim.fingerprint, claim.holder), (existing)->revision);
    if (taken.ok()) {
      claim.record_revision = *taken;
      claim.tag.retry = true;
      Hold(claim);
      return claim;
    }
    if (!taken.status().is(Code::kConflict)) return taken.status();
  }
  return Status::Unavailable("too many concurrent requests with this Idempotency-Key").WithRetryAfter(1);
}

void IdempotencyStore::Finish(const Claim& claim, const HttpResponse& response) {
  json record = {{"v", 1}, {"fp", claim.fingerprint}};
  if (response.status >= 500) {
    record["state"] = "unknown";
  } else {
    record["state"] = "done";
    record["status"] = response.status;
    record["body"] = response.body.size() <= kMaxRecordedBody ? response.body : std::string("{}");
    for (const auto& [name, value] : response.headers) {
      if (name == "ETag") record["etag"] = value;
    }
  }
  uint64_t revision = claim.record_revision;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = held_.find(claim.holder);
    if (it != held_.end()) {
      revision = it->second.revision;
      held_.erase(it);
    }
  }
  // The answer is recorded with a few tries across a short outage (an election takes seconds): a record left
  // pending keeps the client's retries waiting for the whole claim.
  const std::string doc = record.dump();
  auto write = [&] {
    auto rev = bucket_.Update(claim.record_key, doc, revision);
    if (rev.ok() || !rev.status().is(Code::kConflict)) return rev;
    // The record moved on. Either an earlier try of this write landed though its answer was lost (the record
    // holds this answer already: done), or a renewal that was in flight when the claim was dropped from held_ (or
    // whose answer was lost) landed: the claim is still ours if the record is pending under this claim's holder.
    auto current = bucket_.Get(claim.record_key);
    if (!current.ok()) return Result<uint64_t>(current.status());  // not known whose it is: tried again below
    if (current->has_value() && (*current)->value == doc) return Result<uint64_t>((*current)->revision);
    auto ours = PendingUnder(*current, claim.holder);
    if (!ours.has_value()) return rev;
    revision = *ours;
    return bucket_.Update(claim.record_key, doc, revision);
  };
  auto rev = write();
  for (int backoff_ms = 250; !rev.ok() && rev.status().is(Code::kUnavailable) && backoff_ms <= 2000; backoff_ms *= 2) {
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
    rev = write();
  }
  if (!rev.ok()) {
    spdlog::warn("idempotency: the answer of a keyed request could not be recorded ({}); a retry runs it again",
                 rev.status().ToString());
  }
}

}  // namespace ironflow::server
