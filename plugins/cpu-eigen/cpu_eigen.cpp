// cpu-eigen: the CPU backend core on the calling thread (or a small pool when asked): Eigen's
// GEMM for prompt-sized matrix products, the hand-written SIMD kernels for the rest.
#include <array>

#include "graph_backend.hpp"
#include "thread_pool.hpp"

namespace {

std::unique_ptr<accelab::cpu::Executor> make_executor(int64_t threads) {
  if (threads <= 1) return std::make_unique<accelab::cpu::SerialExecutor>();
  return std::make_unique<accelab::cpu::ThreadPoolExecutor>(static_cast<int>(threads));
}

class CpuEigen final : public accelab::cpu::GraphBackend {
 public:
  static constexpr const char* name = "cpu-eigen";
  static constexpr const char* description =
      "CPU backend: Eigen GEMM and SIMD kernels (AVX-512/AVX2 chosen at run time), single-threaded by default.";
  static constexpr std::array params{
      accelab::int_param("threads", 1, 1, 1024, "threads (a plain fork-join pool); 1 = the calling thread only")};

  CpuEigen(const accelab::Params& p, const accelab::Host&)
      : GraphBackend("cpu-eigen", make_executor(p.integer("threads"))) {}
};

}  // namespace

ACCELAB_PLUGIN("cpu-eigen", "1.0.0", "Single-threaded CPU backend on Eigen and SIMD kernels.", CpuEigen)
