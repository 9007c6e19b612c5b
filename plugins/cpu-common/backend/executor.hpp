// How a CPU backend spreads a loop over its threads. cpu-eigen runs loops on its own small
// fork-join pool (or inline), cpu-tbb in a oneTBB task arena of its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <utility>

namespace accelab::cpu {

/// A non-owning reference to a callable void(int64_t begin, int64_t end): no allocation, one
/// indirect call — cheaper than std::function on the per-operation path.
class RangeFn {
 public:
  template <class F>
  RangeFn(F& f)  // NOLINT(google-explicit-constructor): implicit by design, like function_ref
      : obj_(static_cast<void*>(&f)), call_([](void* o, int64_t b, int64_t e) { (*static_cast<F*>(o))(b, e); }) {}
  void operator()(int64_t begin, int64_t end) const { call_(obj_, begin, end); }

 private:
  void* obj_;
  void (*call_)(void*, int64_t, int64_t);
};

class Executor {
 public:
  virtual ~Executor() = default;
  /// Number of workers (1 = everything runs on the calling thread).
  [[nodiscard]] virtual int threads() const = 0;
  /// Calls fn on disjoint chunks covering [0, n), `chunks` of them (at most n), in parallel;
  /// returns when all are done. Chunks are contiguous and as equal as possible.
  virtual void parallel_chunks(int64_t n, int64_t chunks, RangeFn fn) = 0;
  /// Index of the calling worker in [0, threads()), for per-worker scratch memory.
  [[nodiscard]] virtual int worker_index() const = 0;
};

/// Runs everything on the calling thread.
class SerialExecutor final : public Executor {
 public:
  [[nodiscard]] int threads() const override { return 1; }
  void parallel_chunks(int64_t n, int64_t, RangeFn fn) override {
    if (n > 0) fn(0, n);
  }
  [[nodiscard]] int worker_index() const override { return 0; }
};

/// A spin-wait hint: lets the core's other work run while a thread spins.
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/// Returns once done() is true. The threads of a decode product finish within microseconds of
/// each other, so this spins for the first `spin`, and only then yields too: sched_yield is a
/// system call, about a microsecond on this project's VMs, and the thread waited for may be
/// descheduled.
template <class Done>
void spin_wait(Done done, std::chrono::microseconds spin = std::chrono::microseconds(50)) {
  const auto spin_until = std::chrono::steady_clock::now() + spin;
  while (!done()) {
    if (std::chrono::steady_clock::now() < spin_until) cpu_relax();
    else std::this_thread::yield();
  }
}

/// Bounds of chunk `c` of `chunks` equal contiguous parts of [0, n).
inline std::pair<int64_t, int64_t> chunk_bounds(int64_t n, int64_t chunks, int64_t c) {
  return {n * c / chunks, n * (c + 1) / chunks};
}

/// Calls fn on each of the `chunks` parts of [0, n) in turn on the calling thread (1 <= chunks
/// <= n): a parallel_chunks that has no other thread to give them to.
inline void run_chunks_here(int64_t n, int64_t chunks, const RangeFn& fn) {
  for (int64_t c = 0; c < chunks; ++c) {
    auto [b, e] = chunk_bounds(n, chunks, c);
    fn(b, e);
  }
}

}  // namespace accelab::cpu
