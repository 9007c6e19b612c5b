// accelab inspect MODEL [--json]: shape, parameter count, bytes by tensor type.
#include <fmt/core.h>

#include <accelab/plugin.hpp>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "commands/commands.hpp"
#include "commands/common.hpp"

namespace accelab {

int cmd_inspect(const Args& args) {
  CommonOptions common;
  std::string path;
  bool json = false;
  bool tensors = false;
  po::options_description opts("options");
  opts.add_options()("model", po::value(&path)->required(), "model file")
      ("json", po::bool_switch(&json), "print JSON")
      ("tensors", po::bool_switch(&tensors), "list every tensor");
  po::positional_options_description pos;
  pos.add("model", 1);
  auto parsed = parse_args(args, "inspect MODEL [--json] [--tensors]",
                           "Shows a model's hyper-parameters, parameter count and bytes by tensor type.",
                           opts, pos, common);
  if (parsed.help) return 0;
  auto model = load_model(path);
  const accelab_model_config& c = model->config();
  std::map<std::string, std::pair<int64_t, uint64_t>> by_type;  // count, bytes
  for (const auto& t : model->tensors()) {
    auto& e = by_type[dtype_name(t.dtype)];
    ++e.first;
    e.second += tensor_storage_bytes(t);
  }
  nlohmann::json j = {
      {"path", path},
      {"format", "llama2.c"},
      {"config", {{"dim", c.dim}, {"hidden_dim", c.hidden_dim}, {"n_layers", c.n_layers},
                  {"n_heads", c.n_heads}, {"n_kv_heads", c.n_kv_heads}, {"head_size", c.head_size},
                  {"vocab_size", c.vocab_size}, {"seq_len", c.seq_len}, {"rms_eps", c.rms_eps},
                  {"rope_theta", c.rope_theta}, {"shared_classifier", c.shared_classifier != 0}}},
      {"parameters", model->parameter_count()},
      {"weight_bytes", model->weight_bytes()}};
  for (const auto& [type, e] : by_type) j["bytes_by_type"][type] = {{"tensors", e.first}, {"bytes", e.second}};
  if (tensors || json) {
    j["tensors"] = nlohmann::json::array();
    for (const auto& t : model->tensors()) {
      std::vector<int64_t> shape(t.shape, t.shape + t.ndim);
      j["tensors"].push_back({{"name", t.name}, {"type", dtype_name(t.dtype)}, {"shape", shape},
                              {"bytes", tensor_storage_bytes(t)}});
    }
  }
  if (json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  fmt::print("{}  (llama2.c checkpoint)\n", path);
  fmt::print("  dim {}  hidden {}  layers {}  heads {}  kv-heads {}  head size {}\n", c.dim,
             c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.head_size);
  fmt::print("  vocab {}  seq_len {}  classifier {}  rms_eps {}  rope_theta {}\n", c.vocab_size,
             c.seq_len, c.shared_classifier ? "shared with embedding" : "separate", c.rms_eps, c.rope_theta);
  fmt::print("  parameters {} ({:.2f} M)  weights {} bytes ({:.2f} MiB)\n", model->parameter_count(),
             static_cast<double>(model->parameter_count()) / 1e6, model->weight_bytes(),
             static_cast<double>(model->weight_bytes()) / (1024.0 * 1024.0));
  for (const auto& [type, e] : by_type)
    fmt::print("  {:<5} {:>4} tensors {:>14} bytes\n", type, e.first, e.second);
  if (tensors)
    for (const auto& t : j["tensors"])
      fmt::print("    {:<28} {:<5} {}\n", t["name"].get<std::string>(), t["type"].get<std::string>(),
                 t["shape"].dump());
  return 0;
}

}  // namespace accelab
