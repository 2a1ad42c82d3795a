#include "store/kv_mirror.h"

namespace ironflow::server {
namespace {
constexpr size_t kMaxTombstones = 100000;
}  // namespace

Result<std::unique_ptr<KvMirror>> KvMirror::Start(KvBucket& bucket, Keep keep) {
  std::unique_ptr<KvMirror> m(new KvMirror());
  m->keep_ = std::move(keep);
  IF_ASSIGN_OR_RETURN(auto all, bucket.List(">"));
  for (const auto& e : all) m->Apply(e, false);
  KvMirror* raw = m.get();
  IF_ASSIGN_OR_RETURN(auto watch,
                      KvWatch::Start(bucket, [raw](const KvEntry& e, bool deleted) { raw->Apply(e, deleted); }));
  m->watch_ = std::move(watch);
  return m;
}

KvMirror::~KvMirror() { watch_.reset(); }

std::vector<KvEntry> KvMirror::Snapshot(const std::string& prefix) const {
  std::vector<KvEntry> out;
  ForEach(prefix, [&](const KvEntry& e) { out.push_back(e); });
  return out;
}

void KvMirror::ForEach(const std::string& prefix, const std::function<void(const KvEntry&)>& fn) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = live_.lower_bound(prefix); it != live_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
       ++it) {
    fn(it->second);
  }
}

std::optional<KvEntry> KvMirror::Get(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(key);
  if (it == live_.end()) return std::nullopt;
  return it->second;
}

bool KvMirror::IsNewer(const KvEntry& entry) const {
  std::lock_guard<std::mutex> lock(mu_);
  return IsNewerLocked(entry);
}

bool KvMirror::IsNewerLocked(const KvEntry& entry) const {
  auto live = live_.find(entry.key);
  if (live != live_.end() && live->second.revision >= entry.revision) return false;
  auto dead = deleted_at_.find(entry.key);
  return dead == deleted_at_.end() || dead->second < entry.revision;
}

void KvMirror::Apply(const KvEntry& entry, bool deleted) {
  if (!deleted && keep_) {
    if (!IsNewer(entry)) return;  // (the predicate may be costly: a run mirror decodes the record)
    if (!keep_(entry)) deleted = true;
  }
  Record(entry, deleted);
}

void KvMirror::Record(const KvEntry& entry, bool deleted) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!IsNewerLocked(entry)) return;
  auto live = live_.find(entry.key);
  auto dead = deleted_at_.find(entry.key);
  if (deleted) {
    if (live != live_.end()) live_.erase(live);
    if (dead == deleted_at_.end()) {
      tombstone_order_.push_back(entry.key);
      if (tombstone_order_.size() > kMaxTombstones) {
        deleted_at_.erase(tombstone_order_.front());
        tombstone_order_.pop_front();
      }
    }
    deleted_at_[entry.key] = entry.revision;
    return;
  }
  if (dead != deleted_at_.end()) deleted_at_.erase(dead);  // re-created; its name stays in tombstone_order_ harmlessly
  live_[entry.key] = entry;
}

}  // namespace ironflow::server
