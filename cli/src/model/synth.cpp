#include "model/synth.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "model/llama2c.hpp"
#include "util/error.hpp"
#include "util/suggest.hpp"

namespace accelab {
namespace {

struct Preset {
  const char* name;
  int32_t dim, hidden, layers, heads, kv_heads, vocab, seq;
};
// The shapes of Karpathy's tinyllamas checkpoints and of TinyLlama-1.1B.
constexpr Preset kPresets[] = {
    {"stories15M", 288, 768, 6, 6, 6, 32000, 256},
    {"stories42M", 512, 1376, 8, 8, 8, 32000, 1024},
    {"stories110M", 768, 2048, 12, 12, 12, 32000, 1024},
    {"tinyllama-1.1b", 2048, 5632, 22, 32, 4, 32000, 2048},
};

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Buffered little-endian float writer.
class Writer {
 public:
  Writer(const std::string& path) : path_(path), file_(std::fopen(path.c_str(), "wb")) {
    if (file_ == nullptr) throw FileError(path + ": cannot create");
    buf_.reserve(kChunk);
  }
  ~Writer() {
    if (file_) std::fclose(file_);
  }
  void put(float v) {
    buf_.push_back(v);
    if (buf_.size() == kChunk) flush();
  }
  void put_raw(const void* p, size_t n) {
    flush();
    if (std::fwrite(p, 1, n, file_) != n) throw FileError(path_ + ": write failed (disk full?)");
  }
  void close() {
    flush();
    if (std::fclose(file_) != 0) {
      file_ = nullptr;
      throw FileError(path_ + ": write failed (disk full?)");
    }
    file_ = nullptr;
  }

 private:
  static constexpr size_t kChunk = 1 << 18;
  void flush() {
    if (buf_.empty()) return;
    if (std::fwrite(buf_.data(), sizeof(float), buf_.size(), file_) != buf_.size())
      throw FileError(path_ + ": write failed (disk full?)");
    buf_.clear();
  }
  std::string path_;
  std::FILE* file_;
  std::vector<float> buf_;
};

}  // namespace

std::vector<std::string> synth_shape_names() {
  std::vector<std::string> names;
  for (const auto& p : kPresets) names.emplace_back(p.name);
  return names;
}

accelab_model_config parse_synth_shape(std::string_view text) {
  accelab_model_config c{};
  bool found = false;
  for (const auto& p : kPresets) {
    if (text == p.name) {
      c.dim = p.dim; c.hidden_dim = p.hidden; c.n_layers = p.layers; c.n_heads = p.heads;
      c.n_kv_heads = p.kv_heads; c.vocab_size = p.vocab; c.seq_len = p.seq;
      found = true;
    }
  }
  if (!found) {
    if (text.find('=') == std::string_view::npos)
      throw UsageError(fmt::format("unknown shape '{}'{}; use one of {} or \"dim=..,hidden=..,layers=..,heads=..,kv-heads=..,vocab=..,seq=..\"",
                                   text, did_you_mean(text, synth_shape_names()), join(synth_shape_names())));
    std::map<std::string, int32_t*> keys = {{"dim", &c.dim}, {"hidden", &c.hidden_dim},
                                            {"layers", &c.n_layers}, {"heads", &c.n_heads},
                                            {"kv-heads", &c.n_kv_heads}, {"vocab", &c.vocab_size},
                                            {"seq", &c.seq_len}};
    std::vector<std::string> key_names;
    for (auto& [k, v] : keys) key_names.push_back(k);
    std::map<std::string, bool> seen;
    std::string_view rest = text;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      size_t eq = item.find('=');
      if (eq == std::string_view::npos)
        throw UsageError(fmt::format("shape '{}': '{}' is not key=value", text, item));
      std::string key(item.substr(0, eq));
      std::string_view value = item.substr(eq + 1);
      auto it = keys.find(key);
      if (it == keys.end())
        throw UsageError(fmt::format("shape '{}': unknown key '{}'{}; keys are {}", text, key,
                                     did_you_mean(key, key_names), join(key_names)));
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), *it->second);
      if (ec != std::errc() || ptr != value.data() + value.size())
        throw UsageError(fmt::format("shape '{}': '{}' is not an integer", text, item));
      seen[key] = true;
    }
    if (!seen["kv-heads"]) c.n_kv_heads = c.n_heads;
    for (const auto& k : key_names)
      if (k != "kv-heads" && !seen[k])
        throw UsageError(fmt::format("shape '{}': missing key '{}'", text, k));
  }
  c.shared_classifier = 1;
  if (std::string problem = check_llama_config(c); !problem.empty())
    throw UsageError(fmt::format("shape '{}': {}", text, problem));
  complete_llama_config(c);
  return c;
}

void write_synthetic_llama2c(const accelab_model_config& c, uint64_t seed, const std::string& path) {
  std::string tmp = path + ".partial";
  try {
    Writer w(tmp);
    const int32_t header[7] = {c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads,
                               c.vocab_size, c.seq_len};
    w.put_raw(header, sizeof header);
    const int64_t dim = c.dim, hidden = c.hidden_dim, layers = c.n_layers;
    const int64_t kv_dim = int64_t{c.head_size} * c.n_kv_heads;
    uint64_t tensor_id = 0;
    // Each tensor gets its own stream so shapes can change without reshuffling the others.
    auto uniform = [&](int64_t count, float scale, float offset) {
      uint64_t state = seed ^ (0xA0761D6478BD642Full * ++tensor_id);
      for (int64_t i = 0; i < count; ++i) {
        float u = static_cast<float>(splitmix64(state) >> 40) / 16777216.0f;  // [0, 1)
        w.put(offset + scale * (2.0f * u - 1.0f));
      }
    };
    // Scaled like trained weights (about 1/sqrt(fan_in)), so activations stay finite.
    auto matrix = [&](int64_t rows, int64_t cols) {
      uniform(layers * rows * cols, std::sqrt(3.0f / static_cast<float>(cols)), 0.0f);
    };
    uniform(int64_t{c.vocab_size} * dim, 1.0f, 0.0f);  // token embedding
    uniform(layers * dim, 0.1f, 1.0f);                   // rms_att
    matrix(dim, dim);                                    // wq
    matrix(kv_dim, dim);                                 // wk
    matrix(kv_dim, dim);                                 // wv
    matrix(dim, dim);                                    // wo
    uniform(layers * dim, 0.1f, 1.0f);                   // rms_ffn
    matrix(hidden, dim);                                 // w1
    matrix(dim, hidden);                                 // w2
    matrix(hidden, dim);                                 // w3
    uniform(dim, 0.1f, 1.0f);                            // rms_final
    const int32_t half = c.head_size / 2;
    for (int pass = 0; pass < 2; ++pass)  // freq_cis_real then freq_cis_imag, as llama2.c wrote them
      for (int32_t pos = 0; pos < c.seq_len; ++pos)
        for (int32_t i = 0; i < half; ++i) {
          float freq = 1.0f / std::pow(c.rope_theta, static_cast<float>(2 * i) / static_cast<float>(c.head_size));
          float angle = static_cast<float>(pos) * freq;
          w.put(pass == 0 ? std::cos(angle) : std::sin(angle));
        }
    w.close();
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) throw FileError(fmt::format("{}: cannot move {} into place: {}", path, tmp, ec.message()));
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw;
  }
}

}  // namespace accelab
