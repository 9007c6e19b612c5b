#include "commands/model_options.hpp"

#include <algorithm>

#include "model/gguf.hpp"
#include "model/model_file.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace accelab {

void add_model_options(po::options_description& opts, ModelOptions& m) {
  opts.add_options()("model,m", po::value(&m.model)->required(), "model file (llama2.c checkpoint or GGUF)")
      ("tokenizer,t", po::value(&m.tokenizer),
       "tokenizer file (llama2.c format, or a GGUF's embedded vocabulary); default: a GGUF model's own vocabulary, for other 32000-token models the Llama 2 vocabulary in $ACCELAB_DATA/models/tokenizer.bin")
      ("pipeline,p", po::value(&m.pipeline), "pipeline text, e.g. 'cpu-ref' (default: the fastest available backend)");
}

LoadedPipeline load_pipeline(const ModelOptions& m, const CommonOptions& common, int32_t max_rows,
                             const std::string& calibration_text, int32_t reserved_stories) {
  LoadedPipeline out;
  out.registry = load_plugins(common);
  std::string text = m.pipeline.empty() ? default_pipeline_text(*out.registry) : m.pipeline;
  Plan plan = plan_pipeline(*out.registry, text);  // before loading anything big
  auto model = load_model(m.model);
  const accelab_model_config& c = model->config();
  std::string tok_path = m.tokenizer;
  if (tok_path.empty() && is_gguf_file(m.model)) tok_path = m.model;  // its embedded vocabulary
  if (tok_path.empty()) {
    if (c.vocab_size != 32000)
      throw UsageError(m.model + ": --tokenizer is required (the model's vocabulary has " +
                       std::to_string(c.vocab_size) + " tokens)");
    tok_path = data_dir() + "/models/tokenizer.bin";
  }
  out.tokenizer = std::make_unique<Tokenizer>(load_tokenizer_file(tok_path, c.vocab_size));
  accelab_limits limits{};
  limits.max_rows = std::clamp(max_rows, 1, c.seq_len);
  limits.max_sequences = 1;
  limits.max_positions = c.seq_len;
  log::debug("pipeline: {}", plan.text);
  CalibrationText calibration{calibration_text.empty() ? data_dir() + "/data/tinystories_valid_first1000.txt"
                                                      : calibration_text,
                              tok_path, reserved_stories};
  out.engine = std::make_unique<Engine>(plan, std::move(model), limits, calibration);
  return out;
}

}  // namespace accelab
