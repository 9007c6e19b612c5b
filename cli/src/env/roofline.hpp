// Rooflines of a result row: how close a measured decode (tg) comes to what the probed memory
// bandwidth allows, and how close a measured prefill (pp) comes to the probed GEMM rate.
//
// The model is reduced to two numbers. A decode step reads every matrix weight once, whatever
// the batch, so at best it takes bytes_per_decode_step / bandwidth seconds and yields `batch`
// tokens; each token needs matmul_flops_per_token floating-point operations, so it also takes at
// least batch × matmul_flops_per_token / gemm_rate seconds. Attention over the KV cache, norms,
// the embedding row and everything else are left out: the roofline is an upper bound.
#pragma once

#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

#include "model/graph.hpp"
#include "model/model.hpp"

namespace accelab {

/// What one decode step costs, from the weights alone.
struct DecodeCost {
  /// Storage bytes (codes, scales, sparsity side data) of every distinct weight of a MATMUL or
  /// LOGITS node. The embedding lookup reads one row and is not counted, unless the classifier
  /// is tied to the embedding: then the LOGITS weight is the embedding and counts once.
  uint64_t bytes_per_decode_step = 0;
  /// 2 × the elements of those same weights: one multiply and one add per weight per token.
  uint64_t matmul_flops_per_token = 0;
};

/// The decode cost of `graph`'s nodes over `model`'s tensors (as transformed, so a quantized
/// pipeline reads fewer bytes).
DecodeCost decode_cost(const Model& model, const ModelGraph& graph);

/// The decode cost of the llama graph of `model` (builds the ModelGraph; throws FileError as
/// its constructor does).
DecodeCost decode_cost(const Model& model);

/// A row's measured rates against the machine's probed ceilings.
struct Roofline {
  double bandwidth_bytes_per_s = 0;  ///< Probed read bandwidth (best pass).
  double gemm_flops_per_s = 0;       ///< Probed float32 GEMM rate (best pass).
  uint64_t bytes_per_decode_step = 0;
  uint64_t matmul_flops_per_token = 0;
  /// min(batch × bandwidth / bytes_per_decode_step, gemm / matmul_flops_per_token); nullopt
  /// without decode or when an input is zero.
  std::optional<double> tg_roofline_tokens_per_s;
  /// Measured tg median / tg_roofline_tokens_per_s.
  std::optional<double> tg_fraction;
  /// Measured pp median × matmul_flops_per_token / gemm_flops_per_s; nullopt when an input is
  /// zero.
  std::optional<double> pp_fraction;
};

/// The roofline of a row measured at `batch` sequences with the given pp and tg medians
/// (tokens/s, all sequences together); `tg_median` is nullopt when nothing was generated.
Roofline roofline(const DecodeCost& cost, double bandwidth_bytes_per_s, double gemm_flops_per_s,
                  int64_t batch, double pp_median, std::optional<double> tg_median);

/// {"bandwidth_bytes_per_s", "gemm_flops_per_s", "bytes_per_decode_step",
///  "matmul_flops_per_token", "tg_roofline_tokens_per_s", "tg_fraction", "pp_fraction"}, with
/// null for the values that are nullopt.
nlohmann::json to_json(const Roofline& r);

}  // namespace accelab
