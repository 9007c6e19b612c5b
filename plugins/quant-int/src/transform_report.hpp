// What a quant-int transform did, as it goes into the results record (host.record).
#pragma once

#include <accelab/plugin.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace accelab::quant {

struct TensorReport {
  std::string name;
  int64_t rows = 0, cols = 0;
  uint64_t stored_bytes = 0;  ///< codes + scales + mins
  double rmse = 0.0, max_abs = 0.0;
  std::optional<double> weighted_error_vs_rtn;  ///< calibrated only
};

struct SkippedTensor {
  std::string name, reason;
};

struct TransformReport {
  std::vector<TensorReport> tensors;
  std::vector<SkippedTensor> skipped;
  std::optional<accelab_calibration> calibration;  ///< calibrated only: the first call's stats
};

/// Records keys tensors, tensors_touched, bits_per_weight, skipped and (calibrated) calibration
/// and weighted_error_vs_rtn (the mean of the per-tensor ratios).
void record_report(const accelab::Host& host, const TransformReport& report);

/// Bits per weight over all tensors of the report (0 when there are none).
double bits_per_weight(const TransformReport& report);

}  // namespace accelab::quant
