// cpu-tbb: the CPU backend core with every operation spread over a oneTBB task arena owned by
// the instance, so two instances in one process do not fight over one pool.
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>

#include "chunk_tickets.hpp"
#include "graph_backend.hpp"

namespace {

thread_local bool t_in_loop = false;  // the thread runs a chunk of some TbbExecutor's loop
struct InLoop {
  InLoop() { t_in_loop = true; }
  ~InLoop() { t_in_loop = false; }
  InLoop(const InLoop&) = delete;
  InLoop& operator=(const InLoop&) = delete;
};

// Operations spread over the arena's workers through resident tasks: each waits for the next
// operation by spinning, and hands its thread back to oneTBB after kHelperIdle without one. A
// decode step is hundreds of operations a few microseconds apart; through tbb::parallel_for,
// the worker left the arena between them and came back 4-5 us after each fork of a TinyLlama
// decode product (2026-12-07, the backend's profile), while its chunk waited. Chunks are claimed
// (chunk_tickets.hpp), so a helper that is late or busy elsewhere leaves its chunks to the
// calling thread instead of holding it up.
class TbbExecutor final : public accelab::cpu::Executor {
 public:
  explicit TbbExecutor(int threads) : threads_(threads), arena_(threads) {}
  ~TbbExecutor() noexcept override {
    stop_.store(true, std::memory_order_release);
    // Runs any helper that never started (it returns at once) and waits for the others.
    arena_.execute([&] { helpers_.wait(); });
  }
  TbbExecutor(const TbbExecutor&) = delete;
  TbbExecutor& operator=(const TbbExecutor&) = delete;

  [[nodiscard]] int threads() const override { return threads_; }
  void parallel_chunks(int64_t n, int64_t chunks, accelab::cpu::RangeFn fn) override {
    if (n <= 0) return;
    chunks = std::clamp<int64_t>(chunks, 1, n);
    // One loop at a time: a loop started from inside a chunk runs on the thread that asks.
    if (threads_ == 1 || chunks == 1 || t_in_loop) {
      accelab::cpu::run_chunks_here(n, chunks, fn);
      return;
    }
    auto in_loop = [&fn](int64_t b, int64_t e) {
      const InLoop mark;
      fn(b, e);
    };
    accelab::cpu::RangeFn body(in_loop);
    tickets_.publish(n, chunks, body);
    call_helpers();
    tickets_.run_claimed();
    tickets_.wait();
  }
  [[nodiscard]] int worker_index() const override {
    // Helpers run in the arena's worker slots (1..threads-1); the calling thread is outside it.
    int i = tbb::this_task_arena::current_thread_index();
    return i >= 0 && i < threads_ ? i : 0;
  }

 private:
  static constexpr auto kHelperIdle = std::chrono::microseconds(200);

  // Enqueues helpers until threads - 1 are running or on their way.
  void call_helpers() {
    int alive = alive_.load(std::memory_order_acquire);
    while (alive < threads_ - 1) {
      if (!alive_.compare_exchange_weak(alive, alive + 1, std::memory_order_acq_rel)) continue;
      arena_.enqueue(helpers_.defer([this] { help(); }));
      ++alive;
    }
  }
  void help() {
    using Clock = std::chrono::steady_clock;
    auto idle_since = Clock::now();
    while (!stop_.load(std::memory_order_acquire)) {
      if (tickets_.run_claimed() > 0) {
        idle_since = Clock::now();
        continue;
      }
      if (Clock::now() - idle_since > kHelperIdle) break;
      accelab::cpu::cpu_relax();
    }
    alive_.fetch_sub(1, std::memory_order_acq_rel);
  }

  int threads_;
  tbb::task_arena arena_;
  tbb::task_group helpers_;
  accelab::cpu::ChunkTickets tickets_;
  std::atomic<int> alive_{0};  // helpers running or enqueued
  std::atomic<bool> stop_{false};
};

int thread_count(int64_t requested) {
  return requested > 0 ? static_cast<int>(requested) : std::max(1, tbb::info::default_concurrency());
}

class CpuTbb final : public accelab::cpu::GraphBackend {
 public:
  static constexpr const char* name = "cpu-tbb";
  static constexpr const char* description =
      "CPU backend: SIMD kernels (AVX-512/AVX2 chosen at run time) spread over a oneTBB task arena.";
  static constexpr std::array params{
      accelab::int_param("threads", 0, 0, 1024, "worker threads; 0 = all cores"),
      accelab::bool_param("profile", false, "log, when done, the time spent per kind of operation and where the decode products spent theirs")};

  CpuTbb(const accelab::Params& p, const accelab::Host& host)
      : GraphBackend("cpu-tbb", std::make_unique<TbbExecutor>(thread_count(p.integer("threads"))), host,
                     p.boolean("profile")) {}
};

}  // namespace

ACCELAB_PLUGIN("cpu-tbb", "1.0.0", "Multi-threaded CPU backend on oneTBB.", CpuTbb)
