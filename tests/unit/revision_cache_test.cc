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

TEST(RevisionCacheTest, AWalkFindsKeysInOrderAndForgetsThoseThatLeftTheSource) {
  RevisionCache<int> cache;
  for (const char* key : {"a", "b", "c", "d", "e"}) cache.Put(key, 1, key[0]);
  {
    RevisionCache<int>::Walk walk(cache);  // the source holds only a now
    const int* a = walk.Find("a", 1);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(*a, 'a');
  }
  EXPECT_EQ(cache.size(), 1u) << "the first walk ended after a: everything after it left the source";

  for (const char* key : {"b", "c", "d", "e"}) cache.Put(key, 1, key[0]);
  {
    RevisionCache<int>::Walk walk(cache);  // the source holds a, c (at a newer revision) and d
    EXPECT_NE(walk.Find("a", 1), nullptr);
    EXPECT_EQ(walk.Find("c", 2), nullptr);  // held at another revision: the caller decodes and puts it
    cache.Put("c", 2, 'C');
    cache.Put("bb", 1, 0);  // put behind the cursor during the walk: kept
    const int* d = walk.Find("d", 1);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(*d, 'd');
  }
  EXPECT_EQ(cache.RevisionOf("b"), 0u) << "b was passed over: it left the source";
  EXPECT_EQ(cache.RevisionOf("e"), 0u) << "e came after the last key asked";
  EXPECT_EQ(*cache.Find("c", 2), 'C');
  EXPECT_NE(cache.Find("bb", 1), nullptr);
  EXPECT_NE(cache.Find("a", 1), nullptr);
  EXPECT_EQ(cache.size(), 4u);
}

}  // namespace
}  // namespace ironflow::server
