// Snapshot (common/snapshot.h): callers asking within max_age share one load; a stale value is loaded anew;
// concurrent callers of a stale snapshot wait for one load instead of each starting their own.
#include "common/snapshot.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace ironflow::server {
namespace {

using Clock = std::chrono::steady_clock;

TEST(SnapshotTest, CallsWithinMaxAgeShareOneLoad) {
  Clock::time_point now{};
  int loads = 0;
  Snapshot<int> s(
      std::chrono::seconds(1), [&] { return ++loads; }, [&] { return now; });
  for (int i = 0; i < 100; ++i) EXPECT_EQ(s.Get(), 1);
  now += std::chrono::milliseconds(999);
  EXPECT_EQ(s.Get(), 1);
  EXPECT_EQ(loads, 1);
}

TEST(SnapshotTest, AValueAsOldAsMaxAgeIsLoadedAgain) {
  Clock::time_point now{};
  int loads = 0;
  Snapshot<int> s(
      std::chrono::seconds(1), [&] { return ++loads; }, [&] { return now; });
  EXPECT_EQ(s.Get(), 1);
  now += std::chrono::seconds(1);
  EXPECT_EQ(s.Get(), 2);
  now += std::chrono::milliseconds(10);
  EXPECT_EQ(s.Get(), 2);
}

TEST(SnapshotTest, ConcurrentCallersOfAStaleSnapshotShareOneLoad) {
  // The first load blocks until every other caller has called Get; they must wait for it, not load themselves.
  constexpr int kCallers = 8;
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> loads{0}, started{0};
  Snapshot<int> s(std::chrono::hours(1), [&] {
    loads.fetch_add(1);
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return release; });
    return 7;
  });
  std::vector<std::thread> callers;
  std::vector<int> got(kCallers, 0);
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&, i] {
      started.fetch_add(1);
      got[i] = s.Get();
    });
  }
  while (started.load() < kCallers) std::this_thread::yield();
  while (loads.load() == 0) std::this_thread::yield();  // one caller is inside the load, the others at Get
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  for (auto& t : callers) t.join();
  EXPECT_EQ(loads.load(), 1);
  for (int v : got) EXPECT_EQ(v, 7);
}

}  // namespace
}  // namespace ironflow::server
