// The writers. GGUF layout per the specification: header, metadata, tensor descriptions, padding
// to the alignment, then each tensor's data at an aligned offset.
#include "model/gguf_writer.hpp"

#include <accelab/plugin.hpp>
#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <functional>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "model/gguf.hpp"
#include "model/llama2c.hpp"
#include "util/error.hpp"

namespace accelab {
namespace {

constexpr uint64_t kAlignment = 32;

// An output file written under a temporary name and renamed into place when complete.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path) : path_(std::move(path)), tmp_(path_ + ".partial") {
    out_.open(tmp_, std::ios::binary | std::ios::trunc);
    if (!out_) throw FileError(fmt::format("{}: cannot write", tmp_));
  }
  ~AtomicFile() {
    if (!done_) {
      out_.close();
      std::error_code ec;
      std::filesystem::remove(tmp_, ec);
    }
  }
  void write(const void* p, uint64_t n) { out_.write(static_cast<const char*>(p), static_cast<std::streamsize>(n)); }
  template <class T>
  void put(T v) { write(&v, sizeof v); }
  void str(const std::string& s) {
    put<uint64_t>(s.size());
    write(s.data(), s.size());
  }
  void pad(uint64_t to) {
    static const char zeros[64] = {};
    while (written() % to) write(zeros, std::min<uint64_t>(to - written() % to, sizeof zeros));
  }
  uint64_t written() { return static_cast<uint64_t>(out_.tellp()); }
  void commit() {
    out_.close();
    if (!out_) throw FileError(fmt::format("{}: writing failed", tmp_));
    std::error_code ec;
    std::filesystem::rename(tmp_, path_, ec);
    if (ec) throw FileError(fmt::format("{}: cannot rename into place: {}", path_, ec.message()));
    done_ = true;
  }

 private:
  std::string path_, tmp_;
  std::ofstream out_;
  bool done_ = false;
};

struct OutTensor {
  std::string name;
  std::vector<uint64_t> ne;  // innermost first
  uint32_t type;
  std::vector<uint8_t> bytes;  // when converted
  const void* data = nullptr;  // else in place
  uint64_t nbytes = 0;
};

uint16_t half_at(const void* p, int64_t i) {
  uint16_t h;
  std::memcpy(&h, static_cast<const uint8_t*>(p) + 2 * i, 2);
  return h;
}

// accelab blocks of 32 → ggml blocks (the inverse of gguf_llama.cpp's repack_blocks).
std::vector<uint8_t> to_ggml_blocks(const accelab_tensor& t, int64_t rows, int64_t cols, uint32_t& type) {
  const bool q8 = t.dtype == ACCELAB_DTYPE_I8, asym = t.dtype == ACCELAB_DTYPE_U4;
  type = q8 ? kGgmlQ8_0 : asym ? kGgmlQ4_1 : kGgmlQ4_0;
  const uint64_t block_bytes = q8 ? 34 : asym ? 20 : 18;
  const int64_t blocks = cols / 32;
  std::vector<uint8_t> out(static_cast<size_t>(rows * blocks) * block_bytes);
  const auto* codes = static_cast<const uint8_t*>(t.data);
  for (int64_t b = 0; b < rows * blocks; ++b) {
    uint8_t* blk = out.data() + static_cast<uint64_t>(b) * block_bytes;
    const uint16_t d = half_at(t.quant.scales, b);
    std::memcpy(blk, &d, 2);
    if (asym) {
      const uint16_t m = half_at(t.quant.mins, b);
      std::memcpy(blk + 2, &m, 2);
    }
    uint8_t* q = blk + (asym ? 4 : 2);
    if (q8) {
      std::memcpy(q, codes + b * 32, 32);
      continue;
    }
    const uint8_t* in = codes + b * 16;
    auto code = [&](int e) {
      const int nib = (in[e / 2] >> (4 * (e % 2))) & 0x0F;
      return asym ? nib : nib ^ 8;  // two's complement int4 c -> c + 8 in 0..15
    };
    for (int j = 0; j < 16; ++j) q[j] = static_cast<uint8_t>(code(j) | (code(j + 16) << 4));
  }
  return out;
}

OutTensor out_tensor(const accelab_tensor& t) {
  OutTensor o;
  o.name = t.name;
  if (t.sparsity.layout != ACCELAB_SPARSITY_DENSE) throw ConfigError(fmt::format("tensor '{}' is pruned with a sparse layout, which GGUF cannot hold", o.name));
  const bool matrix = t.ndim == 2;
  const int64_t rows = matrix ? t.shape[0] : 1, cols = matrix ? t.shape[1] : t.shape[0];
  o.ne = matrix ? std::vector<uint64_t>{static_cast<uint64_t>(cols), static_cast<uint64_t>(rows)} : std::vector<uint64_t>{static_cast<uint64_t>(cols)};
  switch (t.dtype) {
    case ACCELAB_DTYPE_F32: o.type = kGgmlF32; break;
    case ACCELAB_DTYPE_F16: o.type = kGgmlF16; break;
    case ACCELAB_DTYPE_BF16: o.type = kGgmlBF16; break;
    case ACCELAB_DTYPE_I8: case ACCELAB_DTYPE_I4: case ACCELAB_DTYPE_U4: {
      const bool sym = t.quant.scheme == ACCELAB_QUANT_SCHEME_SYMMETRIC, asym = t.quant.scheme == ACCELAB_QUANT_SCHEME_ASYMMETRIC;
      if (t.quant.block_size != 32 || t.quant.scale_dtype != ACCELAB_DTYPE_F16 || cols % 32 != 0 ||
          (t.dtype == ACCELAB_DTYPE_U4 ? !asym : !sym))
        throw ConfigError(fmt::format("tensor '{}': GGUF's Q8_0/Q4_0/Q4_1 need blocks of 32 with f16 scales along rows that are a multiple "
                                      "of 32 (this one: block {}, {} scales, {} columns); quantize with block=32, scales=f16 and leave such "
                                      "tensors out (exclude=...)",
                                      o.name, t.quant.block_size, dtype_name(t.quant.scale_dtype), cols));
      o.bytes = to_ggml_blocks(t, rows, cols, o.type);
      o.nbytes = o.bytes.size();
      return o;
    }
    default: throw ConfigError(fmt::format("tensor '{}' has a type GGUF export does not write", o.name));
  }
  o.data = t.data;
  o.nbytes = t.nbytes;
  return o;
}

// SentencePiece's visible space for GGUF vocabularies.
std::string to_sentencepiece(const std::string& piece) {
  std::string out;
  for (char ch : piece) out += ch == ' ' ? std::string("\xE2\x96\x81") : std::string(1, ch);
  return out;
}

bool is_byte_piece(const std::string& p) {
  return p.size() == 6 && p.compare(0, 3, "<0x") == 0 && p[5] == '>' && std::isxdigit(static_cast<unsigned char>(p[3])) &&
         std::isxdigit(static_cast<unsigned char>(p[4]));
}

}  // namespace

void write_gguf(const Model& model, const Tokenizer& tokenizer, const std::string& name, const std::string& path,
                const std::vector<float>& freq_cis_real, const std::vector<float>& freq_cis_imag) {
  const accelab_model_config& c = model.config();
  std::vector<OutTensor> tensors;
  for (const accelab_tensor& t : model.tensors()) tensors.push_back(out_tensor(t));

  AtomicFile f(path);
  uint64_t kv = 0;
  std::vector<std::function<void()>> entries;
  auto key = [&](const std::string& k, uint32_t type, std::function<void()> value) {
    ++kv;
    entries.push_back([&f, k, type, value] {
      f.str(k);
      f.put<uint32_t>(type);
      value();
    });
  };
  auto u32 = [&](const std::string& k, uint32_t v) { key(k, 4, [&f, v] { f.put<uint32_t>(v); }); };
  auto f32 = [&](const std::string& k, float v) { key(k, 6, [&f, v] { f.put<float>(v); }); };
  auto str = [&](const std::string& k, const std::string& v) { key(k, 8, [&f, v] { f.str(v); }); };
  str("general.architecture", "llama");
  str("general.name", name);
  u32("general.alignment", kAlignment);
  u32("llama.context_length", static_cast<uint32_t>(c.seq_len));
  u32("llama.embedding_length", static_cast<uint32_t>(c.dim));
  u32("llama.block_count", static_cast<uint32_t>(c.n_layers));
  u32("llama.feed_forward_length", static_cast<uint32_t>(c.hidden_dim));
  u32("llama.rope.dimension_count", static_cast<uint32_t>(c.rope_dim));
  u32("llama.attention.head_count", static_cast<uint32_t>(c.n_heads));
  u32("llama.attention.head_count_kv", static_cast<uint32_t>(c.n_kv_heads));
  f32("llama.attention.layer_norm_rms_epsilon", c.rms_eps);
  f32("llama.rope.freq_base", c.rope_theta);
  u32("llama.vocab_size", static_cast<uint32_t>(c.vocab_size));
  str("tokenizer.ggml.model", "llama");
  const int32_t n = tokenizer.vocab_size();
  key("tokenizer.ggml.tokens", 9, [&] {
    f.put<uint32_t>(8);
    f.put<uint64_t>(static_cast<uint64_t>(n));
    for (int32_t i = 0; i < n; ++i) f.str(to_sentencepiece(tokenizer.piece(i)));
  });
  key("tokenizer.ggml.scores", 9, [&] {
    f.put<uint32_t>(6);
    f.put<uint64_t>(static_cast<uint64_t>(n));
    for (int32_t i = 0; i < n; ++i) f.put<float>(tokenizer.score(i));
  });
  key("tokenizer.ggml.token_type", 9, [&] {  // llama.cpp: 1 normal, 2 unknown, 3 control, 6 byte
    f.put<uint32_t>(5);
    f.put<uint64_t>(static_cast<uint64_t>(n));
    for (int32_t i = 0; i < n; ++i)
      f.put<int32_t>(i == 0 ? 2 : i == tokenizer.bos_id() || i == tokenizer.eos_id() ? 3 : is_byte_piece(tokenizer.piece(i)) ? 6 : 1);
  });
  u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(tokenizer.bos_id()));
  u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(tokenizer.eos_id()));
  auto floats = [&](const std::string& k, const std::vector<float>& v) {
    key(k, 9, [&f, &v] {
      f.put<uint32_t>(6);
      f.put<uint64_t>(v.size());
      f.write(v.data(), v.size() * 4);
    });
  };
  if (!freq_cis_real.empty()) {
    floats("accelab.llama2c.freq_cis_real", freq_cis_real);
    floats("accelab.llama2c.freq_cis_imag", freq_cis_imag);
  }

  f.write("GGUF", 4);
  f.put<uint32_t>(3);
  f.put<uint64_t>(tensors.size());
  f.put<uint64_t>(kv);
  for (auto& e : entries) e();
  uint64_t offset = 0;
  for (const OutTensor& t : tensors) {
    f.str(t.name);
    f.put<uint32_t>(static_cast<uint32_t>(t.ne.size()));
    for (uint64_t e : t.ne) f.put<uint64_t>(e);
    f.put<uint32_t>(t.type);
    f.put<uint64_t>(offset);
    offset = (offset + t.nbytes + kAlignment - 1) / kAlignment * kAlignment;
  }
  f.pad(kAlignment);
  for (const OutTensor& t : tensors) {
    f.write(t.bytes.empty() ? t.data : t.bytes.data(), t.nbytes);
    f.pad(kAlignment);
  }
  f.commit();
}

void llama2c_freq_cis(const std::string& path, std::vector<float>& real, std::vector<float>& imag) {
  real.clear();
  imag.clear();
  if (is_gguf_file(path)) {
    const GgufFile g = GgufFile::open(path);
    auto read = [&](const char* key, std::vector<float>& v) {
      if (const GgufValue* a = g.find(key); a && a->type == GgufType::array && a->element == GgufType::f32)
        for (const GgufValue& x : a->items) v.push_back(static_cast<float>(x.f));
    };
    read("accelab.llama2c.freq_cis_real", real);
    read("accelab.llama2c.freq_cis_imag", imag);
    return;
  }
  const Llama2cHeader h = read_llama2c_header(path);
  const accelab_model_config& c = h.config;
  const uint64_t half = static_cast<uint64_t>(c.seq_len) * static_cast<uint64_t>(c.head_size / 2);
  const uint64_t tail = (c.shared_classifier ? 0 : static_cast<uint64_t>(c.vocab_size) * c.dim) * 4;
  const uint64_t at = h.file_bytes - tail - 2 * half * 4;
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(at));
  real.resize(half);
  imag.resize(half);
  in.read(reinterpret_cast<char*>(real.data()), static_cast<std::streamsize>(half * 4));
  in.read(reinterpret_cast<char*>(imag.data()), static_cast<std::streamsize>(half * 4));
  if (!in) throw FileError(fmt::format("{}: cannot read its RoPE tables", path));
}

void write_llama2c(const Model& model, const std::string& path, const std::vector<float>& freq_cis_real,
                   const std::vector<float>& freq_cis_imag) {
  const accelab_model_config& c = model.config();
  for (const accelab_tensor& t : model.tensors())
    if (t.dtype != ACCELAB_DTYPE_F32)
      throw ConfigError(fmt::format("tensor '{}' is not float32: a llama2.c checkpoint holds float32 only (convert to GGUF instead)", t.name));
  AtomicFile f(path);
  const int32_t header[7] = {c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads,
                             c.shared_classifier ? c.vocab_size : -c.vocab_size, c.seq_len};
  f.write(header, sizeof header);
  auto tensor = [&](const std::string& name) {
    const int32_t i = model.find(name);
    if (i < 0) throw ConfigError(fmt::format("{}: tensor '{}' is missing", model.source(), name));
    const accelab_tensor& t = model.tensor(i);
    f.write(t.data, t.nbytes);
  };
  auto layers = [&](const char* what) {
    for (int32_t l = 0; l < c.n_layers; ++l) tensor(layer_tensor_name(l, what));
  };
  tensor("token_embd.weight");
  for (const char* w : {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_down", "ffn_up"}) layers(w);
  tensor("output_norm.weight");
  const uint64_t half = static_cast<uint64_t>(c.seq_len) * static_cast<uint64_t>(c.head_size / 2);
  if (freq_cis_real.size() == half && freq_cis_imag.size() == half) {
    f.write(freq_cis_real.data(), half * 4);
    f.write(freq_cis_imag.data(), half * 4);
  } else {  // as llama2.c's export.py: cos/sin of t * theta^(-2i/head_size), float32
    std::vector<float> re(half), im(half);
    for (int64_t t = 0; t < c.seq_len; ++t)
      for (int64_t i = 0; i < c.head_size / 2; ++i) {
        const float freq = 1.0f / std::pow(c.rope_theta, static_cast<float>(2 * i) / static_cast<float>(c.head_size));
        const float angle = static_cast<float>(t) * freq;
        re[static_cast<size_t>(t * (c.head_size / 2) + i)] = std::cos(angle);
        im[static_cast<size_t>(t * (c.head_size / 2) + i)] = std::sin(angle);
      }
    f.write(re.data(), half * 4);
    f.write(im.data(), half * 4);
  }
  if (!c.shared_classifier) tensor("output.weight");
  f.commit();
}

}  // namespace accelab
