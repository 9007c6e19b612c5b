// The llama2.c checkpoint loader: every kind of malformed file is rejected with a one-line
// FileError naming the file and the problem; well-formed files load with the layout of
// ../shared/models/README.md.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"
#include "model/llama2c.hpp"
#include "model/model.hpp"
#include "model/synth.hpp"
#include "util/error.hpp"

namespace accelab {
namespace {

namespace fs = std::filesystem;

constexpr int32_t kInt32Max = std::numeric_limits<int32_t>::max();
constexpr int32_t kInt32Min = std::numeric_limits<int32_t>::min();

std::string data_dir() {
  const char* d = std::getenv("ACCELAB_DATA");
  return d ? d : std::string(ACCELAB_SOURCE_DIR) + "/../shared";
}

// Declares `var` as the path of a shared data file, or skips the test when the file is missing.
#define REQUIRE_DATA_FILE(var, relative)                                \
  const std::string var = data_dir() + "/" + (relative);                \
  if (!fs::is_regular_file(var)) {                                      \
    GTEST_SKIP() << "missing data file " << var                         \
                 << " (set ACCELAB_DATA to the shared data directory)"; \
  }

/// The seven header fields in file order.
using Header = std::array<int32_t, 7>;
enum Field { kDim, kHidden, kLayers, kHeads, kKvHeads, kVocab, kSeq };
constexpr std::array<const char*, 7> kFieldNames = {
    "dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};

/// dim 16, hidden 32, 2 layers, 4 heads (head size 4), 2 kv heads (kv_dim 8), vocab 40, seq 8.
constexpr Header kTiny = {16, 32, 2, 4, 2, 40, 8};
constexpr const char* kTinyShape = "dim=16,hidden=32,layers=2,heads=4,kv-heads=2,vocab=40,seq=8";

/// Floats after the header for a valid `h` (negative vocab: unshared classifier), from the
/// layout in the README, computed independently of the loader.
int64_t body_floats(const Header& h) {
  const int64_t dim = h[kDim], hidden = h[kHidden], layers = h[kLayers];
  const int64_t vocab = h[kVocab] < 0 ? -int64_t{h[kVocab]} : h[kVocab];
  const int64_t head = dim / h[kHeads], kv_dim = head * h[kKvHeads];
  return vocab * dim + layers * (dim + 2 * dim * dim + 2 * kv_dim * dim + dim + 3 * hidden * dim) +
         dim + h[kSeq] * head + (h[kVocab] < 0 ? vocab * dim : 0);
}

/// A header followed by `floats` float32 values; float i holds the value i, so every tensor's
/// first element tells where in the file it starts.
std::string file_bytes(const Header& h, int64_t floats) {
  std::string bytes(sizeof(Header) + static_cast<size_t>(floats) * 4, '\0');
  std::memcpy(bytes.data(), h.data(), sizeof(Header));
  for (int64_t i = 0; i < floats; ++i) {
    const auto v = static_cast<float>(i);
    std::memcpy(bytes.data() + sizeof(Header) + i * 4, &v, 4);
  }
  return bytes;
}

/// A well-formed file for `h`.
std::string file_bytes(const Header& h) {
  return file_bytes(h, body_floats(h));
}

/// `kTiny` with one field replaced.
Header tiny_with(Field f, int32_t value) {
  Header h = kTiny;
  h[f] = value;
  return h;
}

float first_float(const accelab_tensor& t) {
  float v = 0.0f;
  std::memcpy(&v, t.data, 4);
  return v;
}

std::vector<int64_t> shape_of(const accelab_tensor& t) {
  return std::vector<int64_t>(t.shape, t.shape + t.ndim);
}

class Llama2cTest : public ::testing::Test {
 protected:

  std::string write(const std::string& name, const std::string& bytes) { return temp_.write(name, bytes); }

  /// Expects load_llama2c and read_llama2c_header to throw a one-line FileError (exit code 3)
  /// that names the file and contains `what`.
  static void expect_rejected(const std::string& path, const std::string& what) {
    SCOPED_TRACE(path);
    const auto check = [&](const FileError& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind(path, 0), 0U) << "message does not start with the path: " << message;
      EXPECT_NE(message.find(what), std::string::npos) << "'" << what << "' not in: " << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      EXPECT_EQ(e.exit_code(), 3);
    };
    try {
      (void)load_llama2c(path);
      ADD_FAILURE() << "load_llama2c accepted " << path;
    } catch (const FileError& e) {
      check(e);
    }
    try {
      (void)read_llama2c_header(path);
      ADD_FAILURE() << "read_llama2c_header accepted " << path;
    } catch (const FileError& e) {
      check(e);
    }
  }

  /// Writes kTiny with `field` set to `value` (and an otherwise valid body) and expects it to be
  /// rejected with `what`.
  void expect_field_rejected(Field field, int32_t value, const std::string& what) {
    SCOPED_TRACE(std::string(kFieldNames[field]) + " = " + std::to_string(value));
    const std::string name = std::string(kFieldNames[field]) + "_" + std::to_string(value) + ".bin";
    expect_rejected(write(name, file_bytes(tiny_with(field, value), body_floats(kTiny))), what);
  }

  test_support::TempDir temp_{"accelab_test_llama2c"};
  const fs::path& dir_ = temp_.path();
};

// ---------------------------------------------------------------------------------------------
// Malformed files

TEST_F(Llama2cTest, RejectsMissingFile) {
  expect_rejected((dir_ / "does_not_exist.bin").string(), "cannot open");
}

TEST_F(Llama2cTest, RejectsDirectory) {
  // read_llama2c_header cannot tell a directory from an empty file; both must be refused.
  try {
    (void)load_llama2c(dir_.string());
    ADD_FAILURE() << "load_llama2c accepted a directory";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find(dir_.string()), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)read_llama2c_header(dir_.string()), FileError);
}

TEST_F(Llama2cTest, RejectsEmptyFile) {
  expect_rejected(write("empty.bin", ""),
                  "file is 0 bytes, too short for the 28-byte llama2.c header");
}

TEST_F(Llama2cTest, RejectsTruncatedHeader) {
  const std::string header = file_bytes(kTiny, 0);
  expect_rejected(write("27.bin", header.substr(0, 27)), "file is 27 bytes, too short");
  expect_rejected(write("1.bin", header.substr(0, 1)), "file is 1 bytes, too short");
}

TEST_F(Llama2cTest, RejectsTruncatedBody) {
  const std::string bytes = file_bytes(kTiny);
  const auto expected = std::to_string(bytes.size());
  expect_rejected(write("minus1.bin", bytes.substr(0, bytes.size() - 1)),
                  "implies " + expected + " bytes (truncated?)");
  expect_rejected(write("header_only.bin", bytes.substr(0, 28)),
                  "file is 28 bytes but its header (dim=16, hidden_dim=32, n_layers=2, n_heads=4, "
                  "n_kv_heads=2, vocab_size=40, seq_len=8) implies " +
                      expected + " bytes (truncated?)");
}

TEST_F(Llama2cTest, RejectsTrailingBytes) {
  const std::string bytes = file_bytes(kTiny);
  const std::string plus1 = write("plus1.bin", bytes + "x");
  expect_rejected(plus1, "file is " + std::to_string(bytes.size() + 1) + " bytes but");
  expect_rejected(plus1, "implies " + std::to_string(bytes.size()) + " bytes (trailing data?)");
  // A shared-classifier header on an unshared file: exactly one classifier too many.
  Header unshared = kTiny;
  unshared[kVocab] = -kTiny[kVocab];
  expect_rejected(write("shared_header.bin", file_bytes(kTiny, body_floats(unshared))),
                  "(trailing data?)");
}

TEST_F(Llama2cTest, RejectsUnsharedHeaderOnSharedFile) {
  Header unshared = kTiny;
  unshared[kVocab] = -kTiny[kVocab];
  expect_rejected(write("unshared_header.bin", file_bytes(unshared, body_floats(kTiny))),
                  "vocab_size=40 unshared");
}

TEST_F(Llama2cTest, RejectsZeroInEachField) {
  for (Field f : {kDim, kHidden, kLayers, kHeads, kKvHeads, kVocab, kSeq})
    expect_field_rejected(f, 0, std::string(kFieldNames[f]) + " = 0 must be positive");
}

TEST_F(Llama2cTest, RejectsNegativeInEachField) {
  // A negative vocab_size means "unshared classifier", so it has no negative case here.
  for (Field f : {kDim, kHidden, kLayers, kHeads, kKvHeads, kSeq}) {
    expect_field_rejected(f, -1, std::string(kFieldNames[f]) + " = -1 must be positive");
    expect_field_rejected(
        f, kInt32Min,
        std::string(kFieldNames[f]) + " = " + std::to_string(kInt32Min) + " must be positive");
  }
}

TEST_F(Llama2cTest, RejectsHugeValueInEachField) {
  for (Field f : {kDim, kHidden, kLayers, kHeads, kKvHeads, kVocab, kSeq})
    expect_field_rejected(
        f, kInt32Max,
        std::string(kFieldNames[f]) + " = " + std::to_string(kInt32Max) + " exceeds the limit");
  // Negative vocab_size is an unshared classifier of -vocab_size tokens: huge too.
  expect_field_rejected(kVocab, -kInt32Max, "vocab_size = 2147483647 exceeds the limit");
}

TEST_F(Llama2cTest, RejectsVocabInt32Min) {
  // -INT32_MIN does not fit in int32; the loader must not negate it.
  expect_field_rejected(kVocab, kInt32Min, "vocab_size = 0 must be positive");
}

TEST_F(Llama2cTest, RejectsHeadsNotDividingDim) {
  expect_field_rejected(kHeads, 3, "n_heads = 3 does not divide dim = 16");
  expect_field_rejected(kHeads, 32, "n_heads = 32 does not divide dim = 16");
}

TEST_F(Llama2cTest, RejectsKvHeadsNotDividingHeads) {
  expect_field_rejected(kKvHeads, 3, "n_kv_heads = 3 does not divide n_heads = 4");
  expect_field_rejected(kKvHeads, 8, "n_kv_heads = 8 does not divide n_heads = 4");
}

TEST_F(Llama2cTest, RejectsOddHeadSize) {
  Header h = kTiny;
  h[kDim] = 12;  // 12 / 4 heads = head size 3
  expect_rejected(write("odd.bin", file_bytes(h, 1000)), "head size 3 (dim / n_heads) is odd");
}

TEST_F(Llama2cTest, ErrorMessageNamesTheProblemInTheHeader) {
  const std::string path = write("bad.bin", file_bytes(tiny_with(kHeads, 3)));
  try {
    (void)load_llama2c(path);
    FAIL() << "accepted " << path;
  } catch (const FileError& e) {
    EXPECT_EQ(std::string(e.what()),
              path + ": invalid llama2.c header: n_heads = 3 does not divide dim = 16");
  }
}

// ---------------------------------------------------------------------------------------------
// Well-formed files

TEST_F(Llama2cTest, LoadsSyntheticTinyCheckpoint) {
  const std::string path = (dir_ / "tiny.bin").string();
  write_synthetic_llama2c(parse_synth_shape(kTinyShape), 7, path);
  const auto model = load_llama2c(path);
  const accelab_model_config& c = model->config();
  EXPECT_EQ(c.dim, 16);
  EXPECT_EQ(c.hidden_dim, 32);
  EXPECT_EQ(c.n_layers, 2);
  EXPECT_EQ(c.n_heads, 4);
  EXPECT_EQ(c.n_kv_heads, 2);
  EXPECT_EQ(c.head_size, 4);
  EXPECT_EQ(c.rope_dim, 4);
  EXPECT_EQ(c.vocab_size, 40);
  EXPECT_EQ(c.seq_len, 8);
  EXPECT_EQ(c.shared_classifier, 1);
  EXPECT_FLOAT_EQ(c.rms_eps, 1e-5f);
  EXPECT_FLOAT_EQ(c.rope_theta, 10000.0f);
  EXPECT_EQ(model->source(), path);

  // token_embd, 9 tensors per layer, output_norm; no output.weight when shared.
  EXPECT_EQ(model->tensors().size(), 1U + 9U * 2U + 1U);
  const int32_t embd = model->find("token_embd.weight");
  ASSERT_GE(embd, 0);
  EXPECT_EQ(shape_of(model->tensor(embd)), (std::vector<int64_t>{40, 16}));
  const int32_t k1 = model->find("blk.1.attn_k.weight");
  ASSERT_GE(k1, 0);
  EXPECT_EQ(shape_of(model->tensor(k1)), (std::vector<int64_t>{8, 16}));  // {kv_dim, dim}
  EXPECT_EQ(model->find("output.weight"), -1);
  EXPECT_GE(model->find("output_norm.weight"), 0);
  for (const auto& t : model->tensors()) {
    EXPECT_EQ(t.dtype, ACCELAB_DTYPE_F32) << t.name;
    EXPECT_EQ(t.device_type, ACCELAB_DEVICE_CPU) << t.name;
    EXPECT_EQ(t.nbytes, static_cast<uint64_t>(element_count(t)) * 4) << t.name;
  }
  // Everything but the RoPE tables is a weight.
  const int64_t rope_floats = 8 * 4;
  EXPECT_EQ(model->parameter_count(), body_floats(kTiny) - rope_floats);
  EXPECT_EQ(model->weight_bytes(), static_cast<uint64_t>(model->parameter_count()) * 4);
}

TEST_F(Llama2cTest, TensorsFollowTheFileLayout) {
  // Float i of the body holds i, so a tensor's first element is its offset in floats.
  const auto model = load_llama2c(write("layout.bin", file_bytes(kTiny)));
  const int64_t dim = 16, hidden = 32, layers = 2, kv_dim = 8, vocab = 40;
  struct Expect {
    std::string name;
    std::vector<int64_t> shape;
    int64_t offset;
  };
  std::vector<Expect> expected;
  int64_t at = 0;
  expected.push_back({"token_embd.weight", {vocab, dim}, at});
  at += vocab * dim;
  const auto stacked = [&](const std::string& what, std::vector<int64_t> shape) {
    int64_t n = 1;
    for (int64_t s : shape) n *= s;
    for (int64_t l = 0; l < layers; ++l)
      expected.push_back({"blk." + std::to_string(l) + "." + what + ".weight", shape, at + l * n});
    at += layers * n;
  };
  stacked("attn_norm", {dim});
  stacked("attn_q", {dim, dim});
  stacked("attn_k", {kv_dim, dim});
  stacked("attn_v", {kv_dim, dim});
  stacked("attn_output", {dim, dim});
  stacked("ffn_norm", {dim});
  stacked("ffn_gate", {hidden, dim});
  stacked("ffn_down", {dim, hidden});
  stacked("ffn_up", {hidden, dim});
  expected.push_back({"output_norm.weight", {dim}, at});

  ASSERT_EQ(model->tensors().size(), expected.size());
  for (const auto& e : expected) {
    const int32_t i = model->find(e.name);
    ASSERT_GE(i, 0) << e.name;
    EXPECT_EQ(shape_of(model->tensor(i)), e.shape) << e.name;
    EXPECT_EQ(first_float(model->tensor(i)), static_cast<float>(e.offset)) << e.name;
  }
}

TEST_F(Llama2cTest, LoadsUnsharedClassifier) {
  Header h = kTiny;
  h[kVocab] = -40;  // negative: the classifier follows the RoPE tables
  const std::string bytes = file_bytes(h);
  const auto model = load_llama2c(write("unshared.bin", bytes));
  EXPECT_EQ(model->config().vocab_size, 40);
  EXPECT_EQ(model->config().shared_classifier, 0);
  EXPECT_EQ(model->tensors().size(), 1U + 9U * 2U + 2U);
  const int32_t out = model->find("output.weight");
  ASSERT_GE(out, 0);
  EXPECT_EQ(shape_of(model->tensor(out)), (std::vector<int64_t>{40, 16}));
  // The classifier is the last vocab * dim floats of the file.
  EXPECT_EQ(first_float(model->tensor(out)), static_cast<float>(body_floats(h) - 40 * 16));
  EXPECT_NE(model->tensor(out).data, model->tensor(model->find("token_embd.weight")).data);
  EXPECT_EQ(model->parameter_count(), body_floats(h) - 8 * 4);

  const Llama2cHeader header = read_llama2c_header((dir_ / "unshared.bin").string());
  EXPECT_EQ(header.file_bytes, bytes.size());
  EXPECT_EQ(header.config.shared_classifier, 0);
}

TEST_F(Llama2cTest, FileBytesMatchesLayout) {
  Header unshared = kTiny;
  unshared[kVocab] = -40;
  accelab_model_config c = parse_synth_shape(kTinyShape);
  EXPECT_EQ(llama2c_file_bytes(c), 28 + 4 * static_cast<uint64_t>(body_floats(kTiny)));
  c.shared_classifier = 0;
  EXPECT_EQ(llama2c_file_bytes(c), 28 + 4 * static_cast<uint64_t>(body_floats(unshared)));
}

TEST(Llama2cDataTest, LoadsStories260K) {
  REQUIRE_DATA_FILE(path, "models/stories260K.bin");
  const auto model = load_llama2c(path);
  const accelab_model_config& c = model->config();
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.hidden_dim, 172);
  EXPECT_EQ(c.n_layers, 5);
  EXPECT_EQ(c.n_heads, 8);
  EXPECT_EQ(c.n_kv_heads, 4);
  EXPECT_EQ(c.head_size, 8);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.seq_len, 512);
  EXPECT_EQ(c.shared_classifier, 1);
  EXPECT_EQ(model->tensors().size(), 47U);
  EXPECT_EQ(model->find("output.weight"), -1);
  EXPECT_EQ(shape_of(model->tensor(model->find("blk.4.attn_v.weight"))),
            (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(shape_of(model->tensor(model->find("blk.0.ffn_down.weight"))),
            (std::vector<int64_t>{64, 172}));
  // 512*64 embedding + 5 * (2*64 norms + 2*64*64 + 2*32*64 + 3*172*64) + 64 final norm.
  EXPECT_EQ(model->parameter_count(), 260032);
  EXPECT_EQ(model->weight_bytes(), 1040128U);
  EXPECT_EQ(read_llama2c_header(path).file_bytes, 1056540U);
}

}  // namespace
}  // namespace accelab
