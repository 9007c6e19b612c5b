// A planned pipeline made live on a model: transforms applied, backend created, every graph
// node checked with `supports`, backend prepared. The host's handle for running forward passes.
#pragma once

#include <accelab/plugin.h>

#include <memory>
#include <span>
#include <vector>

#include "calibration/calibration.hpp"
#include "model/graph.hpp"
#include "model/model.hpp"
#include "pipeline/planner.hpp"
#include "plugin/instance.hpp"

namespace accelab {

class Engine {
 public:
  /// Takes the model (transforms rewrite it). Throws PluginError / ConfigError on failure,
  /// naming the strategy and, for `supports`, the node it declined.
  /// Transforms that ask for calibration data (accelab_host.calibration) get it from
  /// `calibration` (random tokens when it names no text).
  Engine(const Plan& plan, std::unique_ptr<Model> model, const accelab_limits& limits,
         const CalibrationText& calibration = {});
  ~Engine();

  /// Everything that can be checked without weights: transforms' `plan` on the tensor
  /// metadata of `skeleton`, then the backend's `supports` on every node of the resulting graph.
  /// Throws PluginError naming the strategy and node on the first refusal.
  static void check_plan(const Plan& plan, std::unique_ptr<Model> skeleton);
  /// Applies the plan's transforms (not its backend) to `model` in place; returns what they
  /// recorded, as strategy_records() does. For `accelab convert`.
  static nlohmann::json apply_transforms(const Plan& plan, Model& model, const CalibrationText& calibration = {});
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Runs one batch; throws PluginError on failure.
  void execute(const accelab_batch& batch);
  /// Runs `rows` rows given as parallel arrays (see accelab_batch; want_logits may be NULL).
  void execute(int32_t rows, const int32_t* tokens, const int32_t* positions, const int32_t* seq_ids,
               const uint8_t* want_logits, int32_t n_logits, float* logits);
  /// Feeds `tokens` of sequence `seq` at positions start.. in chunks of at most max_rows rows.
  /// When `all_logits`, `logits` receives [tokens.size(), vocab]; otherwise [1, vocab] for the
  /// last token only.
  void run_sequence(std::span<const int32_t> tokens, int32_t start, int32_t seq, bool all_logits,
                    float* logits);
  /// Prefills prompts[b] as sequence b from position 0, packing the rows of all sequences into
  /// batches of up to max_rows (so a batch of prompts is one matrix product per weight);
  /// `last_logits` receives [prompts.size(), vocab]: each sequence's last-token logits.
  void prefill(const std::vector<std::vector<int32_t>>& prompts, float* last_logits);

  [[nodiscard]] const Model& model() const { return *model_; }
  [[nodiscard]] const accelab_model_config& config() const { return model_->config(); }
  [[nodiscard]] const accelab_limits& limits() const { return limits_; }
  [[nodiscard]] const ModelGraph& graph() const { return *graph_; }
  [[nodiscard]] const std::string& pipeline_text() const { return text_; }
  /// What each strategy recorded through accelab_host.record, in pipeline order, as
  /// [{"strategy", "kind", "record"}] (strategies that recorded nothing are left out).
  [[nodiscard]] nlohmann::json strategy_records() const;

 private:
  struct InnerFactory;
  static std::unique_ptr<StrategyInstance> create_backend(const Plan& plan,
                                                          std::unique_ptr<InnerFactory>& inner);
  static void check_supports(const StrategyInstance& backend, const ModelGraph& graph);
  std::unique_ptr<Model> model_;
  std::unique_ptr<ModelGraph> graph_;
  std::unique_ptr<InnerFactory> inner_;
  std::unique_ptr<StrategyInstance> backend_;
  accelab_limits limits_;
  std::string text_;
  nlohmann::json transform_records_ = nlohmann::json::array();
  std::vector<int32_t> positions_, seq_ids_, tokens_, logit_seq_;
  std::vector<uint8_t> want_;
  std::vector<float> prefill_logits_;
};

}  // namespace accelab
