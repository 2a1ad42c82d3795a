// RevisionCache<T>: what a caller derived from KV entries (typically the decoded record), kept per key together
// with the revision it was derived from, so an entry read again at the same revision is not decoded again. A
// value never moves backwards: Put ignores a revision older than the one held. Keys that left the source are
// forgotten by Retain or a Walk. Not thread-safe: the owner guards it with its own lock.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace ironflow::server {

template <typename T>
class RevisionCache {
 public:
  // The value held for `key` if it was derived from exactly `revision`; nullptr otherwise.
  const T* Find(const std::string& key, uint64_t revision) const {
    auto it = items_.find(key);
    return it != items_.end() && it->second.first == revision ? &it->second.second : nullptr;
  }
  // The revision held for `key`, 0 when none.
  uint64_t RevisionOf(const std::string& key) const {
    auto it = items_.find(key);
    return it == items_.end() ? 0 : it->second.first;
  }
  // Holds `value` for `key` at `revision` unless a newer revision is held.
  void Put(std::string key, uint64_t revision, T value) {
    auto& slot = items_[std::move(key)];
    if (slot.first <= revision) slot = {revision, std::move(value)};
  }
  void Erase(const std::string& key) { items_.erase(key); }
  // Forgets every key starting with `prefix` that is not in `live`.
  void Retain(std::string_view prefix, const std::set<std::string>& live) {
    std::erase_if(items_, [&](const auto& item) {
      return std::string_view(item.first).starts_with(prefix) && !live.count(item.first);
    });
  }
  size_t size() const { return items_.size(); }

  // A walk over the keys still live in the source, in increasing order (a source sorted by key, e.g. a KvMirror):
  // Find moves forward from the previous key, a merge instead of a search per key, and every held key the walk
  // passes without asking for it is forgotten (it left the source), as are the keys after the last one asked when
  // the walk ends. Put may be called during the walk; nothing else may change the cache.
  class Walk {
   public:
    explicit Walk(RevisionCache& cache) : cache_(cache), it_(cache.items_.begin()) {}
    ~Walk() { cache_.items_.erase(it_, cache_.items_.end()); }
    Walk(const Walk&) = delete;
    Walk& operator=(const Walk&) = delete;
    const T* Find(const std::string& key, uint64_t revision) {
      while (it_ != cache_.items_.end() && it_->first < key) it_ = cache_.items_.erase(it_);
      if (it_ == cache_.items_.end() || it_->first != key) return nullptr;
      const auto& held = (it_++)->second;  // behind the cursor from now on: kept
      return held.first == revision ? &held.second : nullptr;
    }

   private:
    RevisionCache& cache_;
    typename std::map<std::string, std::pair<uint64_t, T>>::iterator it_;
  };

 private:
  std::map<std::string, std::pair<uint64_t, T>> items_;  // key -> (revision, value)
};

}  // namespace ironflow::server
