// A `llama` GGUF as the host's Model and Tokenizer: hyper-parameters from metadata, tensors by
// llama.cpp's names, ggml block types repacked into accelab's block formats.
#include <fmt/format.h>

#include <cstring>
#include <optional>

#include "accelab_cpu/kernels.hpp"
#include "model/gguf.hpp"
#include "model/llama2c.hpp"
#include "util/error.hpp"

namespace accelab {
namespace {

[[noreturn]] void fail(const GgufFile& g, const std::string& what) { throw FileError(fmt::format("{}: {}", g.path, what)); }
[[noreturn]] void fail_at(const GgufFile& g, uint64_t at, const std::string& what) {
  throw FileError(fmt::format("{}: byte {}: {}", g.path, at, what));
}

// An integer metadata value (any integer type), or `fallback` when absent.
int64_t integer(const GgufFile& g, const char* key, std::optional<int64_t> fallback = std::nullopt) {
  const GgufValue* v = g.find(key);
  if (v == nullptr) {
    if (fallback) return *fallback;
    fail(g, fmt::format("metadata '{}' is missing", key));
  }
  switch (v->type) {
    case GgufType::u8: case GgufType::u16: case GgufType::u32: case GgufType::u64:
      if (v->u > static_cast<uint64_t>(INT32_MAX)) fail_at(g, v->offset, fmt::format("'{}' = {} is too large", key, v->u));
      return static_cast<int64_t>(v->u);
    case GgufType::i8: case GgufType::i16: case GgufType::i32: case GgufType::i64:
      if (v->i < INT32_MIN || v->i > INT32_MAX) fail_at(g, v->offset, fmt::format("'{}' = {} is out of range", key, v->i));
      return v->i;
    default: fail_at(g, v->offset, fmt::format("'{}' must be an integer, not {}", key, gguf_type_name(v->type)));
  }
}

double number(const GgufFile& g, const char* key, double fallback) {
  const GgufValue* v = g.find(key);
  if (v == nullptr) return fallback;
  if (v->type == GgufType::f32 || v->type == GgufType::f64) return v->f;
  return static_cast<double>(integer(g, key));
}

const std::string& string(const GgufFile& g, const char* key) {
  const GgufValue* v = g.find(key);
  if (v == nullptr) fail(g, fmt::format("metadata '{}' is missing", key));
  if (v->type != GgufType::string) fail_at(g, v->offset, fmt::format("'{}' must be a string, not {}", key, gguf_type_name(v->type)));
  return v->s;
}

accelab_tensor view(accelab_dtype dtype, int64_t rows, int64_t cols, bool matrix) {
  accelab_tensor t{};
  t.device_type = ACCELAB_DEVICE_CPU;
  t.dtype = dtype;
  t.ndim = matrix ? 2 : 1;
  for (int64_t& s : t.shape) s = 1;
  t.shape[0] = matrix ? rows : cols;
  if (matrix) t.shape[1] = cols;
  return t;
}

template <class T>
T* buffer(Model& model, uint64_t count) {
  HostBuffer b(host_alloc(count * sizeof(T) + 1, 64));
  if (!b) throw std::bad_alloc();
  T* p = static_cast<T*>(b.get());
  model.own(std::move(b));
  return p;
}

// A [rows, cols] tensor of accelab blocks of 32 with f16 scales (and mins), its buffers owned by
// `model` and left for the caller to fill; with `allocate` false, the description only (NULL data).
struct BlockTensor {
  accelab_tensor t;
  uint8_t* codes;
  uint16_t *scales, *mins;
};

BlockTensor block_tensor(Model& model, accelab_dtype dtype, int64_t rows, int64_t cols, bool allocate = true) {
  const bool q8 = dtype == ACCELAB_DTYPE_I8, asym = dtype == ACCELAB_DTYPE_U4;
  BlockTensor b{view(dtype, rows, cols, true), nullptr, nullptr, nullptr};
  b.t.nbytes = static_cast<uint64_t>(rows * (q8 ? cols : cols / 2));
  if (allocate) {
    b.codes = buffer<uint8_t>(model, b.t.nbytes);
    b.scales = buffer<uint16_t>(model, static_cast<uint64_t>(rows * cols / 32));
    b.mins = asym ? buffer<uint16_t>(model, static_cast<uint64_t>(rows * cols / 32)) : nullptr;
  }
  b.t.data = b.codes;
  b.t.quant.scheme = asym ? ACCELAB_QUANT_SCHEME_ASYMMETRIC : ACCELAB_QUANT_SCHEME_SYMMETRIC;
  b.t.quant.bits = q8 ? 8 : 4;
  b.t.quant.block_size = 32;
  b.t.quant.scale_dtype = ACCELAB_DTYPE_F16;
  b.t.quant.scales = b.scales;
  b.t.quant.mins = b.mins;
  return b;
}

// Q8_0 {f16 d; int8 q[32]}, Q4_0 {f16 d; uint8 q[16]: element j < 16 low nibble of q[j], else the
// high nibble of q[j - 16]; value (q - 8) d}, Q4_1 {f16 d; f16 m; uint8 q[16]; value q d + m} as
// accelab blocks of 32: codes row-major (4-bit: two per byte, low nibble first), scales (and mins)
// f16 [rows][cols / 32].
accelab_tensor repack_blocks(Model& model, const GgufTensorInfo& src, int64_t rows, int64_t cols) {
  const int64_t blocks = cols / 32;
  const bool q8 = src.type == kGgmlQ8_0, asym = src.type == kGgmlQ4_1;
  const uint64_t block_bytes = q8 ? 34 : asym ? 20 : 18;
  const BlockTensor out_tensor = block_tensor(model, q8 ? ACCELAB_DTYPE_I8 : asym ? ACCELAB_DTYPE_U4 : ACCELAB_DTYPE_I4, rows, cols);
  uint8_t* codes = out_tensor.codes;
  uint16_t *scales = out_tensor.scales, *mins = out_tensor.mins;
  const auto* in = reinterpret_cast<const uint8_t*>(src.data);
  for (int64_t b = 0; b < rows * blocks; ++b) {
    const uint8_t* blk = in + static_cast<uint64_t>(b) * block_bytes;
    std::memcpy(&scales[b], blk, 2);
    if (asym) std::memcpy(&mins[b], blk + 2, 2);
    const uint8_t* q = blk + (asym ? 4 : 2);
    if (q8) {
      std::memcpy(codes + b * 32, q, 32);
      continue;
    }
    uint8_t* out = codes + b * 16;
    for (int j = 0; j < 32; j += 2) {
      auto nib = [&](int e) {
        const int v = e < 16 ? q[e] & 0x0F : q[e - 16] >> 4;
        return static_cast<uint8_t>(asym ? v : v ^ 8);  // q in 0..15 -> two's complement int4 q - 8
      };
      out[j / 2] = static_cast<uint8_t>(nib(j) | (nib(j + 1) << 4));
    }
  }
  return out_tensor.t;
}

// Q4_K super-blocks of 256 {f16 d; f16 dmin; u8 scales[12] (6-bit scale and min per 32,
// packed); u8 qs[128]: per 64 elements 32 bytes, low nibbles the first 32, high the next 32;
// value d * sc * q - dmin * m} as accelab's asymmetric uint4 blocks of 32: scale d * sc and
// min -dmin * m, each rounded to f16 (≤ 2^-11 relative; the codes are exact).
accelab_tensor repack_q4_k(Model& model, const GgufTensorInfo& src, int64_t rows, int64_t cols) {
  const int64_t supers = rows * cols / 256;
  const BlockTensor out_tensor = block_tensor(model, ACCELAB_DTYPE_U4, rows, cols);
  uint8_t* codes = out_tensor.codes;
  uint16_t *scales = out_tensor.scales, *mins = out_tensor.mins;
  const auto* in = reinterpret_cast<const uint8_t*>(src.data);
  for (int64_t b = 0; b < supers; ++b) {
    const uint8_t* blk = in + b * 144;
    uint16_t hd, hm;
    std::memcpy(&hd, blk, 2);
    std::memcpy(&hm, blk + 2, 2);
    const float d = cpu::f16_to_f32(hd), dmin = cpu::f16_to_f32(hm);
    const uint8_t* sc = blk + 4;
    const uint8_t* q = blk + 16;
    for (int sub = 0; sub < 8; ++sub) {  // ggml's get_scale_min_k4
      const int scale = sub < 4 ? sc[sub] & 63 : (sc[sub + 4] & 0x0F) | ((sc[sub - 4] >> 6) << 4);
      const int min = sub < 4 ? sc[sub + 4] & 63 : (sc[sub + 4] >> 4) | ((sc[sub] >> 6) << 4);
      scales[b * 8 + sub] = cpu::f32_to_f16(d * static_cast<float>(scale));
      mins[b * 8 + sub] = cpu::f32_to_f16(-dmin * static_cast<float>(min));
      const uint8_t* qs = q + (sub / 2) * 32;
      uint8_t* out = codes + (b * 256 + sub * 32) / 2;
      for (int j = 0; j < 32; j += 2) {
        const int shift = sub % 2 ? 4 : 0;
        out[j / 2] = static_cast<uint8_t>(((qs[j] >> shift) & 0x0F) | (((qs[j + 1] >> shift) & 0x0F) << 4));
      }
    }
  }
  return out_tensor.t;
}

// Q6_K super-blocks of 256 {u8 ql[128]; u8 qh[64]; i8 scales[16] (one per 16); f16 d; value
// d * scale * (q - 32), q six bits} dequantized to F16: their 16-element scales fit none of
// accelab's block formats (blocks are multiples of 32). Rounding ≤ 2^-11 relative.
accelab_tensor dequantize_q6_k(Model& model, const GgufTensorInfo& src, int64_t rows, int64_t cols) {
  const int64_t supers = rows * cols / 256;
  accelab_tensor t = view(ACCELAB_DTYPE_F16, rows, cols, true);
  auto* out = buffer<uint16_t>(model, static_cast<uint64_t>(rows * cols));
  const auto* in = reinterpret_cast<const uint8_t*>(src.data);
  for (int64_t b = 0; b < supers; ++b) {
    const uint8_t* ql = in + b * 210;
    const uint8_t* qh = ql + 128;
    const auto* sc = reinterpret_cast<const int8_t*>(ql + 192);
    uint16_t hd;
    std::memcpy(&hd, ql + 208, 2);
    const float d = cpu::f16_to_f32(hd);
    uint16_t* y = out + b * 256;
    for (int n = 0; n < 2; ++n, ql += 64, qh += 32, sc += 8, y += 128)
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = cpu::f32_to_f16(d * static_cast<float>(sc[is] * q1));
        y[l + 32] = cpu::f32_to_f16(d * static_cast<float>(sc[is + 2] * q2));
        y[l + 64] = cpu::f32_to_f16(d * static_cast<float>(sc[is + 4] * q3));
        y[l + 96] = cpu::f32_to_f16(d * static_cast<float>(sc[is + 6] * q4));
      }
  }
  t.data = out;
  t.nbytes = static_cast<uint64_t>(rows * cols) * 2;
  return t;
}

// A norm weight (1-D) as F32, converted when the file stores it otherwise (not without `data`).
accelab_tensor vector_f32(const GgufFile& g, Model& model, const GgufTensorInfo& src, int64_t n, bool data) {
  accelab_tensor t = view(ACCELAB_DTYPE_F32, 1, n, false);
  t.nbytes = static_cast<uint64_t>(n) * 4;
  if (src.type == kGgmlF32) {
    t.data = const_cast<std::byte*>(src.data);
    return t;
  }
  if (src.type != kGgmlF16 && src.type != kGgmlBF16)
    fail_at(g, src.info_offset, fmt::format("tensor '{}' has type {}; a norm weight must be F32, F16 or BF16", src.name, ggml_type_name(src.type)));
  if (!data) return t;
  float* out = buffer<float>(model, static_cast<uint64_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, src.data + 2 * i, 2);
    out[i] = src.type == kGgmlF16 ? cpu::f16_to_f32(h) : cpu::bf16_to_f32(h);
  }
  t.data = out;
  return t;
}

// A weight matrix as the host holds it; without `data` its description only: what the conversion
// would produce, nothing converted (plan-time skeletons of large quantized files stay cheap).
accelab_tensor matrix(const GgufFile& g, Model& model, const GgufTensorInfo& src, int64_t rows, int64_t cols, bool data) {
  if (!data) {
    switch (src.type) {
      case kGgmlQ8_0: return block_tensor(model, ACCELAB_DTYPE_I8, rows, cols, false).t;
      case kGgmlQ4_0: return block_tensor(model, ACCELAB_DTYPE_I4, rows, cols, false).t;
      case kGgmlQ4_1: case kGgmlQ4_K: return block_tensor(model, ACCELAB_DTYPE_U4, rows, cols, false).t;
      case kGgmlQ6_K: {
        accelab_tensor t = view(ACCELAB_DTYPE_F16, rows, cols, true);
        t.nbytes = static_cast<uint64_t>(rows * cols) * 2;
        return t;
      }
      default: break;  // in place anyway, or rejected below
    }
  }
  switch (src.type) {
    case kGgmlF32: case kGgmlF16: case kGgmlBF16: {
      accelab_tensor t = view(src.type == kGgmlF32 ? ACCELAB_DTYPE_F32 : src.type == kGgmlF16 ? ACCELAB_DTYPE_F16 : ACCELAB_DTYPE_BF16,
                              rows, cols, true);
      t.data = const_cast<std::byte*>(src.data);
      t.nbytes = src.nbytes;
      return t;
    }
    case kGgmlQ8_0: case kGgmlQ4_0: case kGgmlQ4_1: return repack_blocks(model, src, rows, cols);
    case kGgmlQ4_K: return repack_q4_k(model, src, rows, cols);
    case kGgmlQ6_K: return dequantize_q6_k(model, src, rows, cols);
    default:
      fail_at(g, src.info_offset, fmt::format("tensor '{}' has type {}, which accelab does not read (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K and Q6_K are)",
                                              src.name, ggml_type_name(src.type)));
  }
}

// The tensor `name` with GGUF extents {cols} or {cols, rows}.
const GgufTensorInfo& expect(const GgufFile& g, const std::string& name, int64_t rows, int64_t cols, bool is_matrix) {
  const GgufTensorInfo* t = g.tensor(name);
  if (t == nullptr) fail(g, fmt::format("tensor '{}' is missing", name));
  const std::vector<uint64_t> want = is_matrix ? std::vector<uint64_t>{static_cast<uint64_t>(cols), static_cast<uint64_t>(rows)}
                                               : std::vector<uint64_t>{static_cast<uint64_t>(cols)};
  if (t->ne != want)
    fail_at(g, t->info_offset, fmt::format("tensor '{}' has extents [{}] but the metadata implies [{}]", name, fmt::join(t->ne, ", "),
                                           fmt::join(want, ", ")));
  return *t;
}

}  // namespace

accelab_model_config llama_config_from_gguf(const GgufFile& g) {
  const std::string& arch = string(g, "general.architecture");
  if (arch != "llama") fail(g, fmt::format("architecture '{}' is not supported (only 'llama')", arch));
  accelab_model_config c{};
  c.dim = static_cast<int32_t>(integer(g, "llama.embedding_length"));
  c.n_layers = static_cast<int32_t>(integer(g, "llama.block_count"));
  c.n_heads = static_cast<int32_t>(integer(g, "llama.attention.head_count"));
  c.n_kv_heads = static_cast<int32_t>(integer(g, "llama.attention.head_count_kv", c.n_heads));
  c.hidden_dim = static_cast<int32_t>(integer(g, "llama.feed_forward_length"));
  c.seq_len = static_cast<int32_t>(integer(g, "llama.context_length"));
  const GgufTensorInfo* embd = g.tensor("token_embd.weight");
  if (embd == nullptr) fail(g, "tensor 'token_embd.weight' is missing");
  if (embd->ne.size() != 2 || embd->ne[1] > static_cast<uint64_t>(INT32_MAX))
    fail_at(g, embd->info_offset, "tensor 'token_embd.weight' must be a matrix [dim, vocab]");
  c.vocab_size = static_cast<int32_t>(embd->ne[1]);
  c.shared_classifier = g.tensor("output.weight") == nullptr ? 1 : 0;
  if (std::string problem = check_llama_config(c); !problem.empty()) fail(g, fmt::format("invalid llama hyper-parameters: {}", problem));
  complete_llama_config(c);
  c.rms_eps = static_cast<float>(number(g, "llama.attention.layer_norm_rms_epsilon", 1e-5));
  c.rope_theta = static_cast<float>(number(g, "llama.rope.freq_base", 10000.0));
  const int64_t rope_dim = integer(g, "llama.rope.dimension_count", c.head_size);
  if (rope_dim != c.head_size)
    fail(g, fmt::format("llama.rope.dimension_count = {} differs from the head size {}; partial RoPE is not supported", rope_dim, c.head_size));
  if (!(c.rms_eps > 0) || !(c.rope_theta > 0)) fail(g, "the RMS epsilon and RoPE base frequency must be positive");

  return c;
}

std::unique_ptr<Model> model_from_gguf(const GgufFile& g, bool with_data) {
  const accelab_model_config c = llama_config_from_gguf(g);
  auto model = std::make_unique<Model>(g.path, c);
  if (g.file) model->keep(g.file);
  const int64_t dim = c.dim, hidden = c.hidden_dim, kv_dim = int64_t{c.head_size} * c.n_kv_heads;
  auto add_matrix = [&](const std::string& name, int64_t rows, int64_t cols) {
    model->add_tensor(name, matrix(g, *model, expect(g, name, rows, cols, true), rows, cols, with_data));
  };
  auto add_vector = [&](const std::string& name, int64_t n) {
    model->add_tensor(name, vector_f32(g, *model, expect(g, name, 1, n, false), n, with_data));
  };
  add_matrix("token_embd.weight", c.vocab_size, dim);
  for (int32_t l = 0; l < c.n_layers; ++l) {
    add_vector(layer_tensor_name(l, "attn_norm"), dim);
    add_matrix(layer_tensor_name(l, "attn_q"), dim, dim);
    add_matrix(layer_tensor_name(l, "attn_k"), kv_dim, dim);
    add_matrix(layer_tensor_name(l, "attn_v"), kv_dim, dim);
    add_matrix(layer_tensor_name(l, "attn_output"), dim, dim);
    add_vector(layer_tensor_name(l, "ffn_norm"), dim);
    add_matrix(layer_tensor_name(l, "ffn_gate"), hidden, dim);
    add_matrix(layer_tensor_name(l, "ffn_down"), dim, hidden);
    add_matrix(layer_tensor_name(l, "ffn_up"), hidden, dim);
  }
  add_vector("output_norm.weight", dim);
  if (!c.shared_classifier) add_matrix("output.weight", c.vocab_size, dim);
  return model;
}

Tokenizer tokenizer_from_gguf(const GgufFile& g) {
  const std::string& kind = string(g, "tokenizer.ggml.model");
  if (kind != "llama") fail(g, fmt::format("tokenizer.ggml.model '{}' is not supported (only 'llama', SentencePiece BPE)", kind));
  const GgufValue* tokens = g.find("tokenizer.ggml.tokens");
  if (tokens == nullptr) fail(g, "metadata 'tokenizer.ggml.tokens' is missing");
  if (tokens->type != GgufType::array || tokens->element != GgufType::string)
    fail_at(g, tokens->offset, "'tokenizer.ggml.tokens' must be an array of strings");
  std::vector<std::string> pieces;
  pieces.reserve(tokens->items.size());
  for (const GgufValue& t : tokens->items) {
    std::string p;
    for (size_t i = 0; i < t.s.size(); ++i) {
      if (t.s.compare(i, 3, "\xE2\x96\x81") == 0) {  // U+2581, SentencePiece's visible space
        p += ' ';
        i += 2;
      } else {
        p += t.s[i];
      }
    }
    pieces.push_back(std::move(p));
  }
  std::vector<float> scores(pieces.size(), 0.0f);
  if (const GgufValue* s = g.find("tokenizer.ggml.scores")) {
    if (s->type != GgufType::array || s->element != GgufType::f32 || s->items.size() != pieces.size())
      fail_at(g, s->offset, fmt::format("'tokenizer.ggml.scores' must be an array of {} f32", pieces.size()));
    for (size_t i = 0; i < pieces.size(); ++i) scores[i] = static_cast<float>(s->items[i].f);
  }
  const int64_t bos = integer(g, "tokenizer.ggml.bos_token_id", 1), eos = integer(g, "tokenizer.ggml.eos_token_id", 2);
  if (pieces.empty() || bos < 0 || eos < 0 || bos >= static_cast<int64_t>(pieces.size()) || eos >= static_cast<int64_t>(pieces.size()))
    fail(g, fmt::format("the embedded vocabulary ({} tokens) does not hold its BOS ({}) and EOS ({}) ids", pieces.size(), bos, eos));
  return Tokenizer(std::move(pieces), std::move(scores), static_cast<int32_t>(bos), static_cast<int32_t>(eos));
}

}  // namespace accelab
