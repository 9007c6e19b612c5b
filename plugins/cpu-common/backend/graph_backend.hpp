// The CPU backend core shared by cpu-eigen and cpu-tbb: executes the host's llama graph with the
// SIMD kernels of accelab_cpu_kernels, spreading each operation over an Executor's threads —
// matrix-vector work over output rows, matrix-matrix work over column blocks, attention over
// (sequence, KV head) pairs. Buffers, KV cache and scratch are allocated once in prepare;
// execute allocates nothing.
#pragma once

#include <accelab/plugin.hpp>
#include <accelab_cpu/kernels.hpp>
#include <accelab_cpu/quant.hpp>

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "balanced_split.hpp"
#include "executor.hpp"
#include "split_profile.hpp"

namespace accelab::cpu {

class GraphBackend : public accelab::Backend {
 public:
  /// With `profile`, every node is timed and the time per kind of operation is logged through
  /// `host` when the instance is destroyed, with where the multi-threaded decode products spent
  /// their time (split_profile.hpp). The cost: two clock reads per node, and two per range a
  /// thread runs of such a product.
  GraphBackend(std::string name, std::unique_ptr<Executor> executor, const accelab::Host& host,
               bool profile);
  ~GraphBackend() override;

  bool supports(const accelab_graph& graph, const accelab_node& node, std::string& why) override;
  void prepare(const accelab_graph& graph, const accelab_limits& limits) override;
  void execute(const accelab_batch& batch) override;

  [[nodiscard]] const KernelTable& kernels() const { return *k_; }
  [[nodiscard]] const QuantKernels& quant_kernels() const { return *kq_; }

  /// Called with the input of every matrix product (x: `rows` rows of `width` floats; for the
  /// logits, the rows that want them) before it runs: the host's calibration collects activation
  /// statistics through it.
  using MatmulObserver = std::function<void(const accelab_node& node, const float* x, int64_t rows, int64_t width)>;
  void set_matmul_observer(MatmulObserver f) { observer_ = std::move(f); }

 private:
  struct Weight {
    WeightType type = WeightType::f32;
    const void* data = nullptr;
    int64_t rows = 0, cols = 0;
    bool quantized = false;
    QuantMatrix q;  // when quantized
  };
  /// x quantized for w's format: once for consecutive products of the same input (Q, K and V;
  /// gate and up), since qacts_ remembers what it holds until forget_quantized_inputs.
  const QuantActivations& quantized_input(const Weight& w, const float* x, int64_t ldx, int64_t rows);
  /// After node n ran: an input n may have overwritten is no longer what qacts_ holds.
  void forget_quantized_inputs(const accelab_node& n);
  float* value_row(int32_t value, int64_t r) {
    return values_[static_cast<size_t>(value)].data() + r * widths_[static_cast<size_t>(value)];
  }
  void run_node(const accelab_node& n, const accelab_batch& b);
  void embedding(const accelab_node& n, const accelab_batch& b);
  void rmsnorm(const accelab_node& n, const accelab_batch& b);
  void matmul(const Weight& w, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t rows);
  /// Whether a quantized product of `rows` rows splits its rows over the threads
  /// (matmul_row_slices) instead of its outputs.
  [[nodiscard]] bool splits_rows(const Weight& w, int64_t rows) const;
  /// y = w x with each thread quantizing and multiplying its own slice of x's rows, against all
  /// of w: for matrices small enough that every core keeps a copy in its L2 (stories260K's,
  /// stories15M's), so the quantize runs in parallel and the threads never wait on each other.
  void matmul_row_slices(const Weight& w, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t rows);
  static constexpr int32_t kMaxFused = 4;
  [[nodiscard]] int32_t fusable_matmuls(int32_t i, const accelab_batch& b) const;
  void matmul_group(const accelab_node* nodes, int32_t count);
  /// y[k] = w[k] x for one row x, the products' rows split over the threads by split_.
  void decode_products(const Weight* const* w, float* const* y, int32_t count, const float* x);
  /// Bytes a product with w reads: codes, scales and mins of a quantized matrix.
  [[nodiscard]] static uint64_t stream_bytes(const Weight& w);
  [[nodiscard]] uint64_t weight_bytes_of(const accelab_node& n) const;
  void rope(const accelab_node& n, const accelab_batch& b);
  void attention(const accelab_node& n, const accelab_batch& b);
  void attend_group(int32_t layer, const accelab_node& n, const accelab_batch& b, int64_t row0,
                    int64_t rows, int32_t kv_head, float* scratch);
  void logits(const accelab_node& n, const accelab_batch& b);
  template <class F>
  void for_rows(int64_t rows, int64_t work_per_row, F&& f);

  // Where the cached keys (tiled: key_tile_offset) and values ([position][head_size]) of one KV
  // head of one sequence in one layer start, in key_cache_ and value_cache_.
  size_t kv_block(int32_t layer, int32_t seq, int32_t kv_head) const;

  std::string name_;
  std::unique_ptr<Executor> ex_;
  BalancedSplit split_;  // one part per thread of ex_
  SplitProfile split_profile_;  // decode_products' timings, with profile_
  const KernelTable* k_ = nullptr;
  const QuantKernels* kq_ = nullptr;
  std::array<QuantActivations, 3> qacts_;  // by QuantFormat
  struct QuantizedFrom {
    const float* x = nullptr;
    int64_t ldx = 0, rows = 0, cols = 0;
    bool operator==(const QuantizedFrom&) const = default;
  };
  std::array<QuantizedFrom, 3> qfrom_;     // what each of qacts_ was quantized from
  // matmul_row_slices' activations: per slice (one per thread), by QuantFormat, with what each
  // holds a slice of (QuantizedFrom of the whole input, so forget_quantized_inputs finds it).
  struct RowSlice {
    std::array<QuantActivations, 3> acts;
    std::array<QuantizedFrom, 3> from;
  };
  std::vector<RowSlice> row_slices_;
  MatmulObserver observer_;
  const accelab_graph* graph_ = nullptr;
  accelab_model_config cfg_{};
  accelab_limits limits_{};
  std::vector<Weight> weights_;                 // by model tensor index
  std::vector<std::vector<float>> norm_f32_;    // f32 copies of non-f32 norm weights
  std::vector<std::vector<float>> values_;
  std::vector<int64_t> widths_;
  std::vector<float> rope_table_;               // [max_positions][rope_dim] cos, sin pairs
  // [layer][seq][kv_head] blocks of kv_positions_ positions (max_positions rounded up to whole
  // key tiles): keys in tiles of kKeyTile positions, values [pos][head_size].
  std::vector<float> key_cache_, value_cache_;
  int64_t kv_positions_ = 0;
  std::vector<float> scratch_;                  // per worker: scores and transposed values
  size_t scratch_per_worker_ = 0;
  std::vector<float> gathered_;                 // rows wanting logits, packed
  std::vector<std::pair<int64_t, int64_t>> runs_;  // attention: (first row, rows) per sequence run

  // Profiling: seconds and weight bytes per kind of node ("matmul ffn_up", "attention"...).
  struct ProfileEntry {
    std::string kind;
    double seconds = 0;
    uint64_t weight_bytes = 0;
    uint64_t calls = 0;
  };
  void record(const accelab_node& n, double seconds);
  accelab::Host host_;
  bool profile_;
  uint64_t executes_ = 0, rows_ = 0;
  std::vector<size_t> node_kind_;  // node index -> index into profile_entries_
  std::vector<ProfileEntry> profile_entries_;
};

}  // namespace accelab::cpu
