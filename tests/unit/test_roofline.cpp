// The roofline of a row: what a decode step of a model reads and computes, and measured rates
// against probed ceilings.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <optional>
#include <string>

#include "env/roofline.hpp"
#include "model/model.hpp"

namespace accelab {
namespace {

// A hand-made llama shape: dim 8, hidden 16, 2 layers, 2 heads of 4, 1 kv head (kv_dim 4),
// vocab 32. Per layer the matrices hold 8·8 (q) + 4·8 (k) + 4·8 (v) + 8·8 (o) + 3 · 16·8 (ffn)
// = 576 weights; the classifier 32·8 = 256; the embedding 256; the norms 8 each.
constexpr int64_t kDim = 8, kHidden = 16, kKvDim = 4, kVocab = 32, kLayers = 2;
constexpr uint64_t kMatrixElements = kLayers * 576 + 256;

accelab_model_config config(bool shared_classifier) {
  accelab_model_config c{};
  c.dim = kDim;
  c.hidden_dim = kHidden;
  c.n_layers = kLayers;
  c.n_heads = 2;
  c.n_kv_heads = 1;
  c.vocab_size = kVocab;
  c.seq_len = 16;
  c.head_size = 4;
  c.rope_dim = 4;
  c.rms_eps = 1e-5f;
  c.rope_theta = 10000;
  c.shared_classifier = shared_classifier ? 1 : 0;
  return c;
}

// Shapes only: the roofline never reads weight data.
accelab_tensor f32_view(int64_t rows, int64_t cols) {
  accelab_tensor t{};
  t.dtype = ACCELAB_DTYPE_F32;
  t.ndim = cols > 1 ? 2 : 1;
  t.shape[0] = rows;
  t.shape[1] = cols;
  t.shape[2] = t.shape[3] = 1;
  t.nbytes = static_cast<uint64_t>(rows * cols) * sizeof(float);
  return t;
}

std::unique_ptr<Model> make_model(bool shared_classifier) {
  auto m = std::make_unique<Model>("hand-made", config(shared_classifier));
  m->add_tensor("token_embd.weight", f32_view(kVocab, kDim));
  for (int32_t l = 0; l < kLayers; ++l) {
    m->add_tensor(layer_tensor_name(l, "attn_norm"), f32_view(kDim, 1));
    m->add_tensor(layer_tensor_name(l, "attn_q"), f32_view(kDim, kDim));
    m->add_tensor(layer_tensor_name(l, "attn_k"), f32_view(kKvDim, kDim));
    m->add_tensor(layer_tensor_name(l, "attn_v"), f32_view(kKvDim, kDim));
    m->add_tensor(layer_tensor_name(l, "attn_output"), f32_view(kDim, kDim));
    m->add_tensor(layer_tensor_name(l, "ffn_norm"), f32_view(kDim, 1));
    m->add_tensor(layer_tensor_name(l, "ffn_gate"), f32_view(kHidden, kDim));
    m->add_tensor(layer_tensor_name(l, "ffn_up"), f32_view(kHidden, kDim));
    m->add_tensor(layer_tensor_name(l, "ffn_down"), f32_view(kDim, kHidden));
  }
  m->add_tensor("output_norm.weight", f32_view(kDim, 1));
  if (!shared_classifier) m->add_tensor("output.weight", f32_view(kVocab, kDim));
  return m;
}

TEST(RooflineDecodeCost, CountsMatricesAndClassifierButNotEmbeddingOrNorms) {
  const auto model = make_model(false);
  const DecodeCost cost = decode_cost(*model);
  EXPECT_EQ(cost.bytes_per_decode_step, kMatrixElements * sizeof(float));
  EXPECT_EQ(cost.matmul_flops_per_token, 2 * kMatrixElements);
  // Everything else the model holds: the embedding and the norms.
  const uint64_t rest = (kVocab * kDim + (2 * kLayers + 1) * kDim) * sizeof(float);
  EXPECT_EQ(model->weight_bytes(), cost.bytes_per_decode_step + rest);
}

TEST(RooflineDecodeCost, TiedClassifierIsTheEmbeddingAndCountsOnce) {
  const auto model = make_model(true);
  const DecodeCost cost = decode_cost(*model);
  EXPECT_EQ(cost.bytes_per_decode_step, kMatrixElements * sizeof(float));
  EXPECT_EQ(cost.matmul_flops_per_token, 2 * kMatrixElements);
  const uint64_t norms = (2 * kLayers + 1) * kDim * sizeof(float);
  EXPECT_EQ(model->weight_bytes(), cost.bytes_per_decode_step + norms);
}

TEST(RooflineDecodeCost, QuantizedWeightsCountTheirStorageNotTheirElements) {
  auto model = make_model(false);
  // blk.0.attn_q as int8 codes with one f32 scale per block of 4: 64 codes + 16 scales.
  accelab_tensor q = f32_view(kDim, kDim);
  q.dtype = ACCELAB_DTYPE_I8;
  q.nbytes = kDim * kDim;
  q.quant.scheme = ACCELAB_QUANT_SCHEME_SYMMETRIC;
  q.quant.bits = 8;
  q.quant.block_size = 4;
  q.quant.scale_dtype = ACCELAB_DTYPE_F32;
  model->replace_tensor(model->find("blk.0.attn_q.weight"), q);
  const DecodeCost cost = decode_cost(*model);
  const uint64_t f32_q = kDim * kDim * sizeof(float);
  const uint64_t int8_q = kDim * kDim + (kDim * kDim / 4) * sizeof(float);
  EXPECT_EQ(cost.bytes_per_decode_step, kMatrixElements * sizeof(float) - f32_q + int8_q);
  EXPECT_EQ(cost.matmul_flops_per_token, 2 * kMatrixElements);  // the same multiplications
}

TEST(RooflineDecodeCost, TwoLevelScalesCountOneBytePerScaleAndMinAndTheRowFactors) {
  auto model = make_model(false);
  // blk.0.attn_q as asymmetric 4-bit codes, blocks of 4, two-level: per row kDim / 2 bytes of
  // codes, kDim / 4 scale codes and as many min codes, and two f32 factors.
  accelab_tensor q = f32_view(kDim, kDim);
  q.dtype = ACCELAB_DTYPE_U4;
  q.nbytes = kDim * kDim / 2;
  q.quant.scheme = ACCELAB_QUANT_SCHEME_ASYMMETRIC;
  q.quant.bits = 4;
  q.quant.block_size = 4;
  q.quant.scale_dtype = ACCELAB_DTYPE_U8;
  model->replace_tensor(model->find("blk.0.attn_q.weight"), q);
  const DecodeCost cost = decode_cost(*model);
  const uint64_t f32_q = kDim * kDim * sizeof(float);
  const uint64_t q4 = kDim * (kDim / 2 + 2 * (kDim / 4) + 2 * sizeof(float));
  EXPECT_EQ(cost.bytes_per_decode_step, kMatrixElements * sizeof(float) - f32_q + q4);
}

TEST(RooflineRates, BandwidthBoundDecodeAndPrefillAgainstGemm) {
  const DecodeCost cost{1'000'000'000, 2'000'000'000};
  // 20 GB/s over 1 GB: 20 steps/s; 100 GFLOP/s over 2 GFLOP/token: 50 tokens/s.
  const Roofline r = roofline(cost, 20e9, 100e9, 1, 40.0, 15.0);
  EXPECT_EQ(r.bandwidth_bytes_per_s, 20e9);
  EXPECT_EQ(r.gemm_flops_per_s, 100e9);
  EXPECT_EQ(r.bytes_per_decode_step, cost.bytes_per_decode_step);
  EXPECT_EQ(r.matmul_flops_per_token, cost.matmul_flops_per_token);
  ASSERT_TRUE(r.tg_roofline_tokens_per_s && r.tg_fraction && r.pp_fraction);
  EXPECT_DOUBLE_EQ(*r.tg_roofline_tokens_per_s, 20.0);
  EXPECT_DOUBLE_EQ(*r.tg_fraction, 0.75);
  EXPECT_DOUBLE_EQ(*r.pp_fraction, 0.8);  // 40 tokens/s × 2 GFLOP / 100 GFLOP/s
}

TEST(RooflineRates, BatchRaisesTheMemoryBoundUntilComputeCapsIt) {
  const DecodeCost cost{1'000'000'000, 2'000'000'000};
  EXPECT_DOUBLE_EQ(*roofline(cost, 20e9, 100e9, 2, 40.0, 30.0).tg_roofline_tokens_per_s, 40.0);
  const Roofline capped = roofline(cost, 20e9, 100e9, 4, 40.0, 25.0);  // 80 > 50
  EXPECT_DOUBLE_EQ(*capped.tg_roofline_tokens_per_s, 50.0);
  EXPECT_DOUBLE_EQ(*capped.tg_fraction, 0.5);
}

TEST(RooflineRates, NoDecodeOrNoProbeLeavesNulls) {
  const DecodeCost cost{1'000'000'000, 2'000'000'000};
  const Roofline prefill_only = roofline(cost, 20e9, 100e9, 1, 40.0, std::nullopt);
  EXPECT_FALSE(prefill_only.tg_roofline_tokens_per_s);
  EXPECT_FALSE(prefill_only.tg_fraction);
  EXPECT_TRUE(prefill_only.pp_fraction);
  const nlohmann::json j = to_json(prefill_only);
  EXPECT_TRUE(j["tg_roofline_tokens_per_s"].is_null());
  EXPECT_TRUE(j["tg_fraction"].is_null());
  EXPECT_DOUBLE_EQ(j["pp_fraction"].get<double>(), 0.8);
  EXPECT_EQ(j["bytes_per_decode_step"].get<uint64_t>(), cost.bytes_per_decode_step);
  EXPECT_EQ(j["matmul_flops_per_token"].get<uint64_t>(), cost.matmul_flops_per_token);
  EXPECT_EQ(j.size(), 7u);

  for (const Roofline& r : {roofline(cost, 0, 100e9, 1, 40.0, 15.0),
                            roofline(cost, 20e9, std::nan(""), 1, 40.0, 15.0),
                            roofline(DecodeCost{}, 20e9, 100e9, 1, 40.0, 15.0)}) {
    EXPECT_FALSE(r.tg_fraction);
    EXPECT_FALSE(r.pp_fraction);
  }
}

}  // namespace
}  // namespace accelab
