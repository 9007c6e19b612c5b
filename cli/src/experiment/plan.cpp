#include "experiment/plan.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>

#include "commands/common.hpp"
#include "model/gguf.hpp"
#include "model/llama2c.hpp"
#include "model/model_file.hpp"
#include "model/synth.hpp"
#include "runtime/engine.hpp"
#include "util/suggest.hpp"

namespace fs = std::filesystem;

namespace accelab {
namespace {

std::string value_text(const accelab_param_value& v) {
  switch (v.type) {
    case ACCELAB_PARAM_BOOL: return v.i ? "true" : "false";
    case ACCELAB_PARAM_INT: return std::to_string(v.i);
    case ACCELAB_PARAM_FLOAT: return fmt::format("{}", v.f);
    case ACCELAB_PARAM_STRING: return v.s ? v.s : "";
  }
  return "";
}

StageSpec resolved_stage(const PlannedStage& s) {
  StageSpec out;
  out.name = std::string(s.strategy->name());
  const accelab_strategy& t = *s.strategy->table;
  for (int32_t i = 0; i < t.n_params; ++i)
    out.params.push_back({t.params[i].name, value_text(s.params.values[static_cast<size_t>(i)])});
  for (const auto& c : s.children) out.children.push_back(resolved_stage(c));
  return out;
}

Plan plan_one(const PipelineSpec& p, const PluginRegistry& registry) {
  // Stage by stage first, so that a bad name or parameter is reported where it is written.
  for (size_t i = 0; i < p.stages.size(); ++i) {
    const StageSpec& s = p.stages[i];
    const SourcePos& at = i < p.stage_pos.size() ? p.stage_pos[i] : p.pos;
    const LoadedStrategy* strategy = registry.find(s.name);
    if (strategy == nullptr) {
      auto names = registry.strategy_names();
      throw ExperimentError(at, fmt::format("pipeline '{}': unknown strategy '{}'{}; available: {}", p.name,
                                            s.name, did_you_mean(s.name, names),
                                            names.empty() ? "(none; see 'accelab plugins -v')" : join(names)));
    }
    try {
      resolve_params(*strategy, s.params);
    } catch (const ConfigError& e) {
      throw ExperimentError(at, fmt::format("pipeline '{}': {}", p.name, e.what()));
    }
  }
  try {
    return plan_pipeline(registry, p.stages);
  } catch (const ConfigError& e) {
    throw ExperimentError(p.pos, fmt::format("pipeline '{}': {}", p.name, e.what()));
  }
}

}  // namespace

std::string synth_cache_dir() {
  if (const char* c = std::getenv("ACCELAB_CACHE"); c && *c) return c;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/accelab";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/accelab";
  return (fs::temp_directory_path() / "accelab-cache").string();
}

std::string resolved_pipeline_text(const Plan& plan) {
  std::vector<StageSpec> stages;
  for (const auto& t : plan.transforms) stages.push_back(resolved_stage(t));
  stages.push_back(resolved_stage(plan.backend));
  return to_pipeline_text(stages);
}

ExperimentPlan plan_experiment(Experiment e, const PluginRegistry& registry) {
  ExperimentPlan out;
  const ModelSpec& m = e.model;
  if (!m.synth.empty()) {
    out.synthetic = true;
    out.config = parse_synth_shape(m.synth);
    std::string tag;
    for (char c : m.synth) tag += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ? c : '_';
    out.model_path = fmt::format("{}/synth-{}-seed{}.bin", synth_cache_dir(), tag, m.synth_seed);
  } else {
    try {
      out.config = model_file_config(m.path);
    } catch (const FileError& err) {
      throw ExperimentError(m.pos, err.what());
    }
    out.model_path = m.path;
  }
  const accelab_model_config& c = out.config;
  out.tokenizer_path = m.tokenizer;
  if (out.tokenizer_path.empty() && !out.synthetic && is_gguf_file(out.model_path)) out.tokenizer_path = out.model_path;
  if (out.tokenizer_path.empty() && c.vocab_size == 32000 &&
      fs::is_regular_file(data_dir() + "/models/tokenizer.bin"))
    out.tokenizer_path = data_dir() + "/models/tokenizer.bin";

  const WorkloadSpec& w = e.workload;
  int32_t longest = 0;
  for (int32_t p : w.prompt_tokens)
    for (int32_t g : w.generate_tokens) longest = std::max(longest, p + g);
  if (longest > c.seq_len)
    throw ExperimentError(w.pos, fmt::format("prompt_tokens + generate_tokens reaches {} positions, beyond the model's seq_len {}",
                                             longest, c.seq_len));
  std::string default_text = data_dir() + "/data/tinystories_valid_first1000.txt";
  if (w.prompt_text == "random" || out.tokenizer_path.empty()) {
    out.prompt_text_path.clear();
  } else {
    out.prompt_text_path = w.prompt_text.empty() ? default_text : w.prompt_text;
    if (!fs::is_regular_file(out.prompt_text_path)) out.prompt_text_path.clear();  // random prompts
  }

  const MeasureSpec& ms = e.measure;
  if (!ms.quality) out.quality_skipped = "disabled in [measure] (quality = false)";
  else if (out.synthetic) out.quality_skipped = "the model is synthetic (random weights): quality is measured on real models";
  else if (out.tokenizer_path.empty()) out.quality_skipped = "no tokenizer for this model ([model] tokenizer)";
  else {
    out.eval_text_path = ms.eval_text.empty() ? default_text : ms.eval_text;
    if (!fs::is_regular_file(out.eval_text_path))
      throw ExperimentError(ms.pos, fmt::format("evaluation text '{}' does not exist (set ACCELAB_DATA or [measure] eval_text)",
                                                out.eval_text_path));
  }

  for (const PipelineSpec& p : e.pipelines) {
    Plan plan = plan_one(p, registry);
    try {
      Engine::check_plan(plan, out.synthetic ? llama2c_skeleton(out.model_path, c) : model_file_skeleton(out.model_path));
    } catch (const Error& err) {
      throw ExperimentError(p.pos, fmt::format("pipeline '{}' cannot run this model: {}", p.name, err.what()));
    }
    out.plans.push_back(std::move(plan));
  }
  out.experiment = std::move(e);
  return out;
}

std::vector<ExperimentPlan> plan_experiment_models(const Experiment& e, const PluginRegistry& registry) {
  std::vector<ExperimentPlan> out;
  for (const ModelSpec& m : e.models) {
    Experiment one = e;
    one.model = m;
    if (m.workload) one.workload = *m.workload;
    // The pipelines that run on this model; the baseline is the marked one if it runs here,
    // else the first that does.
    one.pipelines.clear();
    std::string marked = e.pipelines[e.baseline].name;
    for (const PipelineSpec& p : e.pipelines)
      if (p.models.empty() || std::find(p.models.begin(), p.models.end(), m.name) != p.models.end())
        one.pipelines.push_back(p);
    if (one.pipelines.empty())
      throw ExperimentError(m.pos, fmt::format("no pipeline runs on model '{}' (see the pipelines' 'models' lists)", m.name));
    one.baseline = 0;
    for (size_t i = 0; i < one.pipelines.size(); ++i)
      if (one.pipelines[i].name == marked) one.baseline = i;
    for (size_t i = 0; i < one.pipelines.size(); ++i) one.pipelines[i].baseline = i == one.baseline;
    out.push_back(plan_experiment(std::move(one), registry));
  }
  return out;
}

std::string describe_plan(const ExperimentPlan& plan) {
  const Experiment& e = plan.experiment;
  const accelab_model_config& c = plan.config;
  std::string s = fmt::format("experiment {} ({})\n", e.name, e.file);
  if (!e.description.empty()) s += fmt::format("  {}\n", e.description);
  s += fmt::format("  seed {}   sha256 {}\n", e.seed, e.sha256.substr(0, 16));
  s += fmt::format("model '{}': {}{}\n  dim {} hidden {} layers {} heads {} kv-heads {} vocab {} seq_len {}\n",
                   e.model.name, plan.model_path, plan.synthetic ? fmt::format(" (synthetic {}, seed {})", e.model.synth, e.model.synth_seed) : "",
                   c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, c.seq_len);
  s += fmt::format("  tokenizer {}\n", plan.tokenizer_path.empty() ? "(none)" : plan.tokenizer_path);
  const WorkloadSpec& w = e.workload;
  size_t points = w.prompt_tokens.size() * w.generate_tokens.size() * w.batch.size();
  s += fmt::format("workload: {} point(s): prompt_tokens {} x generate_tokens {} x batch {}\n  prompts from {}\n",
                   points, fmt::join(w.prompt_tokens, ","), fmt::join(w.generate_tokens, ","),
                   fmt::join(w.batch, ","), plan.prompt_text_path.empty() ? "random tokens" : plan.prompt_text_path);
  const MeasureSpec& m = e.measure;
  s += fmt::format("measure: warmup {}, repetitions {}{}, pipelines interleaved\n", m.warmup,
                   m.auto_repetitions ? "auto" : std::to_string(m.repetitions),
                   m.auto_repetitions || m.min_time_s > 0
                       ? fmt::format(" (target CI ±{:.1f}%, min_time {} s, max_time {} s, at most {})",
                                     m.target_ci * 100, m.min_time_s, m.max_time_s, m.max_repetitions)
                       : "");
  s += plan.quality_skipped.empty()
           ? fmt::format("  quality: {} stories of {} against the baseline\n", m.stories, plan.eval_text_path)
           : fmt::format("  quality: skipped: {}\n", plan.quality_skipped);
  s += fmt::format("pipelines ({}):\n", e.pipelines.size());
  for (size_t i = 0; i < e.pipelines.size(); ++i) {
    const PipelineSpec& p = e.pipelines[i];
    // A sweep variant is named by its text: say which sweep it belongs to instead.
    const std::string what = p.sweep_of.empty() ? p.text : fmt::format("(sweep '{}')", p.sweep_of);
    s += fmt::format("  {}{:<16} {}\n  {:18} resolved: {}\n", i == e.baseline ? "*" : " ", p.name, what, "",
                     resolved_pipeline_text(plan.plans[i]));
  }
  s += "  (* = baseline)\nplan OK: every pipeline's backend supports every node of this model\n";
  return s;
}

}  // namespace accelab
