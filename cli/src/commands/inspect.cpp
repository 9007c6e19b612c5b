// accelab inspect MODEL [--json]: shape, parameter count, bytes by tensor type.
#include <fmt/format.h>

#include <accelab/plugin.hpp>
#include <iostream>
#include <algorithm>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>

#include "commands/commands.hpp"
#include "commands/common.hpp"
#include "model/gguf.hpp"

namespace accelab {
namespace {

// A metadata value for display: scalars as themselves, arrays as their type and length plus
// the first few items (a 32000-token vocabulary is not worth printing).
nlohmann::json gguf_value_json(const GgufValue& v, bool whole_arrays) {
  switch (v.type) {
    case GgufType::u8: case GgufType::u16: case GgufType::u32: case GgufType::u64: return v.u;
    case GgufType::i8: case GgufType::i16: case GgufType::i32: case GgufType::i64: return v.i;
    case GgufType::f32: case GgufType::f64: return v.f;
    case GgufType::boolean: return v.i != 0;
    case GgufType::string: return v.s;
    case GgufType::array: {
      nlohmann::json items = nlohmann::json::array();
      const size_t shown = whole_arrays ? v.items.size() : std::min<size_t>(v.items.size(), 5);
      for (size_t i = 0; i < shown; ++i) items.push_back(gguf_value_json(v.items[i], whole_arrays));
      return {{"array", gguf_type_name(v.element)}, {"count", v.items.size()}, {"items", items}};
    }
  }
  return nullptr;
}

// GGUF-specific facts: version, alignment, every metadata key, and the file's tensor types.
nlohmann::json gguf_json(const GgufFile& g) {
  nlohmann::json meta = nlohmann::json::object();
  for (const auto& [k, v] : g.metadata) meta[k] = gguf_value_json(v, false);
  nlohmann::json tensors = nlohmann::json::array();
  std::map<std::string, int64_t> types;
  for (const GgufTensorInfo& t : g.tensors) {
    tensors.push_back({{"name", t.name}, {"type", ggml_type_name(t.type)}, {"ne", t.ne}, {"offset", t.offset}, {"bytes", t.nbytes}});
    ++types[ggml_type_name(t.type)];
  }
  return {{"version", g.version}, {"alignment", g.alignment}, {"data_offset", g.data_offset},
          {"metadata", meta}, {"tensor_types", types}, {"tensors", tensors}};
}

}  // namespace

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
  std::optional<GgufFile> gguf;
  if (is_gguf_file(path)) gguf = GgufFile::open(path);
  const accelab_model_config& c = model->config();
  std::map<std::string, std::pair<int64_t, uint64_t>> by_type;  // count, bytes
  for (const auto& t : model->tensors()) {
    auto& e = by_type[dtype_name(t.dtype)];
    ++e.first;
    e.second += tensor_storage_bytes(t);
  }
  nlohmann::json j = {
      {"path", path},
      {"format", gguf ? "gguf" : "llama2.c"},
      {"config", {{"dim", c.dim}, {"hidden_dim", c.hidden_dim}, {"n_layers", c.n_layers},
                  {"n_heads", c.n_heads}, {"n_kv_heads", c.n_kv_heads}, {"head_size", c.head_size},
                  {"vocab_size", c.vocab_size}, {"seq_len", c.seq_len}, {"rms_eps", c.rms_eps},
                  {"rope_theta", c.rope_theta}, {"shared_classifier", c.shared_classifier != 0}}},
      {"parameters", model->parameter_count()},
      {"weight_bytes", model->weight_bytes()}};
  for (const auto& [type, e] : by_type) j["bytes_by_type"][type] = {{"tensors", e.first}, {"bytes", e.second}};
  if (gguf) j["gguf"] = gguf_json(*gguf);
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
  fmt::print("{}  ({})\n", path, gguf ? fmt::format("GGUF v{}, alignment {}", gguf->version, gguf->alignment) : "llama2.c checkpoint");
  fmt::print("  dim {}  hidden {}  layers {}  heads {}  kv-heads {}  head size {}\n", c.dim,
             c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.head_size);
  fmt::print("  vocab {}  seq_len {}  classifier {}  rms_eps {}  rope_theta {}\n", c.vocab_size,
             c.seq_len, c.shared_classifier ? "shared with embedding" : "separate", c.rms_eps, c.rope_theta);
  fmt::print("  parameters {} ({:.2f} M)  weights {} bytes ({:.2f} MiB)\n", model->parameter_count(),
             static_cast<double>(model->parameter_count()) / 1e6, model->weight_bytes(),
             static_cast<double>(model->weight_bytes()) / (1024.0 * 1024.0));
  for (const auto& [type, e] : by_type)
    fmt::print("  {:<5} {:>4} tensors {:>14} bytes\n", type, e.first, e.second);
  if (gguf) {
    std::string types;
    for (const auto& [type, n] : j["gguf"]["tensor_types"].items()) types += fmt::format(" {} x{}", type, n.get<int64_t>());
    fmt::print("  GGUF tensor types:{}  (read as the accelab types above)\n", types);
    fmt::print("  GGUF metadata ({} keys):\n", gguf->metadata.size());
    for (const auto& [k, v] : gguf->metadata) {
      const nlohmann::json shown = gguf_value_json(v, false);
      fmt::print("    {:<40} {}\n", k,
                 v.type == GgufType::array ? fmt::format("[{} x {}] {}", v.items.size(), gguf_type_name(v.element), shown["items"].dump())
                                            : (shown.is_string() ? shown.get<std::string>() : shown.dump()));
    }
  }
  if (tensors)
    for (const auto& t : j["tensors"])
      fmt::print("    {:<28} {:<5} {}\n", t["name"].get<std::string>(), t["type"].get<std::string>(),
                 t["shape"].dump());
  return 0;
}

}  // namespace accelab
