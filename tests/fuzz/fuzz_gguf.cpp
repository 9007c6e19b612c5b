// Fuzz target for the GGUF reader: parse, then map onto a llama model and tokenizer. Any input
// must end in success or accelab::Error — never a crash, a sanitizer report, or another
// exception. Built with AddressSanitizer and UBSan (tests/fuzz/CMakeLists.txt).
//
// With clang, -DACCELAB_LIBFUZZER=ON links it against libFuzzer (LLVMFuzzerTestOneInput). With
// GCC, the built-in driver below mutates seed files — the shared stories260K GGUF and a small
// GGUF made here — for --seconds S (ctest runs it for a short while on every CI run).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "model/gguf.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace accelab;
  try {
    const GgufFile g = GgufFile::parse("fuzz", reinterpret_cast<const std::byte*>(data), size);
    try {
      model_from_gguf(g);
    } catch (const Error&) {
    }
    try {
      tokenizer_from_gguf(g);
    } catch (const Error&) {
    }
  } catch (const Error&) {
  }
  return 0;
}

#ifndef ACCELAB_LIBFUZZER
namespace {

template <class T>
void put(std::string& s, T v) { s.append(reinterpret_cast<const char*>(&v), sizeof v); }
void str(std::string& s, const std::string& v) {
  put<uint64_t>(s, v.size());
  s += v;
}

// A small but complete llama GGUF: every metadata type, an array of strings, F32 and Q8_0 data.
std::string small_seed() {
  std::string kv, infos;
  int n_kv = 0;
  auto u32 = [&](const char* k, uint32_t v) { str(kv, k); put<uint32_t>(kv, 4); put<uint32_t>(kv, v); ++n_kv; };
  str(kv, "general.architecture"); put<uint32_t>(kv, 8); str(kv, "llama"); ++n_kv;
  u32("llama.embedding_length", 32);
  u32("llama.block_count", 1);
  u32("llama.attention.head_count", 2);
  u32("llama.feed_forward_length", 32);
  u32("llama.context_length", 16);
  str(kv, "llama.attention.layer_norm_rms_epsilon"); put<uint32_t>(kv, 6); put<float>(kv, 1e-5f); ++n_kv;
  str(kv, "tokenizer.ggml.model"); put<uint32_t>(kv, 8); str(kv, "llama"); ++n_kv;
  str(kv, "tokenizer.ggml.tokens"); put<uint32_t>(kv, 9); put<uint32_t>(kv, 8); put<uint64_t>(kv, 4);
  for (const char* t : {"<unk>", "<s>", "</s>", "\xE2\x96\x81" "a"}) str(kv, t);
  ++n_kv;
  str(kv, "tokenizer.ggml.scores"); put<uint32_t>(kv, 9); put<uint32_t>(kv, 6); put<uint64_t>(kv, 4);
  for (int i = 0; i < 4; ++i) put<float>(kv, -static_cast<float>(i));
  ++n_kv;
  str(kv, "flag"); put<uint32_t>(kv, 7); put<uint8_t>(kv, 1); ++n_kv;
  str(kv, "big"); put<uint32_t>(kv, 11); put<int64_t>(kv, -5); ++n_kv;
  std::string data;
  int n_tensors = 0;
  auto tensor = [&](const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t bytes) {
    str(infos, name);
    put<uint32_t>(infos, static_cast<uint32_t>(ne.size()));
    for (uint64_t e : ne) put<uint64_t>(infos, e);
    put<uint32_t>(infos, type);
    put<uint64_t>(infos, data.size());
    for (uint64_t i = 0; i < bytes; ++i) data += static_cast<char>(i * 7);
    while (data.size() % 32) data += '\0';
    ++n_tensors;
  };
  tensor("token_embd.weight", {32, 4}, 8, 4 * 34);
  tensor("blk.0.attn_norm.weight", {32}, 0, 128);
  for (const char* w : {"blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight", "blk.0.attn_output.weight",
                        "blk.0.ffn_gate.weight", "blk.0.ffn_down.weight", "blk.0.ffn_up.weight"})
    tensor(w, {32, 32}, 2, 32 * 18);
  tensor("blk.0.ffn_norm.weight", {32}, 1, 64);
  tensor("output_norm.weight", {32}, 0, 128);
  std::string s = "GGUF";
  put<uint32_t>(s, 3);
  put<uint64_t>(s, static_cast<uint64_t>(n_tensors));
  put<uint64_t>(s, static_cast<uint64_t>(n_kv));
  s += kv + infos;
  while (s.size() % 32) s += '\0';
  return s + data;
}

std::string read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// One to eight random edits: bit flips, byte sets, "interesting" 64-bit values over a field,
// truncation, a copied chunk.
std::string mutate(std::string s, std::mt19937_64& rng) {
  static const uint64_t interesting[] = {0, 1, 2, 31, 32, 33, 255, 256, 0x7FFFFFFF, 0xFFFFFFFF, uint64_t{1} << 32,
                                         uint64_t{1} << 40, uint64_t{1} << 62, ~uint64_t{0}, ~uint64_t{0} / 2};
  const int edits = 1 + static_cast<int>(rng() % 8);
  for (int e = 0; e < edits && !s.empty(); ++e) {
    const size_t at = rng() % s.size();
    switch (rng() % 6) {
      case 0: s[at] = static_cast<char>(s[at] ^ (1 << (rng() % 8))); break;
      case 1: s[at] = static_cast<char>(rng()); break;
      case 2: {
        const uint64_t v = interesting[rng() % std::size(interesting)];
        const size_t width = size_t{1} << (rng() % 4);
        if (at + width <= s.size()) std::memcpy(&s[at], &v, width);
        break;
      }
      case 3: s.resize(at); break;
      case 4: {
        const size_t len = std::min<size_t>(rng() % 64, s.size() - at);
        s.insert(rng() % s.size(), s.substr(at, len));
        break;
      }
      default: {
        // Aim at the header counts and the first strings' lengths, where the lies hurt most.
        const size_t head = 8 + 8 * (rng() % 4);
        const uint64_t v = interesting[rng() % std::size(interesting)];
        if (head + 8 <= s.size()) std::memcpy(&s[head], &v, 8);
      }
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 10;
  std::vector<std::string> seeds{small_seed()};
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else {
      std::string bytes = read_file(argv[i]);
      if (bytes.empty()) std::printf("fuzz_gguf: seed %s missing or empty, skipped\n", argv[i]);
      else seeds.push_back(std::move(bytes));
    }
  }
  for (const std::string& s : seeds) LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  std::mt19937_64 rng(12345);
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  uint64_t runs = 0;
  while (std::chrono::steady_clock::now() < end) {
    const std::string input = mutate(seeds[rng() % seeds.size()], rng);
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
    ++runs;
  }
  std::printf("fuzz_gguf: %llu inputs from %zu seeds in %.0f s, no crash\n", static_cast<unsigned long long>(runs), seeds.size(), seconds);
  return 0;
}
#endif
