#include "thread_pool.hpp"

#include <algorithm>
#include <chrono>

namespace accelab::cpu {
namespace {
thread_local int t_worker_index = 0;
}

ThreadPoolExecutor::ThreadPoolExecutor(int threads) : threads_(std::max(1, threads)) {
  // More threads than the machine runs at once: a spinning thread would take the core that the
  // one it waits for needs (4 threads on 2 vCPUs decoded stories15M 7 times slower than 2).
  if (static_cast<unsigned>(threads_) > std::max(1u, std::thread::hardware_concurrency())) {
    worker_spin_ = std::chrono::microseconds(0);
    join_spin_ = std::chrono::microseconds(0);
  }
  for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPoolExecutor::~ThreadPoolExecutor() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

int ThreadPoolExecutor::worker_index() const { return t_worker_index; }

void ThreadPoolExecutor::run_chunks(int index) {
  for (int64_t c = index; c < chunks_; c += threads_) {
    auto [b, e] = chunk_bounds(n_, chunks_, c);
    if (e > b) (*fn_)(b, e);
  }
}

void ThreadPoolExecutor::parallel_chunks(int64_t n, int64_t chunks, RangeFn fn) {
  if (n <= 0) return;
  chunks = std::clamp<int64_t>(chunks, 1, n);
  if (threads_ == 1 || chunks == 1) {
    run_chunks_here(n, chunks, fn);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    n_ = n;
    chunks_ = chunks;
    fn_ = &fn;
    pending_ = threads_ - 1;
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  run_chunks(0);
  spin_wait([&] { return pending_.load(std::memory_order_acquire) == 0; }, join_spin_);
}

void ThreadPoolExecutor::worker(int index) {
  t_worker_index = index;
  uint64_t seen = 0;
  while (true) {
    // Spin a little: the next operation of a decode step usually follows within microseconds.
    auto spin_until = std::chrono::steady_clock::now() + worker_spin_;
    while (generation_.load(std::memory_order_acquire) == seen && !stop_ &&
           std::chrono::steady_clock::now() < spin_until) {
    }
    if (generation_.load(std::memory_order_acquire) == seen) {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_.load() != seen; });
    }
    if (stop_) return;
    seen = generation_.load(std::memory_order_acquire);
    run_chunks(index);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace accelab::cpu
