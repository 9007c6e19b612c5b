// Where the wall time of the multi-threaded decode products goes, for the backends' profile
// (`profile=true`): how long the input takes to quantize before the threads start, how late each
// thread starts after the fork, how long it streams and at what rate, how far apart the threads
// finish and how long the join takes after the last. A decode step is nearly all such products,
// so these say what separates the step's speed from the memory bandwidth: the streaming rate of
// the busy threads, or the time around it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace accelab::cpu {

class SplitProfile {
 public:
  using Clock = std::chrono::steady_clock;

  explicit SplitProfile(int threads);

  /// One product, in this order: begin() on entry, forked() once its input is ready and the
  /// threads are about to start, grain() for every range a thread ran, end() after the join.
  /// grain() may be called from several threads at once, each with its own `worker` index in
  /// [0, threads); the others from the thread that runs the product.
  void begin(Clock::time_point t);
  void forked(Clock::time_point t);
  void grain(int worker, Clock::time_point start, Clock::time_point end, double bytes);
  void end(Clock::time_point t);

  /// Indented lines for the profile log, one summary of all products then one per thread; empty
  /// when no product was recorded.
  [[nodiscard]] std::string summary() const;

 private:
  // One thread's part of the current product, a cache line apart from the others' parts.
  struct alignas(64) Current {
    Clock::time_point first{}, last{};
    double bytes = 0;
    bool ran = false;
  };
  struct PerThread {
    double start = 0, busy = 0, bytes = 0;  // sums over the products it ran a range of
    uint64_t products = 0;
  };
  std::vector<Current> current_;
  std::vector<PerThread> threads_;
  // Every product's spread of the threads' finishes: its mean alone hides that on a shared
  // machine a few descheduled threads make most of it (the summary gives the median beside it).
  std::vector<float> spreads_;
  Clock::time_point entered_{}, forked_{};
  uint64_t products_ = 0;
  double wall_ = 0, quantize_ = 0, spread_ = 0, join_ = 0, bytes_ = 0;
};

}  // namespace accelab::cpu
