// The store layout (layout/store_layout.h): one row per bucket, found by its index and by its name, with the
// history and retention the server was started with, and a backup policy for each.
#include "layout/store_layout.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace ironflow::server {
namespace {

TEST(StoreLayoutTest, EachBucketIsItsOwnRowFoundByIndexAndName) {
  const StoreLayout layout;
  std::set<std::string> names;
  for (size_t i = 0; i < layout.buckets.size(); ++i) {
    const StoreBucketSpec& b = layout.buckets[i];
    EXPECT_EQ(static_cast<size_t>(b.id), i);
    EXPECT_TRUE(names.insert(b.name).second) << b.name << " appears twice";
    EXPECT_EQ(std::string(b.name).rfind("ironflow-", 0), 0u) << b.name;
    EXPECT_EQ(layout.Find(b.name), &b);
  }
  EXPECT_EQ(layout.Find("app_default_sessions"), nullptr);
  EXPECT_EQ(layout.Find(kLegacyJobsBucket), nullptr);
}

TEST(StoreLayoutTest, HistoryAndRetentionFollowTheServerOptions) {
  const StoreLayout layout(3, 7);
  EXPECT_EQ(layout[StoreBucket::kSecrets].history, 3);
  EXPECT_EQ(layout[StoreBucket::kRuns].ttl_ms, int64_t{7} * 86400 * 1000);
  EXPECT_EQ(layout[StoreBucket::kIdempotency].ttl_ms, kIdempotencyTtlMs);
  EXPECT_EQ(layout[StoreBucket::kSecrets].ttl_ms, 0) << "secrets never expire";
}

TEST(StoreLayoutTest, TheKeyCheckIsRestoredFirstAndOnlyIdempotencyRecordsAreLeftOutOfBackups) {
  const StoreLayout layout;
  EXPECT_EQ(layout.buckets.front().id, StoreBucket::kSystem);
  for (const auto& b : layout.buckets) {
    const InBackup expected = b.id == StoreBucket::kIdempotency ? InBackup::kNever
                              : b.id == StoreBucket::kRuns      ? InBackup::kWithRuns
                                                                : InBackup::kAlways;
    EXPECT_EQ(b.backup, expected) << b.name;
  }
}

}  // namespace
}  // namespace ironflow::server
