#include "env/roofline.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace accelab {
namespace {

nlohmann::json optional_json(const std::optional<double>& x) {
  return x ? nlohmann::json(*x) : nlohmann::json(nullptr);
}

bool positive(double x) { return std::isfinite(x) && x > 0; }

}  // namespace

DecodeCost decode_cost(const Model& model, const ModelGraph& graph) {
  std::set<int32_t> weights;  // a weight two nodes share is still read once
  for (const accelab_node& node : graph.nodes())
    if ((node.op == ACCELAB_OP_MATMUL || node.op == ACCELAB_OP_LOGITS) && node.weight >= 0)
      weights.insert(node.weight);
  DecodeCost cost;
  for (int32_t w : weights) {
    const accelab_tensor& t = model.tensor(w);
    cost.bytes_per_decode_step += tensor_storage_bytes(t);
    cost.matmul_flops_per_token += 2 * static_cast<uint64_t>(element_count(t));
  }
  return cost;
}

DecodeCost decode_cost(const Model& model) {
  const ModelGraph graph(model);
  return decode_cost(model, graph);
}

Roofline roofline(const DecodeCost& cost, double bandwidth_bytes_per_s, double gemm_flops_per_s,
                  int64_t batch, double pp_median, std::optional<double> tg_median) {
  Roofline r;
  r.bandwidth_bytes_per_s = bandwidth_bytes_per_s;
  r.gemm_flops_per_s = gemm_flops_per_s;
  r.bytes_per_decode_step = cost.bytes_per_decode_step;
  r.matmul_flops_per_token = cost.matmul_flops_per_token;
  const auto bytes = static_cast<double>(cost.bytes_per_decode_step);
  const auto flops = static_cast<double>(cost.matmul_flops_per_token);
  const bool have_inputs = positive(bandwidth_bytes_per_s) && positive(gemm_flops_per_s) &&
                           positive(bytes) && positive(flops);
  if (have_inputs && tg_median && batch > 0) {
    const double memory_bound = static_cast<double>(batch) * bandwidth_bytes_per_s / bytes;
    const double compute_bound = gemm_flops_per_s / flops;
    r.tg_roofline_tokens_per_s = std::min(memory_bound, compute_bound);
    r.tg_fraction = *tg_median / *r.tg_roofline_tokens_per_s;
  }
  if (have_inputs) r.pp_fraction = pp_median * flops / gemm_flops_per_s;
  return r;
}

nlohmann::json to_json(const Roofline& r) {
  return {{"bandwidth_bytes_per_s", r.bandwidth_bytes_per_s},
          {"gemm_flops_per_s", r.gemm_flops_per_s},
          {"bytes_per_decode_step", r.bytes_per_decode_step},
          {"matmul_flops_per_token", r.matmul_flops_per_token},
          {"tg_roofline_tokens_per_s", optional_json(r.tg_roofline_tokens_per_s)},
          {"tg_fraction", optional_json(r.tg_fraction)},
          {"pp_fraction", optional_json(r.pp_fraction)}};
}

}  // namespace accelab
