// cpu-ref: the reference backend. Single-threaded float32, written to be read, not to be fast;
// every other backend is tested against it.
#include <accelab/plugin.hpp>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "reference_ops.hpp"

namespace {

class CpuRef final : public accelab::Backend {
 public:
  static constexpr const char* name = "cpu-ref";
  static constexpr const char* description =
      "Reference backend: plain single-threaded float32 loops, the correctness oracle.";

  CpuRef(const accelab::Params&, const accelab::Host&) {}

  bool supports(const accelab_graph& graph, const accelab_node& node, std::string& why) override {
    const accelab_tensor* w = accelab::node_weight(graph, node);
    if (w == nullptr) return true;
    if (w->dtype != ACCELAB_DTYPE_F32 || w->quant.scheme != ACCELAB_QUANT_SCHEME_NONE) {
      why = std::string("cpu-ref computes only with dense f32 weights; ") + w->name + " is " +
            accelab::dtype_name(w->dtype) +
            (w->quant.scheme != ACCELAB_QUANT_SCHEME_NONE ? " (block-quantized)" : "");
      return false;
    }
    if (w->sparsity.layout == ACCELAB_SPARSITY_ROWS || w->sparsity.layout == ACCELAB_SPARSITY_COLUMNS) {
      why = std::string("cpu-ref does not run structurally pruned tensors (") + w->name + ")";
      return false;
    }
    return true;
  }

  void prepare(const accelab_graph& graph, const accelab_limits& limits) override {
    graph_ = &graph;
    cfg_ = graph.model->config;
    limits_ = limits;
    values_.assign(static_cast<size_t>(graph.n_values), {});
    for (int32_t v = 0; v < graph.n_values; ++v)
      values_[static_cast<size_t>(v)].assign(
          static_cast<size_t>(limits.max_rows) * static_cast<size_t>(graph.values[v].width), 0.0f);
    kv_dim_ = cfg_.head_size * cfg_.n_kv_heads;
    size_t cache = static_cast<size_t>(cfg_.n_layers) * static_cast<size_t>(limits.max_sequences) *
                   static_cast<size_t>(limits.max_positions) * static_cast<size_t>(kv_dim_);
    key_cache_.assign(cache, 0.0f);
    value_cache_.assign(cache, 0.0f);
    scores_.assign(static_cast<size_t>(limits.max_positions), 0.0f);
  }

  void execute(const accelab_batch& batch) override {
    if (batch.n_rows < 1 || batch.n_rows > limits_.max_rows)
      throw std::invalid_argument("batch has " + std::to_string(batch.n_rows) +
                                  " rows; prepared for at most " + std::to_string(limits_.max_rows));
    for (int32_t r = 0; r < batch.n_rows; ++r) {
      if (batch.seq_ids[r] < 0 || batch.seq_ids[r] >= limits_.max_sequences ||
          batch.positions[r] < 0 || batch.positions[r] >= limits_.max_positions ||
          batch.tokens[r] < 0 || batch.tokens[r] >= cfg_.vocab_size)
        throw std::invalid_argument("batch row " + std::to_string(r) +
                                    " has a token, position or sequence out of range");
    }
    for (int32_t i = 0; i < graph_->n_nodes; ++i) run(graph_->nodes[i], batch);
  }

 private:
  float* row(int32_t value, int32_t r) {
    return values_[static_cast<size_t>(value)].data() +
           static_cast<size_t>(r) * static_cast<size_t>(graph_->values[value].width);
  }
  int32_t width(int32_t value) const { return graph_->values[value].width; }
  const float* weight(const accelab_node& n) const {
    return static_cast<const float*>(graph_->model->tensors[n.weight].data);
  }
  size_t cache_offset(int32_t layer, int32_t seq, int32_t pos) const {
    return ((static_cast<size_t>(layer) * static_cast<size_t>(limits_.max_sequences) +
             static_cast<size_t>(seq)) * static_cast<size_t>(limits_.max_positions) +
            static_cast<size_t>(pos)) * static_cast<size_t>(kv_dim_);
  }

  void run(const accelab_node& n, const accelab_batch& b) {
    const int32_t rows = b.n_rows;
    switch (n.op) {
      case ACCELAB_OP_EMBEDDING:
        for (int32_t r = 0; r < rows; ++r)
          std::memcpy(row(n.out, r), weight(n) + static_cast<int64_t>(b.tokens[r]) * cfg_.dim,
                      sizeof(float) * static_cast<size_t>(cfg_.dim));
        break;
      case ACCELAB_OP_RMSNORM:
        for (int32_t r = 0; r < rows; ++r)
          accelab::ref::rmsnorm(row(n.out, r), row(n.in[0], r), weight(n), width(n.in[0]), n.eps);
        break;
      case ACCELAB_OP_MATMUL:
        for (int32_t r = 0; r < rows; ++r)
          accelab::ref::matvec(row(n.out, r), row(n.in[0], r), weight(n), width(n.in[0]),
                               width(n.out));
        break;
      case ACCELAB_OP_ROPE:
        for (int32_t r = 0; r < rows; ++r) {
          if (n.out != n.in[0])
            std::memcpy(row(n.out, r), row(n.in[0], r), sizeof(float) * static_cast<size_t>(width(n.out)));
          accelab::ref::rope(row(n.out, r), width(n.out), cfg_.head_size, cfg_.rope_dim,
                             cfg_.rope_theta, b.positions[r]);
        }
        break;
      case ACCELAB_OP_ATTENTION:
        attention(n, b);
        break;
      case ACCELAB_OP_SWIGLU:
        for (int32_t r = 0; r < rows; ++r)
          accelab::ref::swiglu(row(n.out, r), row(n.in[0], r), row(n.in[1], r), width(n.out));
        break;
      case ACCELAB_OP_ADD:
        for (int32_t r = 0; r < rows; ++r) {
          float* out = row(n.out, r);
          const float* a = row(n.in[0], r);
          const float* c = row(n.in[1], r);
          for (int32_t i = 0; i < width(n.out); ++i) out[i] = a[i] + c[i];
        }
        break;
      case ACCELAB_OP_LOGITS: {
        int32_t j = 0;
        for (int32_t r = 0; r < rows; ++r) {
          if (b.want_logits != nullptr && !b.want_logits[r]) continue;
          if (j >= b.n_logits) throw std::invalid_argument("more rows want logits than n_logits");
          accelab::ref::matvec(b.logits + static_cast<int64_t>(j) * cfg_.vocab_size,
                               row(n.in[0], r), weight(n), width(n.in[0]), cfg_.vocab_size);
          ++j;
        }
        break;
      }
      default:
        throw std::invalid_argument(std::string("cpu-ref: unknown op ") + accelab::op_name(n.op));
    }
  }

  void attention(const accelab_node& n, const accelab_batch& b) {
    const int32_t hs = cfg_.head_size;
    const int32_t kv_mul = cfg_.n_heads / cfg_.n_kv_heads;
    // Store every row's key and value first: later rows of a prompt attend to earlier ones.
    for (int32_t r = 0; r < b.n_rows; ++r) {
      size_t at = cache_offset(n.layer, b.seq_ids[r], b.positions[r]);
      std::memcpy(&key_cache_[at], row(n.in[1], r), sizeof(float) * static_cast<size_t>(kv_dim_));
      std::memcpy(&value_cache_[at], row(n.in[2], r), sizeof(float) * static_cast<size_t>(kv_dim_));
    }
    for (int32_t r = 0; r < b.n_rows; ++r) {
      const int32_t pos = b.positions[r];
      const size_t base = cache_offset(n.layer, b.seq_ids[r], 0);
      for (int32_t h = 0; h < cfg_.n_heads; ++h) {
        const float* q = row(n.in[0], r) + h * hs;
        const int32_t kv_head_off = (h / kv_mul) * hs;
        for (int32_t t = 0; t <= pos; ++t) {
          const float* k = &key_cache_[base + static_cast<size_t>(t) * kv_dim_ + kv_head_off];
          float score = 0.0f;
          for (int32_t i = 0; i < hs; ++i) score += q[i] * k[i];
          score /= std::sqrt(static_cast<float>(hs));
          scores_[static_cast<size_t>(t)] = score;
        }
        accelab::ref::softmax(scores_.data(), pos + 1);
        float* out = row(n.out, r) + h * hs;
        std::memset(out, 0, sizeof(float) * static_cast<size_t>(hs));
        for (int32_t t = 0; t <= pos; ++t) {
          const float* v = &value_cache_[base + static_cast<size_t>(t) * kv_dim_ + kv_head_off];
          float a = scores_[static_cast<size_t>(t)];
          for (int32_t i = 0; i < hs; ++i) out[i] += a * v[i];
        }
      }
    }
  }

  const accelab_graph* graph_ = nullptr;
  accelab_model_config cfg_{};
  accelab_limits limits_{};
  int32_t kv_dim_ = 0;
  std::vector<std::vector<float>> values_;
  std::vector<float> key_cache_, value_cache_, scores_;
};

}  // namespace

ACCELAB_PLUGIN("cpu-ref", "1.0.0", "The reference float32 backend.", CpuRef)
