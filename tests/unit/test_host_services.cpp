// The ABI 1.1 host services: record (JSON text into a strategy's record) and calibration
// (per-channel statistics of every matrix product's input, from a float run of the model).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "calibration/calibration.hpp"
#include "model/llama2c.hpp"
#include "model/model.hpp"
#include "model/synth.hpp"
#include "plugin/registry.hpp"
#include "support/temp_dir.hpp"
#include "util/error.hpp"

namespace accelab {
namespace {

namespace fs = std::filesystem;

TEST(HostServices, RecordStoresParsedJsonAndRejectsText) {
  StrategyServices services;
  const accelab_host host = host_services_for(&services);
  ASSERT_TRUE(ACCELAB_HOST_HAS(&host, record));
  ASSERT_TRUE(ACCELAB_HOST_HAS(&host, calibration));
  accelab_error err{};
  EXPECT_EQ(host.record(host.ctx, "bits_per_weight", "4.5", &err), ACCELAB_STATUS_OK);
  EXPECT_EQ(host.record(host.ctx, "tensors", R"([{"name": "output.weight", "rmse": 0.01}])", &err), ACCELAB_STATUS_OK);
  EXPECT_EQ(host.record(host.ctx, "bits_per_weight", "8.5", &err), ACCELAB_STATUS_OK);  // replaces
  EXPECT_EQ(services.record["bits_per_weight"], 8.5);
  EXPECT_EQ(services.record["tensors"][0]["name"], "output.weight");
  EXPECT_EQ(host.record(host.ctx, "bad", "{not json", &err), ACCELAB_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(err.message, "'bad' is not JSON"), nullptr) << err.message;
  EXPECT_EQ(host.record(host.ctx, "", "1", &err), ACCELAB_STATUS_INVALID_ARGUMENT);
  EXPECT_FALSE(services.record.contains("bad"));
}

TEST(HostServices, SharedHostHasNoRecordAndCalibrationOnlyDuringApply) {
  const accelab_host* shared = host_services();
  accelab_error err{};
  EXPECT_EQ(shared->record(shared->ctx, "k", "1", &err), ACCELAB_STATUS_UNSUPPORTED);
  StrategyServices services;  // no calibrator: not inside a transform's apply
  const accelab_host host = host_services_for(&services);
  accelab_calibration out{};
  EXPECT_EQ(host.calibration(host.ctx, nullptr, 0, 16, 0, &out, &err), ACCELAB_STATUS_UNSUPPORTED);
  EXPECT_NE(std::strstr(err.message, "during apply only"), nullptr) << err.message;
}

class Calibration : public ::testing::Test {
 protected:
  void SetUp() override {
    const accelab_model_config c = parse_synth_shape("dim=32,hidden=64,layers=2,heads=4,kv-heads=2,vocab=64,seq=48");
    path_ = (dir_.path() / "tiny.bin").string();
    write_synthetic_llama2c(c, 7, path_);
    model_ = load_llama2c(path_);
  }
  test_support::TempDir dir_;
  std::string path_;
  std::unique_ptr<Model> model_;
};

TEST_F(Calibration, CoversEveryMatmulInputWithTheTokensAsked) {
  CalibrationStats s = collect_calibration(*model_, CalibrationText{}, 100, 3);
  EXPECT_EQ(s.tokens, 100u);  // 48 + 48 + 4 random tokens
  EXPECT_NE(s.source.find("random tokens"), std::string::npos) << s.source;
  // 7 products per layer (q, k, v, o, gate, up, down) and the logits (this model ties them to
  // the embedding, which is then a product's weight too).
  EXPECT_EQ(s.by_weight.size(), 2u * 7u + 1u);
  EXPECT_EQ(s.by_weight.count(model_->find("token_embd.weight")), 1u);
  for (const auto& [index, ch] : s.by_weight) {
    const accelab_tensor& w = model_->tensor(index);
    ASSERT_EQ(static_cast<int64_t>(ch.mean_square.size()), w.shape[1]) << w.name;
    for (size_t i = 0; i < ch.mean_square.size(); ++i) {
      EXPECT_GT(ch.mean_square[i], 0.0f) << w.name;
      // Jensen: mean |x| <= sqrt(mean x^2), equality only for constant |x|.
      EXPECT_LE(ch.mean_abs[i], std::sqrt(ch.mean_square[i]) * 1.0001f) << w.name;
    }
  }
  // Q, K and V read the same normalised input: identical statistics.
  const auto q = s.by_weight.at(model_->find("blk.1.attn_q.weight"));
  const auto v = s.by_weight.at(model_->find("blk.1.attn_v.weight"));
  EXPECT_EQ(q.mean_square, v.mean_square);
  // Same seed, same statistics; another seed, other tokens.
  EXPECT_EQ(collect_calibration(*model_, {}, 100, 3).by_weight.begin()->second.mean_square,
            s.by_weight.begin()->second.mean_square);
  EXPECT_NE(collect_calibration(*model_, {}, 100, 4).by_weight.begin()->second.mean_square,
            s.by_weight.begin()->second.mean_square);
}

TEST_F(Calibration, StopsWhenInterruptedWithoutHoldingTheTokens) {
  const std::atomic<bool> interrupted{true};
  CalibrationText text;
  text.interrupted = &interrupted;
  // 2^32 random tokens held at once would be 16 GB; made one sequence at a time, the interrupt
  // stops them before the first batch.
  try {
    collect_calibration(*model_, text, uint64_t{1} << 32, 0);
    FAIL() << "an interrupted calibration returned";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "calibration interrupted after 0 of 4294967296 tokens");
  }
  const std::atomic<bool> running{false};
  text.interrupted = &running;
  EXPECT_EQ(collect_calibration(*model_, text, 100, 3).tokens, 100u);
}

TEST_F(Calibration, ReadsStoriesAfterTheReservedOnes) {
  const fs::path text = dir_.path() / "stories.txt";
  std::ofstream(text) << "FIRST STORY<|endoftext|>SECOND STORY<|endoftext|>THIRD STORY";
  const fs::path tok = dir_.path() / "tok.bin";
  {
    // 64 one-character pieces: three specials, then ' ' to '\\' (upper case, no merges).
    std::ofstream f(tok, std::ios::binary);
    int32_t max_len = 1;
    f.write(reinterpret_cast<const char*>(&max_len), 4);
    for (int i = 0; i < 64; ++i) {
      float score = 0;
      std::string piece = i < 3 ? std::string(1, "uSE"[i]) : std::string(1, static_cast<char>(' ' + i - 3));
      int32_t len = 1;
      f.write(reinterpret_cast<const char*>(&score), 4);
      f.write(reinterpret_cast<const char*>(&len), 4);
      f.write(piece.data(), 1);
    }
  }
  CalibrationStats s = collect_calibration(*model_, {text.string(), tok.string(), 2}, 1000, 0);
  EXPECT_EQ(s.tokens, std::string(" THIRD STORY").size() + 1);  // BOS, the dummy prefix, the text
  EXPECT_NE(s.source.find("1 stories"), std::string::npos) << s.source;
  EXPECT_THROW(collect_calibration(*model_, {text.string(), tok.string(), 3}, 1000, 0), Error);
}

}  // namespace
}  // namespace accelab
