// The split of a decode product over threads (plugins/cpu-common/backend/balanced_split.hpp):
// every item exactly once, in grains, and a thread that finishes early takes over the end of a
// slow thread's part.
#include "balanced_split.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "thread_pool.hpp"

namespace accelab::cpu {
namespace {

TEST(BalancedSplit, CoversEveryItemOnceInGrains) {
  for (int threads : {1, 2, 3}) {
    ThreadPoolExecutor pool(threads);
    BalancedSplit split(threads);
    for (int64_t n : {0, 1, 7, 100, 1001}) {
      for (int64_t grain : {1, 3, 64, 5000}) {
        std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
        std::atomic<int> bad_ranges{0};
        split.run(pool, n, grain, [&](int64_t b, int64_t e) {
          if (b < 0 || e > n || b >= e || e - b > grain) ++bad_ranges;
          for (int64_t i = std::max<int64_t>(b, 0); i < std::min(e, n); ++i) ++seen[static_cast<size_t>(i)];
        });
        EXPECT_EQ(bad_ranges.load(), 0) << threads << " threads, n " << n << ", grain " << grain;
        for (int64_t i = 0; i < n; ++i)
          ASSERT_EQ(seen[static_cast<size_t>(i)].load(), 1) << "item " << i << ", " << threads << " threads, n " << n << ", grain " << grain;
      }
    }
  }
}

// Two threads where the second one claims its first grain and then stalls (as a descheduled
// thread would) until the caller has finished everything it could take.
class StallingExecutor final : public Executor {
 public:
  [[nodiscard]] int threads() const override { return 2; }
  [[nodiscard]] int worker_index() const override { return t_index; }
  void parallel_chunks(int64_t, int64_t, RangeFn fn) override {
    std::thread second([&] {
      t_index = 1;
      fn(1, 2);
    });
    while (!second_claimed) std::this_thread::yield();
    fn(0, 1);
    caller_done = true;
    second.join();
  }
  // Called by the test's range function: the second thread's first grain waits here.
  void maybe_stall() {
    if (t_index != 1 || second_claimed) return;
    second_claimed = true;
    while (!caller_done) std::this_thread::yield();
  }

 private:
  static thread_local int t_index;
  std::atomic<bool> second_claimed{false}, caller_done{false};
};
thread_local int StallingExecutor::t_index = 0;

TEST(BalancedSplit, ThreadDoneEarlyTakesTheEndOfTheOthersPart) {
  StallingExecutor ex;
  BalancedSplit split(2);
  constexpr int64_t n = 100, grain = 5;
  std::vector<int> worker(n, -1);
  std::mutex m;
  split.run(ex, n, grain, [&](int64_t b, int64_t e) {
    ex.maybe_stall();
    std::lock_guard lock(m);
    for (int64_t i = b; i < e; ++i) worker[static_cast<size_t>(i)] = ex.worker_index();
  });
  // The second thread's first grain is its own; the caller, done with its part, took the rest
  // of the second part from the back.
  for (int64_t i = 0; i < n; ++i)
    EXPECT_EQ(worker[static_cast<size_t>(i)], i >= n / 2 && i < n / 2 + grain ? 1 : 0) << "item " << i;
}

TEST(BalancedSplit, RejectsMoreItemsThanItCanCount) {
  ThreadPoolExecutor pool(2);
  BalancedSplit split(2);
  EXPECT_THROW(split.run(pool, int64_t{1} << 32, 1, [](int64_t, int64_t) {}), std::length_error);
}

}  // namespace
}  // namespace accelab::cpu
