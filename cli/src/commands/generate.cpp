// accelab generate: text generation, greedy at temperature 0.
#include <fmt/core.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands/commands.hpp"
#include "commands/model_options.hpp"
#include "runtime/generate.hpp"
#include "util/error.hpp"

namespace accelab {

int cmd_generate(const Args& args) {
  CommonOptions common;
  ModelOptions m;
  std::string prompt;
  int32_t steps = 256;
  float temperature = 1.0f, top_p = 0.9f;
  uint64_t seed = 42;
  bool json = false;
  po::options_description opts("options");
  add_model_options(opts, m);
  opts.add_options()("prompt,i", po::value(&prompt), "prompt text (default: empty)")
      ("steps,n", po::value(&steps)->default_value(256), "positions to run, prompt included (0 = the model's seq_len)")
      ("temperature", po::value(&temperature)->default_value(1.0f), "sampling temperature; 0 = greedy")
      ("top-p", po::value(&top_p)->default_value(0.9f), "nucleus sampling threshold in (0, 1); 0 or 1 = off (as llama2.c)")
      ("seed,s", po::value(&seed)->default_value(42), "random seed for sampling")
      ("json", po::bool_switch(&json), "print {\"tokens\":[...],\"text\":\"...\"} instead of streaming text");
  auto parsed = parse_args(args, "generate --model M [--tokenizer T] [--prompt TEXT] [--steps N] [--temperature T] [--top-p P] [--seed S] [--pipeline TEXT] [--json]",
                           "Generates text; `steps` counts positions including the prompt (llama2.c's -n); "
                           "stops early if the model produces BOS.",
                           opts, {}, common);
  if (parsed.help) return 0;
  if (!(temperature >= 0.0f) || !std::isfinite(temperature))
    throw UsageError("--temperature must be >= 0 (and finite)");
  if (!(top_p >= 0.0f && top_p <= 1.0f)) throw UsageError("--top-p must be in [0, 1]");
  if (steps < 0) throw UsageError("--steps must be >= 0");

  auto lp = load_pipeline(m, common, 512);
  Sampler sampler(lp.engine->config().vocab_size, temperature, top_p, seed);
  auto start = std::chrono::steady_clock::now();
  auto stream = [&](const std::string& piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
  };
  Generation g = generate(*lp.engine, *lp.tokenizer, prompt, steps, sampler,
                          json ? std::function<void(const std::string&)>{} : stream);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (json) {
    nlohmann::json j = {{"tokens", g.tokens}, {"text", g.text}};
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::printf("\n");
    std::fflush(stdout);  // the text's last line before the timing on stderr, also in a pipe
    int64_t produced = static_cast<int64_t>(g.tokens.size()) - 1;
    fmt::print(stderr, "accelab: {} tokens in {:.3f} s ({:.1f} tok/s) with {}\n", produced, seconds,
               seconds > 0 ? static_cast<double>(produced) / seconds : 0.0, lp.engine->pipeline_text());
  }
  return 0;
}

}  // namespace accelab
