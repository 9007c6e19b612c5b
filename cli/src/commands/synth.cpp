// accelab synth: deterministic synthetic checkpoints at realistic shapes.
#include <fmt/core.h>

#include <chrono>

#include "commands/commands.hpp"
#include "commands/common.hpp"
#include "model/llama2c.hpp"
#include "model/synth.hpp"
#include "util/suggest.hpp"

namespace accelab {

int cmd_synth(const Args& args) {
  CommonOptions common;
  std::string shape, out;
  uint64_t seed = 0;
  po::options_description opts("options");
  opts.add_options()("shape", po::value(&shape)->required(),
                     ("a preset (" + join(synth_shape_names()) + ") or \"dim=..,hidden=..,layers=..,heads=..,kv-heads=..,vocab=..,seq=..\"").c_str())
      ("seed", po::value(&seed)->default_value(0), "random seed; same seed, same bytes")
      ("output,o", po::value(&out)->required(), "checkpoint file to write");
  auto parsed = parse_args(args, "synth --shape SHAPE [--seed N] -o FILE",
                           "Writes a llama2.c checkpoint with deterministic random weights (streamed: "
                           "memory use stays small at any size).",
                           opts, {}, common);
  if (parsed.help) return 0;
  accelab_model_config c = parse_synth_shape(shape);
  auto start = std::chrono::steady_clock::now();
  write_synthetic_llama2c(c, seed, out);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("wrote {} ({} bytes, {}, seed {}) in {:.1f} s\n", out, llama2c_file_bytes(c), shape, seed, s);
  return 0;
}

}  // namespace accelab
