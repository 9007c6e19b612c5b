// Splitting one decode product over the threads so that none waits for another at its end.
//
// Each thread owns an equal contiguous part of the rows and streams it from the front, a grain
// at a time; a thread done with its own part takes grains from the back of the others' parts
// until the two ends meet. The owner's stream runs on unbroken, and the thread that got ahead
// (the other was descheduled, woke late or ran its share slower) absorbs the difference.
//
// Why: with equal static parts, on the shared 2-vCPU machine one thread of a TinyLlama int8
// decode product finished on average 26 us after the other (13% of the products' time,
// pp8 + tg48), and the worker started 4 us after the caller.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>

#include "executor.hpp"

namespace accelab::cpu {

/// Weight bytes a decode thread claims at a time from a quantized matrix: small enough that the
/// thread that finishes first waits at most about 2 us, large enough that a claim is rare.
constexpr int64_t kDecodeGrainBytes = 64 << 10;
/// The same for float matrices, whose GEMV reads 8 far apart rows of its range at once
/// (src/gemv.hpp): 8 streams of 64 KiB. With 64 KiB grains, one row per stream, TinyLlama's f32
/// decode ran 10% slower.
constexpr int64_t kFloatDecodeGrainBytes = 8 * kDecodeGrainBytes;

/// Items per grain of `grain_bytes` for items of `item_bytes` each (at least 1).
constexpr int64_t decode_grain(int64_t item_bytes, int64_t grain_bytes = kDecodeGrainBytes) {
  return std::max<int64_t>(1, grain_bytes / std::max<int64_t>(1, item_bytes));
}

class BalancedSplit {
 public:
  explicit BalancedSplit(int parts) : parts_(parts), part_(std::make_unique<Part[]>(static_cast<size_t>(parts))) {}

  /// Calls fn(begin, end) on disjoint ranges of items covering [0, n) from every thread of `ex`
  /// (ranges of `grain` items, the last of a part shorter); returns when all are done. One call
  /// at a time per instance.
  template <class F>
  void run(Executor& ex, int64_t n, int64_t grain, F&& fn) {
    if (n <= 0) return;
    if (n >= (int64_t{1} << 32)) throw std::length_error("BalancedSplit: more than 2^32 items");
    for (int p = 0; p < parts_; ++p) {
      auto [b, e] = chunk_bounds(n, parts_, p);
      part_[p].range.store(pack(b, e), std::memory_order_relaxed);  // published by parallel_chunks
    }
    auto body = [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int own = static_cast<int>(t);
        for (int64_t b = 0, e = 0; claim_front(own, grain, b, e);) fn(b, e);
        for (int k = 1; k < parts_; ++k) {
          const int other = (own + k) % parts_;
          for (int64_t b = 0, e = 0; claim_back(other, grain, b, e);) fn(b, e);
        }
      }
    };
    ex.parallel_chunks(parts_, parts_, body);
  }

 private:
  // A part's unclaimed range [front, end), packed into one word so both ends move atomically.
  struct alignas(64) Part {
    std::atomic<uint64_t> range{0};
  };
  static uint64_t pack(int64_t front, int64_t end) {
    return static_cast<uint64_t>(front) | (static_cast<uint64_t>(end) << 32);
  }
  static int64_t front_of(uint64_t r) { return static_cast<int64_t>(r & 0xFFFFFFFFu); }
  static int64_t end_of(uint64_t r) { return static_cast<int64_t>(r >> 32); }

  bool claim_front(int p, int64_t grain, int64_t& b, int64_t& e) {
    uint64_t r = part_[p].range.load(std::memory_order_relaxed);
    do {
      b = front_of(r);
      e = std::min(end_of(r), b + grain);
      if (b >= e) return false;
    } while (!part_[p].range.compare_exchange_weak(r, pack(e, end_of(r)), std::memory_order_relaxed));
    return true;
  }
  bool claim_back(int p, int64_t grain, int64_t& b, int64_t& e) {
    uint64_t r = part_[p].range.load(std::memory_order_relaxed);
    do {
      e = end_of(r);
      b = std::max(front_of(r), e - grain);
      if (b >= e) return false;
    } while (!part_[p].range.compare_exchange_weak(r, pack(front_of(r), b), std::memory_order_relaxed));
    return true;
  }

  int parts_;
  std::unique_ptr<Part[]> part_;
};

}  // namespace accelab::cpu
