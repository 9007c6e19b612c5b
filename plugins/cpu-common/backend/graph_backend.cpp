#include "graph_backend.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace accelab::cpu {
namespace {

// Below this many multiply-adds an operation runs on the calling thread: waking workers costs
// microseconds, which would dominate the small models' decode steps.
constexpr int64_t kMinParallelWork = 1 << 15;

// Quantized prefill products of matrices up to this size split their rows over the threads
// (GraphBackend::matmul_row_slices): each core then reads the whole matrix, from its L2 (1 MiB
// on Zen 5) after the first slice of rows. Every matrix of stories260K and stories15M (288 x 768
// int8: 230 KB) qualifies, none of stories110M's.
constexpr uint64_t kRowSliceMaxBytes = 256 << 10;
// Row slices are whole passes of the kernels' 4 activation rows (quant_avx512.hpp in_row_passes).
constexpr int64_t kSliceRows = 4;

bool weight_type(const accelab_tensor& t, WeightType& out) {
  if (t.quant.scheme != ACCELAB_QUANT_SCHEME_NONE) return false;
  switch (t.dtype) {
    case ACCELAB_DTYPE_F32: out = WeightType::f32; return true;
    case ACCELAB_DTYPE_F16: out = WeightType::f16; return true;
    case ACCELAB_DTYPE_BF16: out = WeightType::bf16; return true;
    default: return false;
  }
}

// The block formats the integer kernels read (accelab_cpu/quant.hpp); empty `why` on success.
bool quant_format(const accelab_tensor& t, QuantFormat& out, std::string& why) {
  const accelab_quant& q = t.quant;
  if (q.scheme == ACCELAB_QUANT_SCHEME_SYMMETRIC && t.dtype == ACCELAB_DTYPE_I8 && q.bits == 8) out = QuantFormat::q8;
  else if (q.scheme == ACCELAB_QUANT_SCHEME_SYMMETRIC && t.dtype == ACCELAB_DTYPE_I4 && q.bits == 4) out = QuantFormat::q4;
  else if (q.scheme == ACCELAB_QUANT_SCHEME_ASYMMETRIC && t.dtype == ACCELAB_DTYPE_U4 && q.bits == 4) out = QuantFormat::q4_asym;
  else {
    why = "has no kernel for " + std::string(accelab::dtype_name(t.dtype)) + " codes with " +
          (q.scheme == ACCELAB_QUANT_SCHEME_ASYMMETRIC ? "asymmetric" : "symmetric") +
          " blocks (kernels: int8 symmetric, int4 symmetric, uint4 asymmetric)";
    return false;
  }
  if (q.scale_dtype != ACCELAB_DTYPE_F16 && q.scale_dtype != ACCELAB_DTYPE_U8) {
    why = "reads f16 or two-level (u8) block scales only; the scales are " + std::string(accelab::dtype_name(q.scale_dtype));
    return false;
  }
  if (q.block_size == 0 || q.block_size % 32 != 0) {
    why = "needs blocks of a multiple of 32 weights; the blocks have " + std::to_string(q.block_size);
    return false;
  }
  return true;
}

QuantSource quant_source(const accelab_tensor& t, QuantFormat f) {
  QuantSource s;
  s.format = f;
  s.codes = t.data;
  if (t.quant.scale_dtype == ACCELAB_DTYPE_U8) {
    s.scale_codes = static_cast<const uint8_t*>(t.quant.scales);
    s.min_codes = static_cast<const int8_t*>(t.quant.mins);
    s.scale_factors = t.quant.scale_factors;
    s.min_factors = t.quant.min_factors;
  } else {
    s.scales = static_cast<const uint16_t*>(t.quant.scales);
    s.mins = static_cast<const uint16_t*>(t.quant.mins);
  }
  s.rows = t.shape[0];
  s.cols = t.ndim > 1 ? t.shape[1] : 1;
  s.block = t.quant.block_size;
  return s;
}

float element_to_f32(WeightType type, const void* data, int64_t i) {
  switch (type) {
    case WeightType::f32: return static_cast<const float*>(data)[i];
    case WeightType::f16: return f16_to_f32(static_cast<const uint16_t*>(data)[i]);
    case WeightType::bf16: return bf16_to_f32(static_cast<const uint16_t*>(data)[i]);
  }
  return 0.0f;
}

}  // namespace

GraphBackend::GraphBackend(std::string name, std::unique_ptr<Executor> executor,
                           const accelab::Host& host, bool profile)
    : name_(std::move(name)), ex_(std::move(executor)), split_(ex_->threads()), split_profile_(ex_->threads()),
      k_(&best_kernels()), kq_(&best_quant_kernels()), host_(host), profile_(profile) {}

GraphBackend::~GraphBackend() {
  if (!profile_ || executes_ == 0) return;
  double total = 0;
  for (const auto& e : profile_entries_) total += e.seconds;
  // Built with += only: GCC 12 reports a false -Wrestrict for chains of string operator+.
  char line[256];
  std::snprintf(line, sizeof line, " profile: %llu execute calls, %llu rows, kernels %s, %d thread(s)",
                static_cast<unsigned long long>(executes_), static_cast<unsigned long long>(rows_), k_->isa,
                ex_->threads());
  std::string out = name_;
  out += line;
  for (const auto& e : profile_entries_) {
    double gbps = e.seconds > 0 ? static_cast<double>(e.weight_bytes) / e.seconds / 1e9 : 0;
    std::snprintf(line, sizeof line, "\n  %-22s %10.1f ms %6.1f%%  %8.2f GB/s of weights", e.kind.c_str(),
                  e.seconds * 1e3, total > 0 ? 100.0 * e.seconds / total : 0.0, gbps);
    out += line;
  }
  out += split_profile_.summary();
  host_.log(ACCELAB_LOG_INFO, out);
}

void GraphBackend::record(const accelab_node& n, double seconds) {
  const size_t i = static_cast<size_t>(&n - graph_->nodes);
  ProfileEntry& e = profile_entries_[node_kind_[i]];
  e.seconds += seconds;
  ++e.calls;
  e.weight_bytes += weight_bytes_of(n);
}

bool GraphBackend::supports(const accelab_graph& graph, const accelab_node& node, std::string& why) {
  const accelab_tensor* w = accelab::node_weight(graph, node);
  if (w == nullptr) return true;
  if (w->sparsity.layout == ACCELAB_SPARSITY_ROWS || w->sparsity.layout == ACCELAB_SPARSITY_COLUMNS) {
    why = name_ + " does not run structurally pruned tensors (" + w->name + ")";
    return false;
  }
  WeightType t;
  if (weight_type(*w, t)) return true;
  if (w->quant.scheme == ACCELAB_QUANT_SCHEME_NONE) {
    why = name_ + " computes with dense f32, f16 or bf16 weights; " + w->name + " is " + accelab::dtype_name(w->dtype);
    return false;
  }
  QuantFormat f;
  std::string problem;
  if (node.op == ACCELAB_OP_RMSNORM) problem = "does not run quantized norm weights";
  else if (!quant_format(*w, f, problem)) {}
  if (problem.empty()) return true;
  why = name_ + " " + problem;
  why += " (";
  why += w->name;
  why += ")";
  return false;
}

void GraphBackend::prepare(const accelab_graph& graph, const accelab_limits& limits) {
  graph_ = &graph;
  cfg_ = graph.model->config;
  limits_ = limits;
  const accelab_model& m = *graph.model;
  weights_.assign(static_cast<size_t>(m.n_tensors), {});
  norm_f32_.assign(static_cast<size_t>(m.n_tensors), {});
  for (int32_t i = 0; i < graph.n_nodes; ++i) {
    const accelab_node& n = graph.nodes[i];
    if (n.weight < 0) continue;
    const accelab_tensor& t = m.tensors[n.weight];
    Weight& w = weights_[static_cast<size_t>(n.weight)];
    w.data = t.data;
    w.rows = t.shape[0];
    w.cols = t.ndim > 1 ? t.shape[1] : 1;
    QuantFormat format;
    std::string why;
    if (t.quant.scheme != ACCELAB_QUANT_SCHEME_NONE && quant_format(t, format, why)) {
      w.quantized = true;
      w.q = QuantMatrix::from(quant_source(t, format));
      continue;
    }
    if (!weight_type(t, w.type)) throw std::invalid_argument(std::string("unsupported weight ") + t.name);
    // Norm weights are tiny: keep f32 copies so the norm kernel needs one type only.
    if (n.op == ACCELAB_OP_RMSNORM && w.type != WeightType::f32) {
      auto& copy = norm_f32_[static_cast<size_t>(n.weight)];
      copy.resize(static_cast<size_t>(w.rows));
      for (int64_t j = 0; j < w.rows; ++j) copy[static_cast<size_t>(j)] = element_to_f32(w.type, w.data, j);
      w.type = WeightType::f32;
      w.data = copy.data();
    }
  }
  values_.assign(static_cast<size_t>(graph.n_values), {});
  widths_.assign(static_cast<size_t>(graph.n_values), 0);
  for (int32_t v = 0; v < graph.n_values; ++v) {
    widths_[static_cast<size_t>(v)] = graph.values[v].width;
    values_[static_cast<size_t>(v)].assign(static_cast<size_t>(limits.max_rows) * static_cast<size_t>(graph.values[v].width), 0.0f);
  }
  // RoPE angles once, in double: pos * theta^(-2i/head_size).
  const int64_t half = cfg_.rope_dim / 2;
  rope_table_.assign(static_cast<size_t>(limits.max_positions) * static_cast<size_t>(cfg_.rope_dim), 0.0f);
  for (int64_t p = 0; p < limits.max_positions; ++p)
    for (int64_t i = 0; i < half; ++i) {
      double freq = std::pow(static_cast<double>(cfg_.rope_theta), -2.0 * static_cast<double>(i) / cfg_.head_size);
      double angle = static_cast<double>(p) * freq;
      rope_table_[static_cast<size_t>(p * cfg_.rope_dim + 2 * i)] = static_cast<float>(std::cos(angle));
      rope_table_[static_cast<size_t>(p * cfg_.rope_dim + 2 * i + 1)] = static_cast<float>(std::sin(angle));
    }
  kv_positions_ = (limits.max_positions + kKeyTile - 1) / kKeyTile * kKeyTile;
  const size_t cache = static_cast<size_t>(cfg_.n_layers) * static_cast<size_t>(limits.max_sequences) *
                       static_cast<size_t>(cfg_.n_kv_heads) * static_cast<size_t>(kv_positions_) *
                       static_cast<size_t>(cfg_.head_size);
  key_cache_.assign(cache, 0.0f);
  value_cache_.assign(cache, 0.0f);
  // Per worker: a score matrix [rows of one sequence, positions] (a decode row's: [query heads
  // per KV head, positions]) and, last, transposed values [head_size, positions] for the
  // matrix-matrix path of attention.
  const int64_t score_rows = std::max<int64_t>(limits.max_rows, cfg_.n_heads / cfg_.n_kv_heads);
  scratch_per_worker_ = static_cast<size_t>(score_rows + cfg_.head_size) * static_cast<size_t>(limits.max_positions);
  scratch_.assign(scratch_per_worker_ * static_cast<size_t>(ex_->threads()), 0.0f);
  gathered_.assign(static_cast<size_t>(limits.max_rows) * static_cast<size_t>(cfg_.dim), 0.0f);
  int64_t widest = 0;
  for (int32_t v = 0; v < graph.n_values; ++v) widest = std::max<int64_t>(widest, graph.values[v].width);
  for (QuantActivations& a : qacts_) a = QuantActivations{};
  row_slices_.assign(static_cast<size_t>(ex_->threads()), RowSlice{});
  const int64_t units = (limits.max_rows + kSliceRows - 1) / kSliceRows;
  const int64_t slice_rows = (units + ex_->threads() - 1) / ex_->threads() * kSliceRows;
  for (const Weight& w : weights_) {
    if (!w.quantized) continue;
    const auto f = static_cast<size_t>(w.q.format());
    qacts_[f].reserve(limits.max_rows, widest);
    if (splits_rows(w, limits.max_rows))
      for (RowSlice& slice : row_slices_) slice.acts[f].reserve(slice_rows, widest);
  }
  runs_.reserve(static_cast<size_t>(limits.max_rows));

  node_kind_.assign(static_cast<size_t>(graph.n_nodes), 0);
  profile_entries_.clear();
  for (int32_t i = 0; i < graph.n_nodes; ++i) {
    const accelab_node& n = graph.nodes[i];
    std::string kind = accelab::op_name(n.op);
    if (n.op == ACCELAB_OP_MATMUL) {
      // "blk.3.ffn_up.weight" -> "matmul ffn_up"
      std::string t = m.tensors[n.weight].name ? m.tensors[n.weight].name : "";
      size_t a = t.find('.', t.find('.') + 1), b = t.rfind('.');
      kind += ' ';
      kind += a != std::string::npos && b > a ? t.substr(a + 1, b - a - 1) : t;
    }
    size_t k = 0;
    while (k < profile_entries_.size() && profile_entries_[k].kind != kind) ++k;
    if (k == profile_entries_.size()) profile_entries_.push_back({kind, 0, 0, 0});
    node_kind_[static_cast<size_t>(i)] = k;
  }
}

void GraphBackend::execute(const accelab_batch& b) {
  if (graph_ == nullptr) throw std::logic_error(name_ + ": execute before prepare");
  if (b.n_rows < 1 || b.n_rows > limits_.max_rows)
    throw std::invalid_argument("batch has " + std::to_string(b.n_rows) + " rows; prepared for 1.." +
                                std::to_string(limits_.max_rows));
  for (int32_t r = 0; r < b.n_rows; ++r)
    if (b.seq_ids[r] < 0 || b.seq_ids[r] >= limits_.max_sequences || b.positions[r] < 0 ||
        b.positions[r] >= limits_.max_positions || b.tokens[r] < 0 || b.tokens[r] >= cfg_.vocab_size)
      throw std::invalid_argument("batch row " + std::to_string(r) + " has a token, position or sequence out of range");
  if (profile_) {
    ++executes_;
    rows_ += static_cast<uint64_t>(b.n_rows);
  }
  qfrom_ = {};  // a new batch: new inputs in the same buffers
  for (RowSlice& slice : row_slices_) slice.from = {};
  for (int32_t i = 0; i < graph_->n_nodes;) {
    const int32_t count = fusable_matmuls(i, b);
    auto t0 = profile_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    if (count > 1) matmul_group(&graph_->nodes[i], count);
    else run_node(graph_->nodes[i], b);
    for (int32_t k = 0; k < count; ++k) forget_quantized_inputs(graph_->nodes[i + k]);
    if (profile_) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      // A fused group's time is shared out by the bytes each product reads.
      uint64_t total = 0;
      for (int32_t k = 0; k < count; ++k) total += weight_bytes_of(graph_->nodes[i + k]);
      for (int32_t k = 0; k < count; ++k)
        record(graph_->nodes[i + k], count == 1 || total == 0 ? seconds
                                     : seconds * static_cast<double>(weight_bytes_of(graph_->nodes[i + k])) / static_cast<double>(total));
    }
    i += count;
  }
}

int32_t GraphBackend::fusable_matmuls(int32_t i, const accelab_batch& b) const {
  // Decode reads each weight once per step: products of the same input (Q, K, V; gate, up) share
  // one parallel region, so the threads synchronise once for them instead of once each.
  const accelab_node& n = graph_->nodes[i];
  if (n.op != ACCELAB_OP_MATMUL || b.n_rows != 1 || ex_->threads() == 1) return 1;
  int32_t j = i + 1;
  while (j < graph_->n_nodes && graph_->nodes[j].op == ACCELAB_OP_MATMUL &&
         graph_->nodes[j].in[0] == n.in[0] && graph_->nodes[j].out != n.in[0] && j - i < kMaxFused)
    ++j;
  int64_t work = 0;
  for (int32_t k = i; k < j; ++k) {
    const Weight& w = weights_[static_cast<size_t>(graph_->nodes[k].weight)];
    work += w.rows * w.cols;
  }
  return work >= kMinParallelWork ? j - i : 1;  // small products stay on the calling thread
}

uint64_t GraphBackend::stream_bytes(const Weight& w) {
  if (w.quantized) return w.q.stream_bytes();
  return static_cast<uint64_t>(w.rows * w.cols) * (w.type == WeightType::f32 ? 4 : 2);
}

uint64_t GraphBackend::weight_bytes_of(const accelab_node& n) const {
  if (n.weight < 0 || n.op == ACCELAB_OP_EMBEDDING) return 0;
  return stream_bytes(weights_[static_cast<size_t>(n.weight)]);
}

const QuantActivations& GraphBackend::quantized_input(const Weight& w, const float* x, int64_t ldx, int64_t rows) {
  const auto f = static_cast<size_t>(w.q.format());
  QuantizedFrom& from = qfrom_[f];
  const QuantizedFrom input{x, ldx, rows, w.cols};
  if (from != input) {
    kq_->quantize(w.q, x, ldx, rows, qacts_[f]);
    from = input;
  }
  return qacts_[f];
}

void GraphBackend::forget_quantized_inputs(const accelab_node& n) {
  // Products write only their output; anything else may rewrite any value.
  const float* written = n.op == ACCELAB_OP_MATMUL ? value_row(n.out, 0) : nullptr;
  auto forget = [&](std::array<QuantizedFrom, 3>& held) {
    for (QuantizedFrom& from : held)
      if (written == nullptr || from.x == written) from = {};
  };
  forget(qfrom_);
  for (RowSlice& slice : row_slices_) forget(slice.from);
}

bool GraphBackend::splits_rows(const Weight& w, int64_t rows) const {
  return w.quantized && ex_->threads() > 1 && rows >= kSliceRows * ex_->threads() &&
         w.q.stream_bytes() <= kRowSliceMaxBytes;
}

void GraphBackend::matmul_row_slices(const Weight& w, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t rows) {
  const auto f = static_cast<size_t>(w.q.format());
  const int64_t slices = ex_->threads(), units = (rows + kSliceRows - 1) / kSliceRows;
  const QuantizedFrom input{x, ldx, rows, w.cols};
  auto body = [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) {
      const auto [u0, u1] = chunk_bounds(units, slices, s);
      const int64_t r0 = std::min(rows, u0 * kSliceRows), r1 = std::min(rows, u1 * kSliceRows);
      if (r1 <= r0) continue;
      RowSlice& slice = row_slices_[static_cast<size_t>(s)];
      // Held per slice: a slice's rows are the same for every product of one input.
      QuantizedFrom& from = slice.from[f];
      if (from != input) {
        kq_->quantize(w.q, x + r0 * ldx, ldx, r1 - r0, slice.acts[f]);
        from = input;
      }
      kq_->gemm(w.q, slice.acts[f], y + r0 * ldy, ldy, 0, w.rows);
    }
  };
  ex_->parallel_chunks(slices, slices, body);
}

void GraphBackend::matmul_group(const accelab_node* nodes, int32_t count) {
  const float* x = value_row(nodes[0].in[0], 0);
  if (observer_)
    for (int32_t k = 0; k < count; ++k) observer_(nodes[k], x, 1, widths_[static_cast<size_t>(nodes[k].in[0])]);
  const Weight* w[kMaxFused] = {};
  float* y[kMaxFused] = {};
  for (int32_t k = 0; k < count; ++k) {
    w[k] = &weights_[static_cast<size_t>(nodes[k].weight)];
    y[k] = value_row(nodes[k].out, 0);
  }
  decode_products(w, y, count, x);
}

void GraphBackend::decode_products(const Weight* const* w, float* const* y, int32_t count, const float* x) {
  if (profile_) split_profile_.begin(SplitProfile::Clock::now());
  // The products' panels of 8 rows as one range: each thread streams its share of the group's
  // weights, crossing from one matrix into the next where its share does. Ranges hold whole
  // panels of each matrix, so no range starts or ends inside a panel's stream and every row is
  // summed by the same code however the range is split (a matrix's last panel may be short).
  constexpr int64_t kPanel = QuantMatrix::kPanelRows;
  int64_t first_panel[kMaxFused + 1] = {0};
  for (int32_t k = 0; k < count; ++k) first_panel[k + 1] = first_panel[k] + (w[k]->rows + kPanel - 1) / kPanel;
  // Products of one input share its quantized form (one per weight format).
  const QuantActivations* qx[kMaxFused] = {};
  for (int32_t k = 0; k < count; ++k)
    if (w[k]->quantized) qx[k] = &quantized_input(*w[k], x, w[k]->cols, 1);
  // Calls f(k, o0, o1) for the rows [o0, o1) of product k that panels [p0, p1) cover.
  auto for_products = [&](int64_t p0, int64_t p1, auto&& f) {
    for (int32_t k = 0; k < count; ++k) {
      const int64_t lo = std::max(p0, first_panel[k]), hi = std::min(p1, first_panel[k + 1]);
      if (lo < hi) f(k, (lo - first_panel[k]) * kPanel, std::min(w[k]->rows, (hi - first_panel[k]) * kPanel));
    }
  };
  auto body = [&](int64_t p0, int64_t p1) {
    for_products(p0, p1, [&](int32_t k, int64_t o0, int64_t o1) {
      if (w[k]->quantized) kq_->gemm(w[k]->q, *qx[k], y[k], 0, o0, o1);
      else k_->gemv(w[k]->type, w[k]->data, x, y[k], w[k]->cols, o0, o1);
    });
  };
  // Grains claimed as balanced_split.hpp says: equal static shares (or 4 per thread for oneTBB
  // to balance) left one thread waiting for the other.
  const int64_t panel_bytes = kPanel * static_cast<int64_t>(stream_bytes(*w[0])) / w[0]->rows;
  const int64_t grain = decode_grain(panel_bytes, w[0]->quantized ? kDecodeGrainBytes : kFloatDecodeGrainBytes);
  if (!profile_) {
    split_.run(*ex_, first_panel[count], grain, body);
    return;
  }
  auto timed = [&](int64_t p0, int64_t p1) {
    const auto start = SplitProfile::Clock::now();
    body(p0, p1);
    double bytes = 0;
    for_products(p0, p1, [&](int32_t k, int64_t o0, int64_t o1) {
      bytes += static_cast<double>(stream_bytes(*w[k])) * static_cast<double>(o1 - o0) / static_cast<double>(w[k]->rows);
    });
    split_profile_.grain(ex_->worker_index(), start, SplitProfile::Clock::now(), bytes);
  };
  split_profile_.forked(SplitProfile::Clock::now());
  split_.run(*ex_, first_panel[count], grain, timed);
  split_profile_.end(SplitProfile::Clock::now());
}

template <class F>
void GraphBackend::for_rows(int64_t rows, int64_t work_per_row, F&& f) {
  auto body = [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) f(r);
  };
  if (ex_->threads() == 1 || rows < 2 || rows * work_per_row < kMinParallelWork) {
    body(0, rows);
    return;
  }
  ex_->parallel_chunks(rows, std::min<int64_t>(rows, ex_->threads()), body);
}

void GraphBackend::run_node(const accelab_node& n, const accelab_batch& b) {
  const int64_t rows = b.n_rows;
  switch (n.op) {
    case ACCELAB_OP_EMBEDDING: embedding(n, b); break;
    case ACCELAB_OP_RMSNORM: rmsnorm(n, b); break;
    case ACCELAB_OP_MATMUL: {
      const int64_t in_w = widths_[static_cast<size_t>(n.in[0])];
      const int64_t out_w = widths_[static_cast<size_t>(n.out)];
      if (observer_) observer_(n, value_row(n.in[0], 0), rows, in_w);
      matmul(weights_[static_cast<size_t>(n.weight)], value_row(n.in[0], 0), in_w, value_row(n.out, 0), out_w, rows);
      break;
    }
    case ACCELAB_OP_ROPE: rope(n, b); break;
    case ACCELAB_OP_ATTENTION: attention(n, b); break;
    case ACCELAB_OP_SWIGLU: {
      const int64_t w = widths_[static_cast<size_t>(n.out)];
      for_rows(rows, w * 8, [&](int64_t r) { k_->swiglu(value_row(n.out, r), value_row(n.in[0], r), value_row(n.in[1], r), w); });
      break;
    }
    case ACCELAB_OP_ADD: {
      const int64_t w = widths_[static_cast<size_t>(n.out)];
      for_rows(rows, w, [&](int64_t r) { k_->add(value_row(n.out, r), value_row(n.in[0], r), value_row(n.in[1], r), w); });
      break;
    }
    case ACCELAB_OP_LOGITS: logits(n, b); break;
    default: throw std::invalid_argument(name_ + ": unknown op " + accelab::op_name(n.op));
  }
}

void GraphBackend::embedding(const accelab_node& n, const accelab_batch& b) {
  const Weight& w = weights_[static_cast<size_t>(n.weight)];
  for (int64_t r = 0; r < b.n_rows; ++r) {
    float* out = value_row(n.out, r);
    const int64_t base = static_cast<int64_t>(b.tokens[r]) * w.cols;
    if (w.quantized) {
      dequantize_row(w.q.source(), b.tokens[r], out);
    } else if (w.type == WeightType::f32) {
      std::memcpy(out, static_cast<const float*>(w.data) + base, sizeof(float) * static_cast<size_t>(w.cols));
    } else {
      for (int64_t i = 0; i < w.cols; ++i) out[i] = element_to_f32(w.type, w.data, base + i);
    }
  }
}

void GraphBackend::rmsnorm(const accelab_node& n, const accelab_batch& b) {
  const Weight& w = weights_[static_cast<size_t>(n.weight)];
  const int64_t width = widths_[static_cast<size_t>(n.in[0])];
  for_rows(b.n_rows, width * 2, [&](int64_t r) {
    k_->rmsnorm(value_row(n.out, r), value_row(n.in[0], r), static_cast<const float*>(w.data), width, n.eps);
  });
}

void GraphBackend::matmul(const Weight& w, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t rows) {
  const int64_t out = w.rows, in = w.cols;
  const int64_t threads = ex_->threads();
  const bool parallel = threads > 1 && out * in * rows >= kMinParallelWork;
  if (rows == 1 && parallel) {
    const Weight* ws[1] = {&w};
    float* ys[1] = {y};
    decode_products(ws, ys, 1, x);
    return;
  }
  if (parallel && splits_rows(w, rows)) {
    matmul_row_slices(w, x, ldx, y, ldy, rows);
    return;
  }
  if (w.quantized) {
    const QuantActivations& a = quantized_input(w, x, ldx, rows);
    // Blocks of 64 outputs (whole register tiles for every variant's blocked kernel) where that
    // gives each thread 4 or more; fewer outputs go in panels of 8, which the threads share
    // evenly: in blocks of 64, a 64-output product of a few rows runs on one thread and a
    // 172-output one splits 128 / 44.
    const int64_t block = out >= 64 * 4 * threads ? 64 : QuantMatrix::kPanelRows;
    auto body = [&](int64_t c0, int64_t c1) {
      const int64_t o0 = std::min(out, c0 * block), o1 = std::min(out, c1 * block);
      if (o1 > o0) kq_->gemm(w.q, a, y, ldy, o0, o1);
    };
    const int64_t blocks = (out + block - 1) / block;
    if (parallel) ex_->parallel_chunks(blocks, std::min(blocks, threads), body);
    else body(0, blocks);
    return;
  }
  if (rows == 1) {
    k_->gemv(w.type, w.data, x, y, in, 0, out);
    return;
  }
  // Column blocks rounded to 16 outputs so each thread's block starts on a full vector.
  auto body = [&](int64_t c0, int64_t c1) {
    int64_t o0 = std::min(out, c0 * 16), o1 = std::min(out, c1 * 16);
    if (o1 > o0) k_->gemm(w.type, w.data, x, ldx, y, ldy, rows, in, o0, o1);
  };
  const int64_t blocks = (out + 15) / 16;
  if (parallel) ex_->parallel_chunks(blocks, std::min(blocks, threads), body);
  else body(0, blocks);
}

void GraphBackend::rope(const accelab_node& n, const accelab_batch& b) {
  const int64_t width = widths_[static_cast<size_t>(n.out)];
  for_rows(b.n_rows, width * 4, [&](int64_t r) {
    float* out = value_row(n.out, r);
    if (n.out != n.in[0]) std::memcpy(out, value_row(n.in[0], r), sizeof(float) * static_cast<size_t>(width));
    k_->rope(out, width, cfg_.head_size, cfg_.rope_dim,
             rope_table_.data() + static_cast<int64_t>(b.positions[r]) * cfg_.rope_dim);
  });
}

size_t GraphBackend::kv_block(int32_t layer, int32_t seq, int32_t kv_head) const {
  const size_t block = (static_cast<size_t>(layer) * static_cast<size_t>(limits_.max_sequences) + static_cast<size_t>(seq)) *
                           static_cast<size_t>(cfg_.n_kv_heads) + static_cast<size_t>(kv_head);
  return block * static_cast<size_t>(kv_positions_) * static_cast<size_t>(cfg_.head_size);
}

void GraphBackend::attention(const accelab_node& n, const accelab_batch& b) {
  const int32_t hs = cfg_.head_size;
  // Keys and values of every row first: later rows of a prompt attend to earlier ones. The cache
  // keeps each KV head's positions contiguous, so attention reads it sequentially.
  for (int64_t r = 0; r < b.n_rows; ++r)
    for (int32_t h = 0; h < cfg_.n_kv_heads; ++h) {
      const size_t block = kv_block(n.layer, b.seq_ids[r], h);
      const int64_t pos = b.positions[r];
      const float* key = value_row(n.in[1], r) + h * hs;
      float* keys = key_cache_.data() + block;
      for (int32_t d = 0; d < hs; ++d) keys[key_tile_offset(pos, d, hs)] = key[d];
      std::memcpy(value_cache_.data() + block + pos * hs, value_row(n.in[2], r) + h * hs, sizeof(float) * static_cast<size_t>(hs));
    }
  // Work items: (run of consecutive rows of one sequence) x (KV head).
  runs_.clear();  // capacity reserved in prepare: no allocation here
  for (int64_t r = 0; r < b.n_rows;) {
    int64_t e = r + 1;
    while (e < b.n_rows && b.seq_ids[e] == b.seq_ids[r]) ++e;
    runs_.push_back({r, e - r});
    r = e;
  }
  const int64_t items = static_cast<int64_t>(runs_.size()) * cfg_.n_kv_heads;
  auto body = [&](int64_t i0, int64_t i1) {
    float* scratch = scratch_.data() + scratch_per_worker_ * static_cast<size_t>(ex_->worker_index());
    for (int64_t i = i0; i < i1; ++i) {
      const auto& run = runs_[static_cast<size_t>(i / cfg_.n_kv_heads)];
      attend_group(n.layer, n, b, run.first, run.second, static_cast<int32_t>(i % cfg_.n_kv_heads), scratch);
    }
  };
  int64_t max_pos = 0;
  for (int64_t r = 0; r < b.n_rows; ++r) max_pos = std::max<int64_t>(max_pos, b.positions[r]);
  const int64_t work = static_cast<int64_t>(b.n_rows) * (max_pos + 1) * cfg_.dim * 2;
  if (ex_->threads() > 1 && items > 1 && work >= kMinParallelWork)
    ex_->parallel_chunks(items, std::min<int64_t>(items, ex_->threads() * 4), body);
  else
    body(0, items);
}

void GraphBackend::attend_group(int32_t layer, const accelab_node& n, const accelab_batch& b,
                                int64_t row0, int64_t rows, int32_t kv_head, float* scratch) {
  const int32_t hs = cfg_.head_size;
  const int32_t kv_mul = cfg_.n_heads / cfg_.n_kv_heads;
  const int32_t seq = b.seq_ids[row0];
  int64_t ctx = 0;
  for (int64_t r = row0; r < row0 + rows; ++r) ctx = std::max<int64_t>(ctx, b.positions[r] + 1);
  const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
  const size_t block = kv_block(layer, seq, kv_head);
  const float* keys = key_cache_.data() + block;
  const float* vals = value_cache_.data() + block;
  float* scores = scratch;                                      // [rows, ctx]
  float* vt = scratch + (scratch_per_worker_ - static_cast<size_t>(hs) * static_cast<size_t>(limits_.max_positions));  // [hs, ctx]
  const bool matrix_path = rows > 4;
  if (matrix_path)
    for (int64_t t = 0; t < ctx; ++t)
      for (int32_t i = 0; i < hs; ++i) vt[i * ctx + t] = vals[t * hs + i];
  const int64_t ld_q = widths_[static_cast<size_t>(n.in[0])];
  const int64_t ld_out = widths_[static_cast<size_t>(n.out)];
  if (rows == 1) {
    // One decode row: the kv_mul query heads that share this KV head are adjacent rows of head_size
    // in q and out, so they are the rows of two small matrix products that read each cached key
    // and value once, instead of kv_mul dot products and axpys per position. The values, which
    // the last weight stream pushed out of the caches, are prefetched while the scores are made.
    const float* q = value_row(n.in[0], row0) + static_cast<int64_t>(kv_head) * kv_mul * hs;
    float* out = value_row(n.out, row0) + static_cast<int64_t>(kv_head) * kv_mul * hs;
    k_->key_scores(q, hs, kv_mul, keys, hs, ctx, scores, ctx, vals, ctx * hs * static_cast<int64_t>(sizeof(float)));
    for (int32_t g = 0; g < kv_mul; ++g) {
      float* s = scores + g * ctx;
      for (int64_t t = 0; t < ctx; ++t) s[t] *= scale;
      k_->softmax(s, ctx);
    }
    k_->gemm_nn(scores, ctx, vals, hs, out, hs, kv_mul, ctx, hs);
    return;
  }
  for (int32_t g = 0; g < kv_mul; ++g) {
    const int32_t h = kv_head * kv_mul + g;
    const float* q = value_row(n.in[0], row0) + h * hs;
    float* out = value_row(n.out, row0) + h * hs;
    // scores = Q_h K^T.
    k_->key_scores(q, ld_q, rows, keys, hs, ctx, scores, ctx, nullptr, 0);
    for (int64_t r = 0; r < rows; ++r) {
      float* s = scores + r * ctx;
      const int64_t len = b.positions[row0 + r] + 1;
      for (int64_t t = 0; t < len; ++t) s[t] *= scale;
      k_->softmax(s, len);
      std::fill(s + len, s + ctx, 0.0f);  // causal: later positions get no weight
    }
    if (matrix_path) {
      k_->gemm(WeightType::f32, vt, scores, ctx, out, ld_out, rows, ctx, 0, hs);
    } else {
      for (int64_t r = 0; r < rows; ++r) {
        float* o = out + r * ld_out;
        std::fill(o, o + hs, 0.0f);
        const float* s = scores + r * ctx;
        const int64_t len = b.positions[row0 + r] + 1;
        for (int64_t t = 0; t < len; ++t) {
          // Inline for short heads (one call per position would cost more than the work).
          const float a = s[t];
          const float* v = vals + t * hs;
          if (hs >= 32) {
            k_->axpy(a, v, o, hs);
          } else {
            for (int32_t i = 0; i < hs; ++i) o[i] += a * v[i];
          }
        }
      }
    }
  }
}

void GraphBackend::logits(const accelab_node& n, const accelab_batch& b) {
  const Weight& w = weights_[static_cast<size_t>(n.weight)];
  const int64_t dim = widths_[static_cast<size_t>(n.in[0])];
  int64_t j = 0;
  for (int64_t r = 0; r < b.n_rows; ++r) {
    if (b.want_logits != nullptr && !b.want_logits[r]) continue;
    if (j >= b.n_logits) throw std::invalid_argument("more rows want logits than n_logits");
    std::memcpy(gathered_.data() + j * dim, value_row(n.in[0], r), sizeof(float) * static_cast<size_t>(dim));
    ++j;
  }
  if (j == 0) return;
  if (observer_) observer_(n, gathered_.data(), j, dim);
  matmul(w, gathered_.data(), dim, b.logits, cfg_.vocab_size, j);
}

}  // namespace accelab::cpu
