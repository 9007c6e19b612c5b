// Synthetic checkpoints: shape parsing (presets, custom shapes, one-line UsageErrors) and
// deterministic, atomically written files that load back as llama2.c checkpoints.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"
#include "model/llama2c.hpp"
#include "model/model.hpp"
#include "model/synth.hpp"
#include "util/error.hpp"
#include "util/sha256.hpp"

namespace accelab {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTinyShape = "dim=16,hidden=32,layers=2,heads=4,kv-heads=2,vocab=40,seq=8";

struct Shape {
  int32_t dim, hidden, layers, heads, kv_heads, vocab, seq;
};

void expect_shape(const accelab_model_config& c, const Shape& s) {
  EXPECT_EQ(c.dim, s.dim);
  EXPECT_EQ(c.hidden_dim, s.hidden);
  EXPECT_EQ(c.n_layers, s.layers);
  EXPECT_EQ(c.n_heads, s.heads);
  EXPECT_EQ(c.n_kv_heads, s.kv_heads);
  EXPECT_EQ(c.vocab_size, s.vocab);
  EXPECT_EQ(c.seq_len, s.seq);
  EXPECT_EQ(c.head_size, s.dim / s.heads);
  EXPECT_EQ(c.rope_dim, s.dim / s.heads);
  EXPECT_EQ(c.shared_classifier, 1);
  EXPECT_FLOAT_EQ(c.rms_eps, 1e-5f);
  EXPECT_FLOAT_EQ(c.rope_theta, 10000.0f);
}

/// Expects parse_synth_shape(text) to throw a one-line UsageError (exit code 2) containing `what`.
void expect_usage_error(const std::string& text, const std::string& what) {
  SCOPED_TRACE("shape '" + text + "'");
  try {
    (void)parse_synth_shape(text);
    ADD_FAILURE() << "accepted";
  } catch (const UsageError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(what), std::string::npos) << "'" << what << "' not in: " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_EQ(e.exit_code(), 2);
  }
}

// ---------------------------------------------------------------------------------------------
// Shapes

TEST(SynthShapeTest, ListsThePresets) {
  EXPECT_EQ(synth_shape_names(), (std::vector<std::string>{"stories15M", "stories42M",
                                                           "stories110M", "tinyllama-1.1b"}));
}

TEST(SynthShapeTest, EveryPresetParsesToAValidConfig) {
  for (const auto& name : synth_shape_names()) {
    SCOPED_TRACE(name);
    const accelab_model_config c = parse_synth_shape(name);
    EXPECT_EQ(check_llama_config(c), "");
    EXPECT_EQ(c.shared_classifier, 1);
  }
}

TEST(SynthShapeTest, PresetShapes) {
  {
    SCOPED_TRACE("stories15M");
    expect_shape(parse_synth_shape("stories15M"), {288, 768, 6, 6, 6, 32000, 256});
  }
  {
    SCOPED_TRACE("stories42M");
    expect_shape(parse_synth_shape("stories42M"), {512, 1376, 8, 8, 8, 32000, 1024});
  }
  {
    SCOPED_TRACE("stories110M");
    expect_shape(parse_synth_shape("stories110M"), {768, 2048, 12, 12, 12, 32000, 1024});
  }
  {
    SCOPED_TRACE("tinyllama-1.1b");
    expect_shape(parse_synth_shape("tinyllama-1.1b"), {2048, 5632, 22, 32, 4, 32000, 2048});
  }
}

TEST(SynthShapeTest, Stories15MHasTheSizeOfTheRealCheckpoint) {
  // Karpathy's stories15M.bin is 60,816,028 bytes.
  EXPECT_EQ(llama2c_file_bytes(parse_synth_shape("stories15M")), 60816028U);
}

TEST(SynthShapeTest, CustomShape) {
  expect_shape(parse_synth_shape(kTinyShape), {16, 32, 2, 4, 2, 40, 8});
  expect_shape(
      parse_synth_shape("dim=4096,hidden=11008,layers=32,heads=32,kv-heads=8,vocab=32000,seq=4096"),
      {4096, 11008, 32, 32, 8, 32000, 4096});
}

TEST(SynthShapeTest, CustomShapeKeysInAnyOrder) {
  expect_shape(parse_synth_shape("seq=8,vocab=40,kv-heads=2,heads=4,layers=2,hidden=32,dim=16"),
               {16, 32, 2, 4, 2, 40, 8});
}

TEST(SynthShapeTest, KvHeadsDefaultsToHeads) {
  expect_shape(parse_synth_shape("dim=16,hidden=32,layers=2,heads=4,vocab=40,seq=8"),
               {16, 32, 2, 4, 4, 40, 8});
}

TEST(SynthShapeTest, UnknownPresetSuggestsTheClosest) {
  expect_usage_error("stories15Mx", "unknown shape 'stories15Mx' (did you mean 'stories15M'?)");
  expect_usage_error("tinyllama-1.1", "(did you mean 'tinyllama-1.1b'?)");
  // The message lists the presets and the custom syntax.
  expect_usage_error("stories15Mx", "stories15M, stories42M, stories110M, tinyllama-1.1b");
  expect_usage_error("stories15Mx",
                     "dim=..,hidden=..,layers=..,heads=..,kv-heads=..,vocab=..,seq=..");
  expect_usage_error("", "unknown shape ''");
  expect_usage_error("STORIES15M", "unknown shape 'STORIES15M'");
}

TEST(SynthShapeTest, UnknownKeySuggestsTheClosest) {
  expect_usage_error("dims=16,hidden=32,layers=2,heads=4,vocab=40,seq=8",
                     "unknown key 'dims' (did you mean 'dim'?)");
  expect_usage_error("dim=16,hidden=32,layers=2,heads=4,kv_heads=2,vocab=40,seq=8",
                     "unknown key 'kv_heads' (did you mean 'kv-heads'?)");
  expect_usage_error("dim=16,hidden=32,layers=2,heads=4,vocab=40,seq=8,experts=8",
                     "keys are dim, heads, hidden, kv-heads, layers, seq, vocab");
}

TEST(SynthShapeTest, MissingKey) {
  expect_usage_error("dim=16,hidden=32,layers=2,heads=4,kv-heads=2,vocab=40", "missing key 'seq'");
  expect_usage_error("hidden=32,layers=2,heads=4,vocab=40,seq=8", "missing key 'dim'");
  expect_usage_error("dim=16", "missing key");
}

TEST(SynthShapeTest, NonIntegerValue) {
  const std::string rest = ",hidden=32,layers=2,heads=4,vocab=40,seq=8";
  for (const std::string value : {"abc", "16x", "", "1.5", " 16", "+16", "0x10", "99999999999"})
    expect_usage_error("dim=" + value + rest, "'dim=" + value + "' is not an integer");
}

TEST(SynthShapeTest, ItemWithoutEquals) {
  expect_usage_error("dim=16,hidden", "'hidden' is not key=value");
  expect_usage_error(",dim=16,hidden=32,layers=2,heads=4,vocab=40,seq=8", "'' is not key=value");
}

TEST(SynthShapeTest, InvalidShape) {
  expect_usage_error("dim=16,hidden=32,layers=2,heads=3,vocab=40,seq=8",
                     "n_heads = 3 does not divide dim = 16");
  expect_usage_error("dim=16,hidden=32,layers=2,heads=4,kv-heads=3,vocab=40,seq=8",
                     "n_kv_heads = 3 does not divide n_heads = 4");
  expect_usage_error("dim=12,hidden=32,layers=2,heads=4,vocab=40,seq=8",
                     "head size 3 (dim / n_heads) is odd");
  expect_usage_error("dim=16,hidden=32,layers=0,heads=4,vocab=40,seq=8",
                     "n_layers = 0 must be positive");
  expect_usage_error("dim=16,hidden=32,layers=2,heads=4,vocab=-40,seq=8",
                     "vocab_size = -40 must be positive");
  expect_usage_error("dim=16,hidden=32,layers=2,heads=4,vocab=40,seq=2147483647",
                     "seq_len = 2147483647 exceeds the limit");
  // The message quotes the shape as given.
  expect_usage_error("dim=16,hidden=32,layers=2,heads=3,vocab=40,seq=8",
                     "shape 'dim=16,hidden=32,layers=2,heads=3,vocab=40,seq=8': ");
}

// ---------------------------------------------------------------------------------------------
// Files

class SynthFileTest : public ::testing::Test {
 protected:

  /// Writes the tiny shape with `seed` to `name` in the test directory; returns the path.
  std::string synth(const std::string& name, uint64_t seed) {
    const std::string path = (dir_ / name).string();
    write_synthetic_llama2c(parse_synth_shape(kTinyShape), seed, path);
    return path;
  }

  /// Names of the files in the test directory.
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_))
      names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  test_support::TempDir temp_{"accelab_test_synth"};
  const fs::path& dir_ = temp_.path();
};

TEST_F(SynthFileTest, SameShapeAndSeedGiveIdenticalBytes) {
  const std::string a = synth("a.bin", 42), b = synth("b.bin", 42);
  EXPECT_EQ(sha256_file(a), sha256_file(b));
}

TEST_F(SynthFileTest, DifferentSeedsGiveDifferentBytes) {
  const std::string a = synth("a.bin", 42), b = synth("b.bin", 43), c = synth("c.bin", 0);
  EXPECT_NE(sha256_file(a), sha256_file(b));
  EXPECT_NE(sha256_file(a), sha256_file(c));
  EXPECT_NE(sha256_file(b), sha256_file(c));
}

TEST_F(SynthFileTest, SizeMatchesTheHeader) {
  const accelab_model_config c = parse_synth_shape(kTinyShape);
  const std::string path = synth("tiny.bin", 1);
  EXPECT_EQ(fs::file_size(path), llama2c_file_bytes(c));
  EXPECT_EQ(read_llama2c_header(path).file_bytes, llama2c_file_bytes(c));
}

TEST_F(SynthFileTest, LoadsBack) {
  const std::string path = synth("tiny.bin", 3);
  const auto model = load_llama2c(path);
  expect_shape(model->config(), {16, 32, 2, 4, 2, 40, 8});
  EXPECT_EQ(model->find("output.weight"), -1);  // shared classifier
  // The weights are finite and scaled like trained ones: embedding in [-1, 1], norms near 1.
  for (const auto& t : model->tensors()) {
    const auto* f = static_cast<const float*>(t.data);
    const bool norm = std::string(t.name).find("norm") != std::string::npos;
    for (int64_t i = 0; i < element_count(t); ++i) {
      ASSERT_TRUE(std::isfinite(f[i])) << t.name << "[" << i << "]";
      if (norm) {
        ASSERT_GE(f[i], 0.9f) << t.name << "[" << i << "]";
        ASSERT_LE(f[i], 1.1f) << t.name << "[" << i << "]";
      } else {
        ASSERT_LE(std::fabs(f[i]), 1.0f) << t.name << "[" << i << "]";
      }
    }
  }
}

TEST_F(SynthFileTest, LeavesNoPartialFile) {
  synth("tiny.bin", 5);
  EXPECT_EQ(listing(), (std::vector<std::string>{"tiny.bin"}));
}

TEST_F(SynthFileTest, ReplacesAnExistingFile) {
  const std::string fresh = synth("fresh.bin", 9);
  const std::string path = (dir_ / "old.bin").string();
  std::ofstream(path, std::ios::binary) << "an older file at the same path";
  synth("old.bin", 9);
  EXPECT_EQ(sha256_file(path), sha256_file(fresh));
  EXPECT_EQ(listing(), (std::vector<std::string>{"fresh.bin", "old.bin"}));
}

TEST_F(SynthFileTest, FailedRenameLeavesNoPartialFile) {
  // A directory where the file should go: writing succeeds, moving it into place fails.
  const fs::path path = dir_ / "out.bin";
  fs::create_directory(path);
  try {
    write_synthetic_llama2c(parse_synth_shape(kTinyShape), 0, path.string());
    FAIL() << "replaced the directory " << path;
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  }
  EXPECT_EQ(listing(), (std::vector<std::string>{"out.bin"}));
}

TEST_F(SynthFileTest, UnwritableDirectoryIsAFileError) {
  const std::string path = (dir_ / "no_such_dir" / "tiny.bin").string();
  try {
    write_synthetic_llama2c(parse_synth_shape(kTinyShape), 0, path);
    FAIL() << "wrote " << path;
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  EXPECT_EQ(listing(), std::vector<std::string>{});
}

}  // namespace
}  // namespace accelab
