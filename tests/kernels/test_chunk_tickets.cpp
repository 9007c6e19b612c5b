// Loops handed out a chunk at a time to the publishing thread and spinning helpers
// (plugins/cpu-common/backend/chunk_tickets.hpp): every chunk exactly once however many helpers
// come, none needed, the body's exceptions back on the publisher.
#include "chunk_tickets.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

namespace accelab::cpu {
namespace {

// Helpers that claim chunks of whatever loop is published until stopped, as cpu-tbb's resident
// tasks do.
class Helpers {
 public:
  Helpers(ChunkTickets& tickets, int count) {
    for (int i = 0; i < count; ++i)
      threads_.emplace_back([this, &tickets] {
        while (!stop_.load(std::memory_order_acquire))
          if (tickets.run_claimed() == 0) cpu_relax();
      });
  }
  ~Helpers() {
    stop_.store(true, std::memory_order_release);
    for (auto& t : threads_) t.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

// Publishes loops of random sizes back to back and checks each covered [0, n) exactly once, in
// the chunks chunk_bounds gives.
void check_loops(ChunkTickets& tickets, int loops) {
  std::mt19937 rng(7);
  for (int l = 0; l < loops; ++l) {
    const int64_t n = 1 + static_cast<int64_t>(rng() % 300), chunks = 1 + static_cast<int64_t>(rng() % static_cast<uint32_t>(n));
    std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
    std::atomic<int> bad_ranges{0};
    auto body = [&](int64_t b, int64_t e) {
      if (b < 0 || e > n || b >= e) ++bad_ranges;
      for (int64_t i = std::max<int64_t>(b, 0); i < std::min(e, n); ++i) seen[static_cast<size_t>(i)].fetch_add(1);
    };
    RangeFn fn(body);
    tickets.publish(n, chunks, fn);
    tickets.run_claimed();
    tickets.wait();
    EXPECT_FALSE(tickets.has_unclaimed());
    ASSERT_EQ(bad_ranges.load(), 0) << "loop " << l << ", n " << n << ", chunks " << chunks;
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(seen[static_cast<size_t>(i)].load(), 1) << "item " << i << " of loop " << l << ", n " << n << ", chunks " << chunks;
  }
}

TEST(ChunkTickets, ThePublisherAloneRunsEveryChunk) {
  ChunkTickets tickets;
  check_loops(tickets, 200);
}

TEST(ChunkTickets, EveryChunkOnceWithSpinningHelpers) {
  for (int helpers : {1, 3}) {
    ChunkTickets tickets;
    Helpers team(tickets, helpers);
    check_loops(tickets, 3000);
  }
}

TEST(ChunkTickets, ChunksAreTheEqualPartsAskedFor) {
  ChunkTickets tickets;
  std::vector<std::pair<int64_t, int64_t>> ranges;
  auto body = [&](int64_t b, int64_t e) { ranges.emplace_back(b, e); };
  RangeFn fn(body);
  tickets.publish(10, 4, fn);
  EXPECT_TRUE(tickets.has_unclaimed());
  EXPECT_EQ(tickets.run_claimed(), 4);
  tickets.wait();
  const std::vector<std::pair<int64_t, int64_t>> want{{0, 2}, {2, 5}, {5, 7}, {7, 10}};
  EXPECT_EQ(ranges, want);
}

TEST(ChunkTickets, MoreChunksThanTheMaximumAreFewerLargerOnes) {
  ChunkTickets tickets;
  const int64_t n = ChunkTickets::kMaxChunks * 2 + 5;
  std::vector<int> seen(static_cast<size_t>(n), 0);
  int64_t calls = 0;
  auto body = [&](int64_t b, int64_t e) {
    ++calls;
    for (int64_t i = b; i < e; ++i) ++seen[static_cast<size_t>(i)];
  };
  RangeFn fn(body);
  tickets.publish(n, n, fn);
  tickets.run_claimed();
  tickets.wait();
  EXPECT_EQ(calls, ChunkTickets::kMaxChunks);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(seen[static_cast<size_t>(i)], 1) << "item " << i;
}

TEST(ChunkTickets, AChunksExceptionReachesThePublisherAfterTheOthersRan) {
  ChunkTickets tickets;
  Helpers team(tickets, 1);
  std::atomic<int> ran{0};
  auto body = [&](int64_t b, int64_t) {
    ran.fetch_add(1);
    if (b == 3) throw std::runtime_error("chunk 3 failed");
  };
  RangeFn fn(body);
  tickets.publish(8, 8, fn);
  tickets.run_claimed();
  try {
    tickets.wait();
    FAIL() << "wait() did not rethrow";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "chunk 3 failed");
  }
  EXPECT_EQ(ran.load(), 8);
  // The next loop starts clean.
  check_loops(tickets, 20);
}

}  // namespace
}  // namespace accelab::cpu
