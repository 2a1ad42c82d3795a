// TtlCache (common/ttl_cache.h): an entry is served until its time-to-live passes, never after, and the cache
// never grows past its bound.
#include "common/ttl_cache.h"

#include <gtest/gtest.h>

namespace ironflow::server {
namespace {

TEST(TtlCacheTest, AnEntryIsServedWithinItsTtl) {
  TtlCache<int> cache(std::chrono::hours(1));
  cache.Put("a", 1);
  EXPECT_EQ(cache.Get("a"), 1);
  EXPECT_FALSE(cache.Get("b").has_value());
}

TEST(TtlCacheTest, AnExpiredEntryIsNeverServed) {
  TtlCache<int> cache(std::chrono::nanoseconds(0));  // every entry is expired as soon as it is stored
  cache.Put("a", 1);
  EXPECT_FALSE(cache.Get("a").has_value());
}

TEST(TtlCacheTest, EraseForgetsAtOnce) {
  TtlCache<std::string> cache(std::chrono::hours(1));
  cache.Put("k", "v");
  cache.Erase("k");
  EXPECT_FALSE(cache.Get("k").has_value());
}

TEST(TtlCacheTest, AFullCacheStartsOverInsteadOfGrowing) {
  TtlCache<int> cache(std::chrono::hours(1), 3);
  for (int i = 0; i < 3; ++i) cache.Put("k" + std::to_string(i), i);
  cache.Put("k3", 3);  // over the bound: cleared, then stored
  EXPECT_EQ(cache.Get("k3"), 3);
  EXPECT_FALSE(cache.Get("k0").has_value());
}

}  // namespace
}  // namespace ironflow::server
