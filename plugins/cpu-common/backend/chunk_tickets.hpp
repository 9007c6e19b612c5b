// One parallel loop at a time, handed out a chunk at a time to whichever threads come for it:
// the thread that publishes the loop, and helpers that wait for loops by spinning (cpu-tbb's
// resident tasks, plugins/cpu-tbb/README.md). A helper that comes late, or not at all, leaves
// its chunks to the others, so a loop never waits for a thread to wake up.
//
// The claim is one compare-and-swap on a word that holds the loop's generation, its chunk count
// and the next chunk: a helper that read the word before a newer loop was published cannot claim
// a chunk of the newer one with it. The loop's range and body are written before the word that
// publishes them and read only by a thread holding a claim, so they cannot change under it: the
// publisher writes the next loop only after every claimed chunk has finished.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>

#include "executor.hpp"

namespace accelab::cpu {

class ChunkTickets {
 public:
  /// Most chunks one loop may have (a request for more gets this many, each larger).
  static constexpr int64_t kMaxChunks = (int64_t{1} << 18) - 1;

  /// Publishes a loop: fn on each of `chunks` contiguous, as equal as possible parts of [0, n)
  /// (1 <= chunks <= n, at most kMaxChunks). From one thread, after the previous loop's wait().
  void publish(int64_t n, int64_t chunks, RangeFn& fn) {
    n_ = n;
    fn_ = &fn;
    error_ = nullptr;
    done_.store(0, std::memory_order_relaxed);
    chunks_ = std::clamp<int64_t>(chunks, 1, kMaxChunks);
    generation_ = (generation_ + 1) & kGenerationMask;
    ticket_.store(pack(generation_, chunks_, 0), std::memory_order_release);
  }

  /// Runs unclaimed chunks of the current loop until none is left; returns how many it ran.
  /// Any thread, any time. An exception from the body is kept for wait() to rethrow.
  int64_t run_claimed() {
    int64_t ran = 0;
    uint64_t t = ticket_.load(std::memory_order_acquire);
    while (next_of(t) < chunks_of(t)) {
      if (!ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
      const int64_t c = next_of(t);
      auto [b, e] = chunk_bounds(n_, chunks_of(t), c);
      try {
        if (e > b) (*fn_)(b, e);
      } catch (...) {
        std::lock_guard lock(error_mutex_);
        if (!error_) error_ = std::current_exception();
      }
      ++ran;
      done_.fetch_add(1, std::memory_order_acq_rel);
      t = ticket_.load(std::memory_order_acquire);
    }
    return ran;
  }

  /// Whether the current loop has chunks nobody has claimed yet.
  [[nodiscard]] bool has_unclaimed() const {
    const uint64_t t = ticket_.load(std::memory_order_acquire);
    return next_of(t) < chunks_of(t);
  }

  /// On the publisher, after its own run_claimed(): waits for the chunks others still run
  /// (spin_wait), then rethrows the first exception a chunk threw.
  void wait() {
    spin_wait([&] { return done_.load(std::memory_order_acquire) >= chunks_; });
    if (error_) std::rethrow_exception(error_);
  }

 private:
  static constexpr int kCountBits = 18;
  static constexpr uint64_t kCountMask = (uint64_t{1} << kCountBits) - 1;
  static constexpr uint64_t kGenerationMask = (uint64_t{1} << (64 - 2 * kCountBits)) - 1;
  static uint64_t pack(uint64_t generation, int64_t chunks, int64_t next) {
    return generation << (2 * kCountBits) | static_cast<uint64_t>(chunks) << kCountBits | static_cast<uint64_t>(next);
  }
  static int64_t chunks_of(uint64_t t) { return static_cast<int64_t>((t >> kCountBits) & kCountMask); }
  static int64_t next_of(uint64_t t) { return static_cast<int64_t>(t & kCountMask); }

  std::atomic<uint64_t> ticket_{0};  // generation | chunks | next chunk to claim
  std::atomic<int64_t> done_{0};     // chunks of the current loop that have finished
  // The current loop, written by the publisher before ticket_; generation_ and chunks_ are its
  // own copies.
  int64_t n_ = 0, chunks_ = 0;
  RangeFn* fn_ = nullptr;
  uint64_t generation_ = 0;
  std::mutex error_mutex_;
  std::exception_ptr error_;
};

}  // namespace accelab::cpu
