// The GGUF reader against files built here byte by byte: every field that can lie (counts,
// lengths, dimensions, types, offsets, alignment) is made to lie once, and each lie must be a
// one-line FileError naming the byte offset — never a crash or an allocation the file cannot
// back. Plus the shared stories260K GGUF against its llama2.c checkpoint, tensor by tensor.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <filesystem>
#include <string>
#include <vector>

#include "accelab_cpu/kernels.hpp"
#include "accelab_cpu/quant.hpp"
#include "model/gguf.hpp"
#include "model/llama2c.hpp"
#include "support/shared_data.hpp"
#include "util/error.hpp"

namespace accelab {
namespace {

// A GGUF under construction: header counts are patched in by bytes().
struct Builder {
  std::string meta, infos, data;
  uint64_t n_kv = 0, n_tensors = 0;
  uint32_t version = 3;

  template <class T>
  static void put(std::string& s, T v) { s.append(reinterpret_cast<const char*>(&v), sizeof v); }
  static void str(std::string& s, const std::string& v) {
    put<uint64_t>(s, v.size());
    s += v;
  }
  Builder& kv_str(const std::string& k, const std::string& v) {
    str(meta, k);
    put<uint32_t>(meta, 8);
    str(meta, v);
    ++n_kv;
    return *this;
  }
  Builder& kv_u32(const std::string& k, uint32_t v) {
    str(meta, k);
    put<uint32_t>(meta, 4);
    put<uint32_t>(meta, v);
    ++n_kv;
    return *this;
  }
  Builder& tensor(const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
    str(infos, name);
    put<uint32_t>(infos, static_cast<uint32_t>(ne.size()));
    for (uint64_t e : ne) put<uint64_t>(infos, e);
    put<uint32_t>(infos, type);
    put<uint64_t>(infos, offset);
    ++n_tensors;
    return *this;
  }
  [[nodiscard]] std::string bytes() const {
    std::string s = "GGUF";
    put<uint32_t>(s, version);
    put<uint64_t>(s, n_tensors);
    put<uint64_t>(s, n_kv);
    s += meta + infos;
    while (s.size() % 32) s += '\0';
    return s + data;
  }
};

GgufFile parse(const std::string& bytes) {
  return GgufFile::parse("t.gguf", reinterpret_cast<const std::byte*>(bytes.data()), bytes.size());
}

// The FileError message of parsing `bytes`, or "(parsed)".
std::string error_of(const std::string& bytes) {
  try {
    parse(bytes);
  } catch (const FileError& e) {
    return e.what();
  }
  return "(parsed)";
}

::testing::AssertionResult Rejected(const std::string& bytes, const std::string& fragment) {
  const std::string msg = error_of(bytes);
  if (msg == "(parsed)") return ::testing::AssertionFailure() << "parsed; expected an error with '" << fragment << "'";
  if (msg.rfind("t.gguf: byte ", 0) != 0) return ::testing::AssertionFailure() << "no byte offset: " << msg;
  if (msg.find('\n') != std::string::npos) return ::testing::AssertionFailure() << "not one line: " << msg;
  if (msg.find(fragment) == std::string::npos) return ::testing::AssertionFailure() << "'" << fragment << "' not in: " << msg;
  return ::testing::AssertionSuccess();
}

Builder one_tensor() {
  Builder b;
  b.kv_str("general.architecture", "llama").tensor("w", {8, 2}, 0, 0);
  b.data.assign(64, '\0');
  return b;
}

TEST(Gguf, WellFormedFileParses) {
  const GgufFile g = parse(one_tensor().bytes());
  EXPECT_EQ(g.version, 3u);
  ASSERT_EQ(g.tensors.size(), 1u);
  EXPECT_EQ(g.tensors[0].nbytes, 64u);
  EXPECT_EQ(g.tensors[0].ne, (std::vector<uint64_t>{8, 2}));
  EXPECT_EQ(g.find("general.architecture")->s, "llama");
  Builder v2 = one_tensor();
  v2.version = 2;
  EXPECT_EQ(parse(v2.bytes()).version, 2u);
}

TEST(Gguf, HeaderLiesAreRejected) {
  EXPECT_TRUE(Rejected("GGUX" + std::string(40, '\0'), "no \"GGUF\" magic"));
  Builder b = one_tensor();
  b.version = 1;
  EXPECT_TRUE(Rejected(b.bytes(), "GGUF version 1 is not supported"));
  b.version = 0x03000000;  // a big-endian file
  EXPECT_TRUE(Rejected(b.bytes(), "big-endian"));
  b = one_tensor();
  b.n_tensors = uint64_t{1} << 60;
  EXPECT_TRUE(Rejected(b.bytes(), "byte 8: tensor count 1152921504606846976 is more than"));
  b = one_tensor();
  b.n_kv = 1u << 30;
  EXPECT_TRUE(Rejected(b.bytes(), "byte 16: metadata count"));
  EXPECT_TRUE(Rejected(one_tensor().bytes().substr(0, 20), "the file ends inside the metadata count"));
}

TEST(Gguf, MetadataLiesAreRejected) {
  Builder b;
  Builder::str(b.meta, "k");
  Builder::put<uint32_t>(b.meta, 8);
  Builder::put<uint64_t>(b.meta, uint64_t{1} << 62);  // a string longer than the file
  b.n_kv = 1;
  EXPECT_TRUE(Rejected(b.bytes(), "the value of 'k' is 4611686018427387904 bytes long but only"));
  b = Builder();
  Builder::str(b.meta, "a");
  Builder::put<uint32_t>(b.meta, 9);
  Builder::put<uint32_t>(b.meta, 4);
  Builder::put<uint64_t>(b.meta, uint64_t{1} << 40);  // an array of u32 longer than the file
  b.n_kv = 1;
  EXPECT_TRUE(Rejected(b.bytes(), "claims 1099511627776 elements of type u32"));
  // Backed by the file, but 100x its size in memory: refused.
  b = Builder();
  Builder::str(b.meta, "many");
  Builder::put<uint32_t>(b.meta, 9);
  Builder::put<uint32_t>(b.meta, 0);
  Builder::put<uint64_t>(b.meta, (uint64_t{1} << 22) + 1);
  b.meta += std::string((size_t{1} << 22) + 1, '\0');
  b.n_kv = 1;
  EXPECT_TRUE(Rejected(b.bytes(), "beyond the limit of 4194304"));
  b = Builder();
  Builder::str(b.meta, "t");
  Builder::put<uint32_t>(b.meta, 13);
  b.n_kv = 1;
  EXPECT_TRUE(Rejected(b.bytes(), "metadata 't' has unknown type 13"));
  b = Builder();
  b.kv_u32("x", 1).kv_u32("x", 2);
  EXPECT_TRUE(Rejected(b.bytes(), "metadata key 'x' appears twice"));
  b = one_tensor();
  b.kv_u32("general.alignment", 24);
  EXPECT_TRUE(Rejected(b.bytes(), "general.alignment must be an unsigned power of two"));
  // Arrays nested without end would recurse without end.
  b = Builder();
  Builder::str(b.meta, "deep");
  Builder::put<uint32_t>(b.meta, 9);  // an array…
  for (int i = 0; i < 5; ++i) {       // …of one array, five levels down…
    Builder::put<uint32_t>(b.meta, 9);
    Builder::put<uint64_t>(b.meta, 1);
  }
  Builder::put<uint32_t>(b.meta, 4);  // …of one u32
  Builder::put<uint64_t>(b.meta, 1);
  Builder::put<uint32_t>(b.meta, 7);
  b.meta += std::string(64, '\0');
  b.n_kv = 1;
  EXPECT_TRUE(Rejected(b.bytes(), "nests arrays deeper than"));
}

TEST(Gguf, TensorLiesAreRejected) {
  auto with = [](const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
    Builder b;
    b.tensor(name, std::move(ne), type, offset);
    b.data.assign(64, '\0');
    return b.bytes();
  };
  EXPECT_TRUE(Rejected(with("w", {}, 0, 0), "tensor 'w' has 0 dimensions"));
  EXPECT_TRUE(Rejected(with("w", {1, 1, 1, 1, 1}, 0, 0), "tensor 'w' has 5 dimensions"));
  EXPECT_TRUE(Rejected(with("w", {0, 4}, 0, 0), "extent 0 in dimension 0"));
  EXPECT_TRUE(Rejected(with("w", {uint64_t{1} << 40, uint64_t{1} << 40}, 0, 0), "too large"));
  EXPECT_TRUE(Rejected(with("w", {8}, 99, 0), "tensor 'w' has unknown type 99"));
  EXPECT_TRUE(Rejected(with("w", {40}, 8, 0), "type Q8_0 has rows of 40 elements, not a multiple of its block of 32"));
  EXPECT_TRUE(Rejected(with("w", {8}, 0, 16), "starts at data offset 16, not a multiple of the alignment 32"));
  EXPECT_TRUE(Rejected(with("w", {64}, 0, 0), "tensor 'w' (256 bytes at data offset 0) runs past the end of the file"));
  EXPECT_TRUE(Rejected(with("w", {8}, 0, uint64_t{1} << 63), "runs past the end"));
  Builder b;
  b.tensor("w", {8}, 0, 0).tensor("w", {8}, 0, 32);
  b.data.assign(64, '\0');
  EXPECT_TRUE(Rejected(b.bytes(), "tensor 'w' appears twice"));
  b = Builder();
  b.tensor(std::string(300, 'n'), {8}, 0, 0);
  EXPECT_TRUE(Rejected(b.bytes(), "is 300 bytes long (at most 256 allowed)"));
}

TEST(Gguf, EveryTruncationIsAnErrorNotACrash) {
  const std::string whole = one_tensor().bytes();
  for (size_t n = 0; n < whole.size(); ++n) {
    const std::string msg = error_of(whole.substr(0, n));
    EXPECT_NE(msg, "(parsed)") << "parsed a file cut to " << n << " bytes";
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
}

TEST(Gguf, ModelMappingRejectsWhatItCannotRun) {
  Builder b = one_tensor();
  auto model_error = [](const std::string& bytes) {
    try {
      model_from_gguf(parse(bytes));
    } catch (const FileError& e) {
      return std::string(e.what());
    }
    return std::string("(loaded)");
  };
  EXPECT_NE(model_error(b.bytes()).find("metadata 'llama.embedding_length' is missing"), std::string::npos);
  Builder gpt;
  gpt.kv_str("general.architecture", "gpt2");
  EXPECT_NE(model_error(gpt.bytes()).find("architecture 'gpt2' is not supported"), std::string::npos);
}

// ggml's reference dequantization (ggml-quants.c), written out here independently of the reader.
float f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return cpu::f16_to_f32(h);
}
void ref_q4_k(const uint8_t* x, float* y) {
  const float d = f16(x), dmin = f16(x + 2);
  const uint8_t* scales = x + 4;
  const uint8_t* q = x + 16;
  auto get = [&](int j, int& sc, int& m) {
    if (j < 4) {
      sc = scales[j] & 63;
      m = scales[j + 4] & 63;
    } else {
      sc = (scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4);
      m = (scales[j + 4] >> 4) | ((scales[j - 0] >> 6) << 4);
    }
  };
  int is = 0;
  for (int j = 0; j < 256; j += 64) {
    int sc, m;
    get(is + 0, sc, m);
    const float d1 = d * sc, m1 = dmin * m;
    get(is + 1, sc, m);
    const float d2 = d * sc, m2 = dmin * m;
    for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
    q += 32;
    is += 2;
  }
}
void ref_q6_k(const uint8_t* x, float* y) {
  const uint8_t* ql = x;
  const uint8_t* qh = x + 128;
  const auto* sc = reinterpret_cast<const int8_t*>(x + 192);
  const float d = f16(x + 208);
  for (int n = 0; n < 256; n += 128) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int8_t q1 = static_cast<int8_t>(((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
      const int8_t q2 = static_cast<int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
      const int8_t q3 = static_cast<int8_t>(((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
      const int8_t q4 = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
      y[l + 0] = d * sc[is + 0] * q1;
      y[l + 32] = d * sc[is + 2] * q2;
      y[l + 64] = d * sc[is + 4] * q3;
      y[l + 96] = d * sc[is + 6] * q4;
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

// A one-layer llama GGUF of width 256 whose attn_q is Q4_K and ffn_up Q6_K (random bytes, sane
// f16 super-block scales); everything else F32 zeros.
std::string k_quant_model(std::string& q4k, std::string& q6k) {
  std::mt19937 rng(5);
  auto random_bytes = [&](size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
  };
  const uint16_t d = cpu::f32_to_f16(0.01f), dmin = cpu::f32_to_f16(0.003f);
  q4k.clear();
  for (int b = 0; b < 256; ++b) {  // 256 rows x 1 super-block
    std::string blk = random_bytes(144);
    std::memcpy(&blk[0], &d, 2);
    std::memcpy(&blk[2], &dmin, 2);
    q4k += blk;
  }
  q6k.clear();
  for (int b = 0; b < 256; ++b) {
    std::string blk = random_bytes(210);
    std::memcpy(&blk[208], &d, 2);
    q6k += blk;
  }
  Builder g;
  g.kv_str("general.architecture", "llama").kv_u32("llama.embedding_length", 256).kv_u32("llama.block_count", 1);
  g.kv_u32("llama.attention.head_count", 2).kv_u32("llama.feed_forward_length", 256).kv_u32("llama.context_length", 8);
  auto add = [&](const std::string& name, std::vector<uint64_t> ne, uint32_t type, const std::string& bytes) {
    g.tensor(name, std::move(ne), type, g.data.size());
    g.data += bytes;
    while (g.data.size() % 32) g.data += '\0';
  };
  const std::string zeros_matrix(256 * 256 * 4, '\0'), zeros_vector(256 * 4, '\0');
  add("token_embd.weight", {256, 4}, 0, std::string(256 * 4 * 4, '\0'));
  add("blk.0.attn_norm.weight", {256}, 0, zeros_vector);
  add("blk.0.attn_q.weight", {256, 256}, 12, q4k);
  for (const char* w : {"blk.0.attn_k.weight", "blk.0.attn_v.weight", "blk.0.attn_output.weight", "blk.0.ffn_gate.weight",
                        "blk.0.ffn_down.weight"})
    add(w, {256, 256}, 0, zeros_matrix);
  add("blk.0.ffn_up.weight", {256, 256}, 14, q6k);
  add("blk.0.ffn_norm.weight", {256}, 0, zeros_vector);
  add("output_norm.weight", {256}, 0, zeros_vector);
  return g.bytes();
}

TEST(Gguf, KQuantsMatchGgmlsDequantization) {
  std::string q4k, q6k;
  const std::string bytes = k_quant_model(q4k, q6k);
  const auto model = model_from_gguf(parse(bytes));
  const accelab_tensor& q = model->tensor(model->find("blk.0.attn_q.weight"));
  ASSERT_EQ(q.dtype, ACCELAB_DTYPE_U4);
  ASSERT_EQ(q.quant.block_size, 32u);
  const cpu::QuantSource src{cpu::QuantFormat::q4_asym, q.data, static_cast<const uint16_t*>(q.quant.scales),
                             static_cast<const uint16_t*>(q.quant.mins), 256, 256, 32};
  const accelab_tensor& up = model->tensor(model->find("blk.0.ffn_up.weight"));
  ASSERT_EQ(up.dtype, ACCELAB_DTYPE_F16);
  std::vector<float> want(256);
  for (int r = 0; r < 256; ++r) {
    ref_q4_k(reinterpret_cast<const uint8_t*>(q4k.data()) + r * 144, want.data());
    for (int c = 0; c < 256; ++c) {
      // The scale and min products are rounded to f16: a relative 2^-11 of each term.
      const double tol = 1e-3 * (std::fabs(want[c]) + 0.01 * 63 * 15 + 0.003 * 63);
      ASSERT_NEAR(cpu::dequantize(src, r, c), want[c], tol) << "Q4_K r=" << r << " c=" << c;
    }
    ref_q6_k(reinterpret_cast<const uint8_t*>(q6k.data()) + r * 210, want.data());
    for (int c = 0; c < 256; ++c) {
      const float got = cpu::f16_to_f32(static_cast<const uint16_t*>(up.data)[r * 256 + c]);
      ASSERT_NEAR(got, want[c], 1e-3 * std::fabs(want[c]) + 1e-7) << "Q6_K r=" << r << " c=" << c;
    }
  }
}

TEST(Gguf, SkeletonDescribesTheConvertedTensorsWithoutConverting) {
  std::string q4k, q6k;
  const std::string bytes = k_quant_model(q4k, q6k);
  const auto full = model_from_gguf(parse(bytes));
  const auto skeleton = model_from_gguf(parse(bytes), false);
  ASSERT_EQ(skeleton->tensors().size(), full->tensors().size());
  for (size_t i = 0; i < full->tensors().size(); ++i) {
    const accelab_tensor &a = full->tensors()[i], &b = skeleton->tensors()[i];
    SCOPED_TRACE(a.name);
    EXPECT_EQ(b.dtype, a.dtype);
    EXPECT_EQ(b.nbytes, a.nbytes);
    EXPECT_EQ(b.quant.scheme, a.quant.scheme);
    EXPECT_EQ(b.quant.block_size, a.quant.block_size);
    EXPECT_EQ(b.quant.bits, a.quant.bits);
    EXPECT_EQ(tensor_storage_bytes(b), tensor_storage_bytes(a));
  }
  // The converted ones (Q4_K repacked, Q6_K dequantized) have no data; F32 stays in place.
  EXPECT_EQ(skeleton->tensor(skeleton->find("blk.0.attn_q.weight")).data, nullptr);
  EXPECT_EQ(skeleton->tensor(skeleton->find("blk.0.attn_q.weight")).quant.scales, nullptr);
  EXPECT_EQ(skeleton->tensor(skeleton->find("blk.0.ffn_up.weight")).data, nullptr);
  EXPECT_NE(skeleton->tensor(skeleton->find("blk.0.attn_k.weight")).data, nullptr);
}

TEST(Gguf, SharedStoriesGgufEqualsItsLlama2cCheckpoint) {
  const std::string gguf = test_support::data_path("models/stories260K-f32.gguf");
  const std::string bin = test_support::data_path("models/stories260K.bin");
  if (!std::filesystem::is_regular_file(gguf) || !std::filesystem::is_regular_file(bin))
    GTEST_SKIP() << gguf << " or " << bin << " is missing (set ACCELAB_DATA to the shared data directory)";
  const auto a = model_from_gguf(GgufFile::open(gguf));
  const auto b = load_llama2c(bin);
  const accelab_model_config& ca = a->config();
  const accelab_model_config& cb = b->config();
  EXPECT_EQ(ca.dim, cb.dim);
  EXPECT_EQ(ca.hidden_dim, cb.hidden_dim);
  EXPECT_EQ(ca.n_layers, cb.n_layers);
  EXPECT_EQ(ca.n_kv_heads, cb.n_kv_heads);
  EXPECT_EQ(ca.vocab_size, cb.vocab_size);
  EXPECT_EQ(ca.rms_eps, cb.rms_eps);
  EXPECT_EQ(ca.rope_theta, cb.rope_theta);
  for (const accelab_tensor& t : b->tensors()) {
    const int32_t i = a->find(t.name);
    ASSERT_GE(i, 0) << t.name;
    const accelab_tensor& u = a->tensor(i);
    ASSERT_EQ(u.nbytes, t.nbytes) << t.name;
    EXPECT_EQ(std::memcmp(u.data, t.data, t.nbytes), 0) << t.name;
  }
  // The GGUF stores the classifier separately (a copy of the embedding).
  ASSERT_GE(a->find("output.weight"), 0);
  const Tokenizer tok = tokenizer_from_gguf(GgufFile::open(gguf));
  EXPECT_EQ(tok.vocab_size(), 512);
  EXPECT_EQ(tok.encode("Once upon a time", true, false),
            Tokenizer::load(test_support::data_path("models/tok512.bin"), 512).encode("Once upon a time", true, false));
}

}  // namespace
}  // namespace accelab
