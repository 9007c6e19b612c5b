// Greedy generation with quantized weights against the golden float32 tokens of stories260K
// (../shared/golden/stories260K-greedy.jsonl), per quantization strategy, two ways: free-running
// (golden tokens before the first divergence: one early flip ends the count) and teacher-forced
// (fed the golden sequence, is the quantized model's top token the golden next token?), each with
// a floor per format. Both are printed for the report.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/llama2c.hpp"
#include "pipeline/planner.hpp"
#include "runtime/engine.hpp"
#include "runtime/generate.hpp"
#include "runtime/sampler.hpp"
#include "support/default_registry.hpp"
#include "support/shared_data.hpp"
#include "tokenizer/tokenizer.hpp"

namespace accelab {
namespace {

using test_support::data_path;

struct Case {
  const char* name;
  const char* transform;
  double prefix_floor;  // fraction of golden tokens before the first divergence
  double forced_floor;  // fraction of generated positions whose top token is the golden one
};

class QuantGolden : public ::testing::TestWithParam<Case> {};

TEST_P(QuantGolden, GreedyTokensAgreeWithFloat32) {
  if (!std::filesystem::exists(data_path("golden/stories260K-greedy.jsonl")))
    GTEST_SKIP() << "missing " << data_path("golden/stories260K-greedy.jsonl");
  Engine e(plan_pipeline(test_support::default_registry(), std::string(GetParam().transform) + ",cpu-tbb"),
           load_llama2c(data_path("models/stories260K.bin")), test_support::one_sequence_limits());
  Tokenizer tok = Tokenizer::load(data_path("models/tok512.bin"), 512);
  std::ifstream golden(data_path("golden/stories260K-greedy.jsonl"));
  std::string line;
  size_t same = 0, total = 0, forced_same = 0, forced_total = 0;
  std::vector<float> logits;
  while (std::getline(golden, line)) {
    auto g = nlohmann::json::parse(line);
    Sampler greedy(512, 0.0f, 0.9f, 1);
    auto out = generate(e, tok, g["prompt"].get<std::string>(), g["steps"].get<int32_t>(), greedy);
    auto want = g["tokens"].get<std::vector<int32_t>>();
    // Tokens up to the first divergence count: after it, the continuations legitimately differ.
    size_t k = 0;
    while (k < want.size() && k < out.tokens.size() && out.tokens[k] == want[k]) ++k;
    same += k;
    total += want.size();
    // Teacher-forced: positions from the prompt's last token on predict a generated token.
    const size_t prompt = tok.encode(g["prompt"].get<std::string>(), true, false).size();
    logits.resize(want.size() * 512);
    e.run_sequence(want, 0, 0, true, logits.data());
    for (size_t i = prompt - 1; i + 1 < want.size(); ++i) {
      const float* row = logits.data() + i * 512;
      forced_same += std::max_element(row, row + 512) - row == want[i + 1];
      ++forced_total;
    }
  }
  const double prefix = static_cast<double>(same) / static_cast<double>(total);
  const double forced = static_cast<double>(forced_same) / static_cast<double>(forced_total);
  std::printf("golden agreement %-20s before divergence %3zu / %zu = %5.1f%%, teacher-forced %3zu / %zu = %5.1f%%\n",
              GetParam().name, same, total, 100.0 * prefix, forced_same, forced_total, 100.0 * forced);
  RecordProperty("prefix_agreement", std::to_string(prefix));
  RecordProperty("forced_agreement", std::to_string(forced));
  EXPECT_GE(prefix, GetParam().prefix_floor) << same << " of " << total << " golden tokens before the first divergence";
  EXPECT_GE(forced, GetParam().forced_floor) << forced_same << " of " << forced_total << " teacher-forced positions";
}

INSTANTIATE_TEST_SUITE_P(
    Strategies, QuantGolden,
    ::testing::Values(Case{"fp16", "quant-fp16", 0.5, 0.98}, Case{"bf16", "quant-bf16", 0.5, 0.97},
                      Case{"int8", "quant-int8", 0.3, 0.95}, Case{"int4_sym_b32", "quant-int4", 0.05, 0.75},
                      Case{"int4_asym_b32", "quant-int4<scheme=asym>", 0.05, 0.75},
                      Case{"int4_sym_b128", "quant-int4<block=128>", 0.05, 0.75},
                      Case{"int4_calibrated_b32", "quant-int4-calibrated<calibration-tokens=2048>", 0.05, 0.75}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace accelab
