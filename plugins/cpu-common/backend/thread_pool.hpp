// A small fork-join pool (cpu-eigen's optional threads, the host's calibration runs): the calling thread takes chunk 0,
// workers the rest; workers spin briefly before sleeping so back-to-back operations of a decode
// step do not pay a wake-up each.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "executor.hpp"

namespace accelab::cpu {

class ThreadPoolExecutor final : public Executor {
 public:
  explicit ThreadPoolExecutor(int threads);
  ~ThreadPoolExecutor() override;
  [[nodiscard]] int threads() const override { return threads_; }
  void parallel_chunks(int64_t n, int64_t chunks, RangeFn fn) override;
  [[nodiscard]] int worker_index() const override;

 private:
  void worker(int index);
  void run_chunks(int index);

  int threads_;
  // How long a worker spins for the next operation before it sleeps, and the caller for the
  // workers before it yields: none when there are more threads than the machine runs at once.
  std::chrono::microseconds worker_spin_{200}, join_spin_{50};
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  // The job of the current generation.
  int64_t n_ = 0, chunks_ = 0;
  RangeFn* fn_ = nullptr;
};

}  // namespace accelab::cpu
