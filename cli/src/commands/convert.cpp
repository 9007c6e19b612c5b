// accelab convert IN OUT [--pipeline TRANSFORMS]: llama2.c <-> GGUF, optionally after transforms.
#include <fmt/format.h>

#include <filesystem>
#include <string>

#include "commands/commands.hpp"
#include "commands/common.hpp"
#include "model/gguf.hpp"
#include "model/gguf_writer.hpp"
#include "model/model_file.hpp"
#include "pipeline/planner.hpp"
#include "runtime/engine.hpp"
#include "util/error.hpp"

namespace accelab {

int cmd_convert(const Args& args) {
  CommonOptions common;
  std::string in, out, pipeline, tokenizer_path, format, name;
  po::options_description opts("options");
  opts.add_options()("in", po::value(&in)->required(), "model to read (llama2.c checkpoint or GGUF)")
      ("out", po::value(&out)->required(), "file to write")
      ("to", po::value(&format), "output format: gguf or llama2c (default: from OUT's extension, .gguf or else llama2.c)")
      ("pipeline,p", po::value(&pipeline), "transforms to apply first, e.g. \"quant-int8\" (Q8_0), \"quant-int4<block=32>\" (Q4_0), \"quant-fp16\" (F16)")
      ("tokenizer,t", po::value(&tokenizer_path), "vocabulary to embed in a GGUF (default: IN's own when IN is GGUF, the Llama 2 vocabulary for 32000-token models)")
      ("name", po::value(&name), "general.name of a GGUF (default: IN's file name without extension)");
  po::positional_options_description pos;
  pos.add("in", 1).add("out", 1);
  auto parsed = parse_args(args, "convert IN OUT [--to gguf|llama2c] [--pipeline TRANSFORMS] [--tokenizer T]",
                           "Converts between llama2.c checkpoints and GGUF (F32, F16, BF16, Q8_0, Q4_0, Q4_1), optionally after transforms.",
                           opts, pos, common);
  if (parsed.help) return 0;
  if (format.empty()) format = std::filesystem::path(out).extension() == ".gguf" ? "gguf" : "llama2c";
  if (format != "gguf" && format != "llama2c") throw UsageError(fmt::format("--to '{}': expected gguf or llama2c", format));
  if (std::filesystem::exists(out) && std::filesystem::equivalent(in, out)) throw UsageError(fmt::format("OUT '{}' is IN itself", out));

  auto model = load_model(in);
  const accelab_model_config c = model->config();
  if (!pipeline.empty()) {
    auto registry = load_plugins(common);
    Plan plan;
    try {
      plan = plan_pipeline(*registry, pipeline + ",cpu-ref");
    } catch (const ConfigError& e) {
      throw ConfigError(fmt::format("--pipeline '{}' must be transforms only: {}", pipeline, e.what()));
    }
    const std::string tok = tokenizer_path.empty() && is_gguf_file(in) ? in : tokenizer_path;
    Engine::apply_transforms(plan, *model, CalibrationText{data_dir() + "/data/tinystories_valid_first1000.txt", tok, 0});
  }
  std::vector<float> re, im;
  llama2c_freq_cis(in, re, im);
  if (format == "llama2c") {
    write_llama2c(*model, out, re, im);
  } else {
    std::string tok = tokenizer_path;
    if (tok.empty() && is_gguf_file(in)) tok = in;
    if (tok.empty() && c.vocab_size == 32000) tok = data_dir() + "/models/tokenizer.bin";
    if (tok.empty()) throw UsageError(fmt::format("{}: a GGUF embeds its vocabulary: give --tokenizer (the model has {} tokens)", in, c.vocab_size));
    if (name.empty()) name = std::filesystem::path(in).stem().string();
    write_gguf(*model, load_tokenizer_file(tok, c.vocab_size), name, out, re, im);
  }
  fmt::print("wrote {} ({}, {} bytes)\n", out, format == "gguf" ? "GGUF v3" : "llama2.c", std::filesystem::file_size(out));
  return 0;
}

}  // namespace accelab
