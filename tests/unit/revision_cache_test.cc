// RevisionCache (store/revision_cache.h): a value is served only at the revision it was derived from, never
// moves backwards, and Retain forgets exactly the keys under a prefix that left the source.
#include "store/revision_cache.h"

#include <gtest/gtest.h>

namespace ironflow::server {
namespace {

TEST(RevisionCacheTest, AValueIsServedOnlyAtTheRevisionItWasDerivedFrom) {
  RevisionCache<int> cache;
  cache.Put("a", 5, 50);
  ASSERT_NE(cache.Find("a", 5), nullptr);
  EXPECT_EQ(*cache.Find("a", 5), 50);
  EXPECT_EQ(cache.Find("a", 6), nullptr);  // the entry moved on: the caller must decode again
  EXPECT_EQ(cache.Find("b", 5), nullptr);
}

TEST(RevisionCacheTest, AnOlderRevisionNeverReplacesANewerOne) {
  RevisionCache<int> cache;
  cache.Put("a", 7, 70);
  cache.Put("a", 6, 60);  // a late delivery of an older revision
  EXPECT_EQ(cache.RevisionOf("a"), 7u);
  EXPECT_EQ(*cache.Find("a", 7), 70);
  cache.Put("a", 8, 80);
  EXPECT_EQ(*cache.Find("a", 8), 80);
}

TEST(RevisionCacheTest, RetainForgetsOnlyGoneKeysUnderThePrefix) {
  RevisionCache<int> cache;
  cache.Put("prod.a", 1, 1);
  cache.Put("prod.b", 1, 2);
  cache.Put("staging.a", 1, 3);
  cache.Retain("prod.", {"prod.a"});
  EXPECT_NE(cache.Find("prod.a", 1), nullptr);
  EXPECT_EQ(cache.Find("prod.b", 1), nullptr);
  EXPECT_NE(cache.Find("staging.a", 1), nullptr);  // another environment's key is not this listing's to judge
  EXPECT_EQ(cache.size(), 2u);
  cache.Erase("prod.a");
  EXPECT_EQ(cache.RevisionOf("prod.a"), 0u);
}

}  // namespace
}  // namespace ironflow::server
