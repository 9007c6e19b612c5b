// Calibration for transforms (accelab_host.calibration, ABI 1.1): the model runs in float32 on
// stories of the evaluation text that the quality evaluation does not use, and the input of
// every matrix product is summarised per channel (mean x^2, mean |x|).
#pragma once

#include <accelab/plugin.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace accelab {

class Model;

/// Where calibration text comes from. An empty text_path (or tokenizer_path) means random
/// tokens, for synthetic models without a tokenizer.
struct CalibrationText {
  std::string text_path;       ///< stories separated by <|endoftext|>
  std::string tokenizer_path;  ///< llama2.c tokenizer of the model
  int32_t skip_stories = 0;    ///< leading stories reserved for the quality evaluation
  /// Set by a signal handler (accelab run): calibration checks it between batches and stops.
  const std::atomic<bool>* interrupted = nullptr;
};

/// Per-channel statistics of the input of each matrix product, by weight tensor index.
struct CalibrationStats {
  struct Channels {
    std::vector<float> mean_square, mean_abs;
  };
  std::map<int32_t, Channels> by_weight;
  uint64_t tokens = 0;
  std::string source;
};

/// Runs `model` (every matrix-product weight must be dense f32, f16 or bf16) over `tokens`
/// calibration tokens chosen with `seed`. Throws Error on unreadable text, an unrunnable model,
/// or when text.interrupted is set before the last batch.
CalibrationStats collect_calibration(const Model& model, const CalibrationText& text,
                                     uint64_t tokens, uint64_t seed);

/// What a transform's apply may ask for: statistics computed once per (tokens, seed) on the
/// model as it is at the first request.
class Calibrator {
 public:
  explicit Calibrator(CalibrationText text) : text_(std::move(text)) {}
  const CalibrationStats& stats(const Model& model, uint64_t tokens, uint64_t seed);

 private:
  CalibrationText text_;
  std::map<std::pair<uint64_t, uint64_t>, std::unique_ptr<CalibrationStats>> cache_;
};

}  // namespace accelab
