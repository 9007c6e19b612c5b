// quant-fp16 / quant-bf16 on the real stories260K: matrices halved, embedding kept, quality
// within a stated tolerance of f32, and plan-time rejection by a backend without f16 kernels
// (golden-token agreement: test_quant_golden.cpp).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "model/llama2c.hpp"
#include "pipeline/planner.hpp"
#include "runtime/engine.hpp"
#include "runtime/perplexity.hpp"
#include "support/default_registry.hpp"
#include "support/shared_data.hpp"
#include "tokenizer/tokenizer.hpp"
#include "util/error.hpp"

namespace accelab {
namespace {

using test_support::data_path;

class QuantHalf : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(data_path("models/stories260K.bin"))) GTEST_SKIP() << "missing " << data_path("models/stories260K.bin");
  }
  std::unique_ptr<Engine> engine(const std::string& pipeline) {
    return std::make_unique<Engine>(plan_pipeline(test_support::default_registry(), pipeline),
                                    load_llama2c(data_path("models/stories260K.bin")), test_support::one_sequence_limits());
  }
};

TEST_P(QuantHalf, HalvesTheMatricesAndKeepsTheEmbedding) {
  auto e = engine(GetParam() + ",cpu-tbb");
  const accelab_dtype half = GetParam() == "quant-fp16" ? ACCELAB_DTYPE_F16 : ACCELAB_DTYPE_BF16;
  int halved = 0;
  for (const auto& t : e->model().tensors()) {
    std::string name = t.name;
    if (t.ndim == 2 && name != "token_embd.weight") {
      EXPECT_EQ(t.dtype, half) << name;
      EXPECT_EQ(t.nbytes, static_cast<uint64_t>(t.shape[0] * t.shape[1]) * 2) << name;
      ++halved;
    } else {
      EXPECT_EQ(t.dtype, ACCELAB_DTYPE_F32) << name;
    }
  }
  EXPECT_EQ(halved, 5 * 7);  // seven matrices per block, five blocks
}

TEST_P(QuantHalf, PerplexityWithinHalfAPercentOfF32) {
  std::ifstream in(data_path("data/tinystories_valid_first1000.txt"));
  std::stringstream ss;
  ss << in.rdbuf();
  auto stories = split_stories(ss.str(), 20);
  Tokenizer tok = Tokenizer::load(data_path("models/tok512.bin"), 512);
  auto half = engine(GetParam() + ",cpu-tbb");
  auto full = engine("cpu-tbb");
  PerplexityResult h = perplexity(*half, tok, stories), f = perplexity(*full, tok, stories);
  EXPECT_EQ(h.tokens, f.tokens);
  EXPECT_NEAR(h.perplexity / f.perplexity, 1.0, 0.005) << h.perplexity << " vs " << f.perplexity;
}

TEST_P(QuantHalf, ReferenceBackendRejectsHalfWeightsAtPlanTime) {
  Plan plan = plan_pipeline(test_support::default_registry(), GetParam() + ",cpu-ref");
  const accelab_model_config c = read_llama2c_header(data_path("models/stories260K.bin")).config;
  try {
    Engine::check_plan(plan, llama2c_skeleton("stories260K", c));
    FAIL() << "cpu-ref accepted half-precision weights";
  } catch (const PluginError& e) {
    EXPECT_NE(std::string(e.what()).find("only with dense f32"), std::string::npos) << e.what();
  }
}

TEST_P(QuantHalf, BadPatternIsAClearError) {
  EXPECT_THROW(engine(GetParam() + "<include=\"blk.(\">,cpu-tbb"), PluginError);
}

// A pattern that leaves nothing to convert would run f32 under the strategy's name.
TEST_P(QuantHalf, NothingToConvertIsAClearError) {
  const auto expect_error = [&](const std::string& pipeline, const std::string& says) {
    try {
      engine(pipeline);
      FAIL() << pipeline << " converted nothing without an error";
    } catch (const PluginError& e) {
      EXPECT_NE(std::string(e.what()).find(GetParam() + ": " + says), std::string::npos) << e.what();
    }
  };
  expect_error(GetParam() + "<include=\"attn_q\">,cpu-tbb", "include 'attn_q' matches none of the model's 36 matrices");
  expect_error("quant-int8," + GetParam() + ",cpu-tbb", "no matrix left to convert");
}

INSTANTIATE_TEST_SUITE_P(Types, QuantHalf, ::testing::Values("quant-fp16", "quant-bf16"),
                         [](const auto& info) { return info.param == "quant-fp16" ? std::string("fp16") : std::string("bf16"); });

}  // namespace
}  // namespace accelab
