// cpu-eigen: the CPU backend core on the calling thread (or a small pool when asked), on the
// kernel library's SIMD kernels and blocked GEMM (Eigen's where it is the faster one).
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
      "CPU backend: SIMD kernels and blocked GEMM (AVX-512/AVX2 chosen at run time; Eigen where faster), single-threaded by default.";
  static constexpr std::array params{
      accelab::int_param("threads", 1, 1, 1024, "threads (a plain fork-join pool); 1 = the calling thread only"),
      accelab::bool_param("profile", false, "log, when done, the time spent per kind of operation and where the decode products spent theirs")};

  CpuEigen(const accelab::Params& p, const accelab::Host& host)
      : GraphBackend("cpu-eigen", make_executor(p.integer("threads")), host, p.boolean("profile")) {}
};

}  // namespace

ACCELAB_PLUGIN("cpu-eigen", "1.0.0", "Single-threaded CPU backend on Eigen and SIMD kernels.", CpuEigen)
