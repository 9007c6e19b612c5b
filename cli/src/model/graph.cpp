#include "model/graph.hpp"

#include <accelab/plugin.hpp>
#include <fmt/format.h>

#include "util/error.hpp"

namespace accelab {

ModelGraph::ModelGraph(const Model& model) : model_(&model) {
  const accelab_model_config& c = model.config();
  const int32_t kv_dim = c.head_size * c.n_kv_heads;
  // Activation values, reused by every layer.
  enum : int32_t { X, H, Q, K, V, ATT, O, GATE, UP, DOWN, NUM_VALUES };
  values_ = {{"x", c.dim},    {"h", c.dim},      {"q", c.dim},       {"k", kv_dim},
             {"v", kv_dim},   {"att", c.dim},    {"o", c.dim},       {"ffn_gate", c.hidden_dim},
             {"ffn_up", c.hidden_dim}, {"ffn_down", c.dim}};

  auto weight = [&](const std::string& name, int64_t rows, int64_t cols) {
    int32_t i = model.find(name);
    if (i < 0) throw FileError(fmt::format("{}: tensor '{}' is missing", model.source(), name));
    const accelab_tensor& t = model.tensor(i);
    int64_t got_rows = t.shape[0], got_cols = t.ndim > 1 ? t.shape[1] : 1;
    if (t.ndim > 2 || got_rows != rows || got_cols != cols)
      throw FileError(fmt::format("{}: tensor '{}' has shape [{}, {}], expected [{}, {}]",
                                  model.source(), name, got_rows, got_cols, rows, cols));
    return i;
  };
  auto node = [&](accelab_op op, int32_t layer, int32_t out, std::initializer_list<int32_t> in,
                  int32_t w = -1) {
    accelab_node n{};
    n.op = op;
    n.layer = layer;
    n.out = out;
    n.in[0] = n.in[1] = n.in[2] = -1;
    int i = 0;
    for (int32_t v : in) n.in[i++] = v;
    n.weight = w;
    n.eps = c.rms_eps;
    nodes_.push_back(n);
  };

  node(ACCELAB_OP_EMBEDDING, -1, X, {}, weight("token_embd.weight", c.vocab_size, c.dim));
  for (int32_t l = 0; l < c.n_layers; ++l) {
    auto w = [&](const char* what, int64_t rows, int64_t cols) {
      return weight(layer_tensor_name(l, what), rows, cols);
    };
    node(ACCELAB_OP_RMSNORM, l, H, {X}, w("attn_norm", c.dim, 1));
    node(ACCELAB_OP_MATMUL, l, Q, {H}, w("attn_q", c.dim, c.dim));
    node(ACCELAB_OP_MATMUL, l, K, {H}, w("attn_k", kv_dim, c.dim));
    node(ACCELAB_OP_MATMUL, l, V, {H}, w("attn_v", kv_dim, c.dim));
    node(ACCELAB_OP_ROPE, l, Q, {Q});
    node(ACCELAB_OP_ROPE, l, K, {K});
    node(ACCELAB_OP_ATTENTION, l, ATT, {Q, K, V});
    node(ACCELAB_OP_MATMUL, l, O, {ATT}, w("attn_output", c.dim, c.dim));
    node(ACCELAB_OP_ADD, l, X, {X, O});
    node(ACCELAB_OP_RMSNORM, l, H, {X}, w("ffn_norm", c.dim, 1));
    node(ACCELAB_OP_MATMUL, l, GATE, {H}, w("ffn_gate", c.hidden_dim, c.dim));
    node(ACCELAB_OP_MATMUL, l, UP, {H}, w("ffn_up", c.hidden_dim, c.dim));
    node(ACCELAB_OP_SWIGLU, l, GATE, {GATE, UP});
    node(ACCELAB_OP_MATMUL, l, DOWN, {GATE}, w("ffn_down", c.dim, c.hidden_dim));
    node(ACCELAB_OP_ADD, l, X, {X, DOWN});
  }
  node(ACCELAB_OP_RMSNORM, -1, H, {X}, weight("output_norm.weight", c.dim, 1));
  const char* classifier = c.shared_classifier ? "token_embd.weight" : "output.weight";
  node(ACCELAB_OP_LOGITS, -1, -1, {H}, weight(classifier, c.vocab_size, c.dim));

  abi_.struct_size = sizeof(accelab_graph);
  abi_.model = model.abi();
  abi_.n_values = static_cast<int32_t>(values_.size());
  abi_.values = values_.data();
  abi_.n_nodes = static_cast<int32_t>(nodes_.size());
  abi_.nodes = nodes_.data();
}

std::string ModelGraph::describe() const {
  std::string out;
  auto value = [&](int32_t v) { return v >= 0 ? values_[static_cast<size_t>(v)].name : "-"; };
  for (const auto& n : nodes_) {
    out += n.layer >= 0 ? fmt::format("blk.{:<3} ", n.layer) : std::string("        ");
    out += fmt::format("{:<9} {:<8} <- {}", op_name(n.op), n.out >= 0 ? value(n.out) : "logits",
                       value(n.in[0]));
    for (int i = 1; i < 3 && n.in[i] >= 0; ++i) out += fmt::format(", {}", value(n.in[i]));
    if (n.weight >= 0) {
      const accelab_tensor& t = model_->tensor(n.weight);
      out += fmt::format("  [{} {}]", t.name, dtype_name(t.dtype));
    }
    out += '\n';
  }
  return out;
}

}  // namespace accelab
