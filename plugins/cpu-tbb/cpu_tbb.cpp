// cpu-tbb: the CPU backend core with every operation spread over a oneTBB task arena owned by
// the instance, so two instances in one process do not fight over one pool.
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <array>

#include "graph_backend.hpp"

namespace {

class TbbExecutor final : public accelab::cpu::Executor {
 public:
  explicit TbbExecutor(int threads) : threads_(threads), arena_(threads) {}
  [[nodiscard]] int threads() const override { return threads_; }
  void parallel_chunks(int64_t n, int64_t chunks, accelab::cpu::RangeFn fn) override {
    chunks = std::clamp<int64_t>(chunks, 1, std::max<int64_t>(n, 1));
    if (n <= 0) return;
    arena_.execute([&] {
      // One task per chunk, each a contiguous range: the matrix kernels stream memory best that way.
      tbb::parallel_for(
          tbb::blocked_range<int64_t>(0, chunks, 1),
          [&](const tbb::blocked_range<int64_t>& r) {
            for (int64_t c = r.begin(); c < r.end(); ++c) {
              auto [b, e] = accelab::cpu::chunk_bounds(n, chunks, c);
              if (e > b) fn(b, e);
            }
          },
          tbb::simple_partitioner());
    });
  }
  [[nodiscard]] int worker_index() const override {
    int i = tbb::this_task_arena::current_thread_index();
    return i >= 0 && i < threads_ ? i : 0;
  }

 private:
  int threads_;
  tbb::task_arena arena_;
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
