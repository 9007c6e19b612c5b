#include "transform_report.hpp"

#include <nlohmann/json.hpp>

namespace accelab::quant {

double bits_per_weight(const TransformReport& report) {
  double bits = 0.0, weights = 0.0;
  for (const TensorReport& t : report.tensors) {
    bits += 8.0 * static_cast<double>(t.stored_bytes);
    weights += static_cast<double>(t.rows) * static_cast<double>(t.cols);
  }
  return weights > 0.0 ? bits / weights : 0.0;
}

void record_report(const accelab::Host& host, const TransformReport& report) {
  nlohmann::json tensors = nlohmann::json::array();
  double ratio_sum = 0.0;
  for (const TensorReport& t : report.tensors) {
    nlohmann::json j = {{"name", t.name},
                        {"rows", t.rows},
                        {"cols", t.cols},
                        {"bits_per_weight", 8.0 * static_cast<double>(t.stored_bytes) /
                                                static_cast<double>(t.rows * t.cols)},
                        {"rmse", t.rmse},
                        {"max_abs", t.max_abs}};
    if (t.weighted_error_vs_rtn) {
      j["weighted_error_vs_rtn"] = *t.weighted_error_vs_rtn;
      ratio_sum += *t.weighted_error_vs_rtn;
    }
    tensors.push_back(std::move(j));
  }
  nlohmann::json skipped = nlohmann::json::array();
  for (const SkippedTensor& s : report.skipped) skipped.push_back({{"name", s.name}, {"reason", s.reason}});

  host.record("tensors", tensors.dump());
  host.record("tensors_touched", std::to_string(report.tensors.size()));
  host.record("bits_per_weight", nlohmann::json(bits_per_weight(report)).dump());
  host.record("skipped", skipped.dump());
  if (report.calibration) {
    const accelab_calibration& c = *report.calibration;
    host.record("calibration", nlohmann::json{{"tokens", c.tokens}, {"source", c.source ? c.source : ""}}.dump());
    const double mean = report.tensors.empty() ? 1.0 : ratio_sum / static_cast<double>(report.tensors.size());
    host.record("weighted_error_vs_rtn", nlohmann::json(mean).dump());
  }
}

}  // namespace accelab::quant
