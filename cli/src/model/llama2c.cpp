#include "model/llama2c.hpp"

#include <fmt/format.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "util/error.hpp"

namespace accelab {
namespace {

// Generous ceilings that keep every size computation far from 64-bit overflow.
constexpr int64_t kMaxDim = 1 << 16;
constexpr int64_t kMaxHidden = 1 << 18;
constexpr int64_t kMaxLayers = 1 << 10;
constexpr int64_t kMaxVocab = 1 << 22;
constexpr int64_t kMaxSeq = 1 << 20;

accelab_tensor f32_view(const std::byte* data, std::initializer_list<int64_t> shape) {
  accelab_tensor t{};
  t.data = const_cast<std::byte*>(data);
  t.device_type = ACCELAB_DEVICE_CPU;
  t.dtype = ACCELAB_DTYPE_F32;
  t.ndim = static_cast<int32_t>(shape.size());
  for (int i = 0; i < ACCELAB_MAX_DIMS; ++i) t.shape[i] = 1;
  int i = 0;
  uint64_t n = 1;
  for (int64_t s : shape) {
    t.shape[i++] = s;
    n *= static_cast<uint64_t>(s);
  }
  t.nbytes = n * 4;
  return t;
}

}  // namespace

void complete_llama_config(accelab_model_config& c) {
  if (c.n_heads > 0) c.head_size = c.dim / c.n_heads;
  c.rope_dim = c.head_size;
  if (c.rms_eps == 0.0f) c.rms_eps = 1e-5f;
  if (c.rope_theta == 0.0f) c.rope_theta = 10000.0f;
}

std::string check_llama_config(const accelab_model_config& c) {
  auto range = [](const char* what, int64_t v, int64_t max) -> std::string {
    if (v <= 0) return fmt::format("{} = {} must be positive", what, v);
    if (v > max) return fmt::format("{} = {} exceeds the limit {}", what, v, max);
    return "";
  };
  for (auto msg : {range("dim", c.dim, kMaxDim), range("hidden_dim", c.hidden_dim, kMaxHidden),
                   range("n_layers", c.n_layers, kMaxLayers), range("n_heads", c.n_heads, kMaxDim),
                   range("n_kv_heads", c.n_kv_heads, kMaxDim),
                   range("vocab_size", c.vocab_size, kMaxVocab),
                   range("seq_len", c.seq_len, kMaxSeq)})
    if (!msg.empty()) return msg;
  if (c.dim % c.n_heads != 0)
    return fmt::format("n_heads = {} does not divide dim = {}", c.n_heads, c.dim);
  if (c.n_kv_heads > c.n_heads || c.n_heads % c.n_kv_heads != 0)
    return fmt::format("n_kv_heads = {} does not divide n_heads = {}", c.n_kv_heads, c.n_heads);
  if ((c.dim / c.n_heads) % 2 != 0)
    return fmt::format("head size {} (dim / n_heads) is odd; RoPE needs pairs", c.dim / c.n_heads);
  return "";
}

uint64_t llama2c_file_bytes(const accelab_model_config& c) {
  auto dim = static_cast<uint64_t>(c.dim), hidden = static_cast<uint64_t>(c.hidden_dim),
       layers = static_cast<uint64_t>(c.n_layers), vocab = static_cast<uint64_t>(c.vocab_size),
       seq = static_cast<uint64_t>(c.seq_len);
  uint64_t head = dim / static_cast<uint64_t>(c.n_heads);
  uint64_t kv_dim = head * static_cast<uint64_t>(c.n_kv_heads);
  uint64_t floats = vocab * dim                         // token embedding
                    + layers * dim                      // rms_att
                    + layers * dim * dim * 2            // wq, wo
                    + layers * kv_dim * dim * 2         // wk, wv
                    + layers * dim                      // rms_ffn
                    + layers * hidden * dim * 3         // w1, w2, w3
                    + dim                               // rms_final
                    + seq * head                        // freq_cis_real + freq_cis_imag
                    + (c.shared_classifier ? 0 : vocab * dim);
  return kLlama2cHeaderBytes + floats * 4;
}

Llama2cHeader parse_llama2c_header(const std::string& path, const std::byte* bytes, uint64_t size) {
  if (size < kLlama2cHeaderBytes)
    throw FileError(fmt::format("{}: file is {} bytes, too short for the 28-byte llama2.c header",
                                path, size));
  std::array<int32_t, 7> h{};
  std::memcpy(h.data(), bytes, sizeof h);
  Llama2cHeader out;
  accelab_model_config& c = out.config;
  c.dim = h[0];
  c.hidden_dim = h[1];
  c.n_layers = h[2];
  c.n_heads = h[3];
  c.n_kv_heads = h[4];
  c.vocab_size = h[5] < 0 ? (h[5] == INT32_MIN ? 0 : -h[5]) : h[5];
  c.shared_classifier = h[5] > 0 ? 1 : 0;
  c.seq_len = h[6];
  if (std::string problem = check_llama_config(c); !problem.empty())
    throw FileError(fmt::format("{}: invalid llama2.c header: {}", path, problem));
  complete_llama_config(c);
  out.file_bytes = llama2c_file_bytes(c);
  if (size != out.file_bytes)
    throw FileError(fmt::format(
        "{}: file is {} bytes but its header (dim={}, hidden_dim={}, n_layers={}, n_heads={}, "
        "n_kv_heads={}, vocab_size={}{}, seq_len={}) implies {} bytes{}",
        path, size, c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size,
        c.shared_classifier ? "" : " unshared", c.seq_len, out.file_bytes,
        size < out.file_bytes ? " (truncated?)" : " (trailing data?)"));
  return out;
}

Llama2cHeader read_llama2c_header(const std::string& path) {
  std::error_code st_ec;
  if (!std::filesystem::is_regular_file(path, st_ec))
    throw FileError(path + (std::filesystem::exists(path, st_ec) ? ": cannot open: not a regular file"
                                                                 : ": cannot open: it does not exist"));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path + ": cannot open");
  std::array<std::byte, kLlama2cHeaderBytes> head{};
  in.read(reinterpret_cast<char*>(head.data()), head.size());
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) throw FileError(path + ": cannot read its size: " + ec.message());
  if (static_cast<uint64_t>(in.gcount()) < kLlama2cHeaderBytes) size = static_cast<uint64_t>(in.gcount());
  return parse_llama2c_header(path, head.data(), size);
}

namespace {

// Adds the llama2.c tensors of `c` to `model`, pointing into `data` (the bytes after the
// header), or metadata only (NULL data) when `data` is NULL.
void add_llama2c_tensors(Model& model, const accelab_model_config& c, const std::byte* data) {
  const int64_t dim = c.dim, hidden = c.hidden_dim, kv_dim = int64_t{c.head_size} * c.n_kv_heads;
  int64_t offset = 0;  // in floats
  auto take = [&](int64_t floats) {
    const std::byte* at = data ? data + offset * 4 : nullptr;
    offset += floats;
    return at;
  };
  // Stacked per-layer arrays: [layers, rows, cols] — one view per layer.
  auto add_layers = [&](const char* what, int64_t rows, int64_t cols) {
    const std::byte* base = take(int64_t{c.n_layers} * rows * cols);
    for (int32_t l = 0; l < c.n_layers; ++l) {
      const std::byte* at = base ? base + int64_t{l} * rows * cols * 4 : nullptr;
      model.add_tensor(layer_tensor_name(l, what),
                       cols == 1 ? f32_view(at, {rows}) : f32_view(at, {rows, cols}));
    }
  };
  model.add_tensor("token_embd.weight", f32_view(take(int64_t{c.vocab_size} * dim), {c.vocab_size, dim}));
  add_layers("attn_norm", dim, 1);
  add_layers("attn_q", dim, dim);
  add_layers("attn_k", kv_dim, dim);
  add_layers("attn_v", kv_dim, dim);
  add_layers("attn_output", dim, dim);
  add_layers("ffn_norm", dim, 1);
  add_layers("ffn_gate", hidden, dim);
  add_layers("ffn_down", dim, hidden);
  add_layers("ffn_up", hidden, dim);
  model.add_tensor("output_norm.weight", f32_view(take(dim), {dim}));
  take(int64_t{c.seq_len} * c.head_size);  // freq_cis_real/imag: unused, RoPE is computed
  if (!c.shared_classifier)
    model.add_tensor("output.weight", f32_view(take(int64_t{c.vocab_size} * dim), {c.vocab_size, dim}));
}

}  // namespace

std::unique_ptr<Model> load_llama2c(const std::string& path) {
  auto file = MappedFile::shared(path, MappedFile::Pages::huge);
  Llama2cHeader header = parse_llama2c_header(path, file->data(), file->size());
  auto model = std::make_unique<Model>(path, header.config);
  model->keep(file);
  add_llama2c_tensors(*model, header.config, file->data() + kLlama2cHeaderBytes);
  return model;
}

std::unique_ptr<Model> llama2c_skeleton(const std::string& source, const accelab_model_config& config) {
  auto model = std::make_unique<Model>(source, config);
  add_llama2c_tensors(*model, config, nullptr);
  return model;
}

}  // namespace accelab
