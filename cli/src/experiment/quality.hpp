// Quality of each pipeline against the baseline pipeline on the same evaluation stories, in the
// manner of llama-perplexity --kl-divergence: perplexity, KL(baseline || pipeline) of the
// next-token distributions, and top-1 agreement, over every scored position.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/engine.hpp"
#include "tokenizer/tokenizer.hpp"

namespace accelab {

struct Quality {
  double perplexity = 0;
  double kld_mean = 0;        ///< nats
  double kld_p99 = 0;
  double kld_max = 0;
  double top1_agreement = 0;  ///< percent of positions whose argmax equals the baseline's
  int64_t tokens = 0;         ///< scored positions
  int32_t stories = 0;
};

nlohmann::json to_json(const Quality& q);

/// Feeds every story (BOS-encoded, truncated to seq_len) to each engine and compares with
/// engines[baseline]. Null engines (failed pipelines) get no result. `progress(done, total)` is
/// called after each story; `stop()` returning true ends early (results then cover fewer stories).
std::vector<std::optional<Quality>> measure_quality(
    const std::vector<Engine*>& engines, size_t baseline, const Tokenizer& tokenizer,
    const std::vector<std::string>& stories, const std::function<void(int32_t, int32_t)>& progress,
    const std::function<bool()>& stop);

}  // namespace accelab
