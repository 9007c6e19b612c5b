// The transform behind every quant-int strategy: selects matrices, declares their quantized
// metadata at plan time, quantizes them at apply time (round to nearest, or the importance-
// weighted search with the host's calibration statistics) and records what it did.
#pragma once

#include <accelab/plugin.hpp>
#include <accelab_quant/tensor_filter.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "int_format.hpp"
#include "transform_report.hpp"

namespace accelab::quant {

struct IntOptions {
  std::string strategy;  ///< for messages
  IntFormat format = IntFormat::q8;
  std::string include = ".*", exclude;
  int64_t block = 32;
  bool two_level = false;  ///< scales (and mins) as 8-bit codes times a per-row factor (tensor.h)
  bool calibrated = false;
  uint64_t calibration_tokens = 4096, seed = 0;
};

/// The format a `scheme` parameter ("sym" | "asym") selects for 4-bit codes.
IntFormat int4_format(const std::string& scheme);
/// Whether a `scales` parameter ("f16" | "u8") asks for two-level scales.
bool two_level_scales(const std::string& scales);

class IntTransform : public accelab::Transform {
 public:
  /// Throws std::invalid_argument for a block that is not a positive multiple of 32 or an
  /// invalid include/exclude pattern.
  IntTransform(const accelab::Host& host, IntOptions options);

  void plan(const accelab_model_config& config, accelab_tensor& t) override;
  void apply(accelab_model& model) override;

 private:
  /// Why a matrix whose name matches `include` is left alone, or nothing when it is quantized.
  [[nodiscard]] std::optional<std::string> skip_reason(const accelab_tensor& t) const;
  TensorReport quantize_tensor(accelab_model& model, int32_t index, TransformReport& report);

  accelab::Host host_;
  IntOptions options_;
  TensorFilter filter_;
};

}  // namespace accelab::quant
