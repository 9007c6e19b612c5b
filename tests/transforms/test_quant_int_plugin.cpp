// The quant-int strategies through their C ABI, with a test host that implements the ABI 1.1
// services (record, calibration) itself: parameter validation, plan() metadata, what apply
// stores and what it records, and how a calibration failure surfaces.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "block_quantize.hpp"
#include "plugin/instance.hpp"
#include "quantize_matrix.hpp"
#include "support/default_registry.hpp"

namespace accelab {
namespace {

// A model of four tensors (stories260K's widths) and the host services a transform sees.
class TestHost {
 public:
  TestHost() {
    add("token_embd.weight", 512, 64);
    add("blk.0.attn_norm.weight", 64, 0);
    add("blk.0.attn_q.weight", 64, 64);
    add("blk.0.ffn_down.weight", 64, 172);
    host_.struct_size = sizeof host_;
    host_.abi_major = ACCELAB_ABI_MAJOR;
    host_.abi_minor = ACCELAB_ABI_MINOR;
    host_.ctx = this;
    host_.log = [](void*, accelab_log_level, const char*) {};
    host_.alloc = [](void* ctx, uint64_t size, uint64_t) {
      void* p = std::aligned_alloc(64, (size + 63) / 64 * 64);
      static_cast<TestHost*>(ctx)->allocated_++;
      return p;
    };
    host_.free = [](void* ctx, void* p) {
      static_cast<TestHost*>(ctx)->allocated_--;
      std::free(p);
    };
    host_.replace_tensor = [](void* ctx, accelab_model*, int32_t index, const accelab_tensor* t, accelab_error*) {
      auto* self = static_cast<TestHost*>(ctx);
      self->tensors_[static_cast<size_t>(index)] = *t;
      self->tensors_[static_cast<size_t>(index)].name = self->names_[static_cast<size_t>(index)].c_str();
      for (const void* p : {static_cast<const void*>(t->data), t->quant.scales, t->quant.mins,
                            static_cast<const void*>(t->quant.scale_factors), static_cast<const void*>(t->quant.min_factors)})
        self->keep(p);
      return ACCELAB_STATUS_OK;
    };
    host_.record = [](void* ctx, const char* key, const char* json, accelab_error*) {
      static_cast<TestHost*>(ctx)->records[key] = nlohmann::json::parse(json);
      return ACCELAB_STATUS_OK;
    };
    host_.calibration = [](void* ctx, const accelab_model* model, int32_t index, uint64_t tokens, uint64_t seed,
                           accelab_calibration* out, accelab_error* err) {
      auto* self = static_cast<TestHost*>(ctx);
      self->calibration_calls.push_back({index, tokens, seed});
      if (!self->calibration_error.empty()) {
        std::snprintf(err->message, sizeof err->message, "%s", self->calibration_error.c_str());
        return ACCELAB_STATUS_UNSUPPORTED;
      }
      const int64_t channels = model->tensors[index].shape[1];
      auto& ms = self->importance_[index];
      ms.resize(static_cast<size_t>(channels));
      for (size_t i = 0; i < ms.size(); ++i) ms[i] = 0.05f + static_cast<float>((i * 37) % 11);
      *out = accelab_calibration{};
      out->channels = channels;
      out->tokens = tokens;
      out->mean_square = ms.data();
      out->mean_abs = ms.data();
      out->source = "test text";
      return ACCELAB_STATUS_OK;
    };
    model_.struct_size = sizeof model_;
    refresh();
  }
  ~TestHost() {
    for (void* p : kept_) std::free(p);
  }
  TestHost(const TestHost&) = delete;
  TestHost& operator=(const TestHost&) = delete;

  const accelab_host* host() const { return &host_; }
  accelab_model* model() {
    refresh();
    return &model_;
  }
  const accelab_tensor& tensor(size_t i) const { return tensors_[i]; }
  const std::vector<float>& original(size_t i) const { return data_[i]; }
  int live_allocations() const { return allocated_; }

  std::map<std::string, nlohmann::json> records;
  struct Call {
    int32_t index;
    uint64_t tokens, seed;
  };
  std::vector<Call> calibration_calls;
  std::string calibration_error;

 private:
  void add(const std::string& name, int64_t rows, int64_t cols) {
    names_.push_back(name);
    const int64_t n = cols == 0 ? rows : rows * cols;
    std::mt19937 rng(static_cast<uint32_t>(names_.size()));
    std::normal_distribution<float> d(0.0f, 0.05f);
    data_.emplace_back(static_cast<size_t>(n));
    for (float& x : data_.back()) x = d(rng);
    accelab_tensor t{};
    t.dtype = ACCELAB_DTYPE_F32;
    t.ndim = cols == 0 ? 1 : 2;
    t.shape[0] = rows;
    t.shape[1] = cols == 0 ? 1 : cols;
    t.shape[2] = t.shape[3] = 1;
    t.nbytes = static_cast<uint64_t>(n) * 4;
    tensors_.push_back(t);
  }
  void refresh() {
    for (size_t i = 0; i < tensors_.size(); ++i) {
      tensors_[i].name = names_[i].c_str();
      if (tensors_[i].dtype == ACCELAB_DTYPE_F32) tensors_[i].data = data_[i].data();
    }
    model_.n_tensors = static_cast<int32_t>(tensors_.size());
    model_.tensors = tensors_.data();
  }
  void keep(const void* p) {
    if (p == nullptr) return;
    kept_.push_back(const_cast<void*>(p));
    allocated_--;
  }

  accelab_host host_{};
  accelab_model model_{};
  std::vector<std::string> names_;
  std::vector<std::vector<float>> data_;
  std::vector<accelab_tensor> tensors_;
  std::map<int32_t, std::vector<float>> importance_;
  std::vector<void*> kept_;
  int allocated_ = 0;
};

// One instance of a quant-int strategy created through the plugin's C table.
class Instance {
 public:
  Instance(const std::string& strategy, const std::vector<ParamSetting>& params, const TestHost& host) {
    s_ = test_support::default_registry().find(strategy);
    if (s_ == nullptr) {
      std::string message = strategy;
      message += " is not loaded";
      throw std::runtime_error(message);
    }
    values_ = resolve_params(*s_, params);
    status_ = s_->table->create(host.host(), values_.values.data(), &handle_, &err_);
  }
  ~Instance() {
    if (handle_ != nullptr) s_->table->destroy(handle_);
  }
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  accelab_status created() const { return status_; }
  std::string message() const { return err_.message; }
  accelab_status plan(accelab_tensor& t) {
    accelab_model_config c{};
    return s_->table->transform->plan(handle_, &c, &t, &err_);
  }
  accelab_status apply(accelab_model* m) { return s_->table->transform->apply(handle_, m, &err_); }

 private:
  const LoadedStrategy* s_ = nullptr;
  ParamValues values_;
  void* handle_ = nullptr;
  accelab_status status_ = ACCELAB_STATUS_ERROR;
  accelab_error err_{};
};

TEST(QuantIntPlugin, OffersItsThreeStrategies) {
  for (const char* name : {"quant-int8", "quant-int4", "quant-int4-calibrated"})
    EXPECT_NE(test_support::default_registry().find(name), nullptr) << name;
}

TEST(QuantIntPlugin, BlockMustBeAPositiveMultipleOf32) {
  TestHost host;
  for (const char* name : {"quant-int8", "quant-int4", "quant-int4-calibrated"}) {
    Instance bad(name, {{"block", "48"}}, host);
    EXPECT_NE(bad.created(), ACCELAB_STATUS_OK) << name;
    EXPECT_NE(bad.message().find("multiple of 32"), std::string::npos) << bad.message();
    EXPECT_NE(bad.message().find("48"), std::string::npos) << bad.message();
    Instance good(name, {{"block", "96"}}, host);
    EXPECT_EQ(good.created(), ACCELAB_STATUS_OK) << good.message();
  }
  EXPECT_THROW(Instance("quant-int8", {{"block", "16"}}, host), std::exception);  // below the declared range
}

TEST(QuantIntPlugin, ScalesMustBeF16OrU8) {
  TestHost host;
  for (const char* name : {"quant-int8", "quant-int4", "quant-int4-calibrated"}) {
    EXPECT_THROW(Instance(name, {{"scales", "u4"}}, host), std::exception) << name;  // the declared choices
    Instance good(name, {{"scales", "u8"}}, host);
    EXPECT_EQ(good.created(), ACCELAB_STATUS_OK) << good.message();
  }
}

TEST(QuantIntPlugin, BadRegexIsRejectedAtCreate) {
  TestHost host;
  Instance bad("quant-int4", {{"include", "blk.("}}, host);
  EXPECT_NE(bad.created(), ACCELAB_STATUS_OK);
  EXPECT_NE(bad.message().find("include pattern 'blk.('"), std::string::npos) << bad.message();
  Instance bad_exclude("quant-int8", {{"exclude", "[z-a]"}}, host);
  EXPECT_NE(bad_exclude.created(), ACCELAB_STATUS_OK);
  EXPECT_NE(bad_exclude.message().find("exclude"), std::string::npos) << bad_exclude.message();
  EXPECT_EQ(bad_exclude.message().find("globs"), std::string::npos) << bad_exclude.message();
  Instance glob("quant-int8", {{"exclude", "*norm*"}}, host);  // a glob, the likely mistake
  EXPECT_NE(glob.created(), ACCELAB_STATUS_OK);
  EXPECT_NE(glob.message().find("not globs: '.*' matches"), std::string::npos) << glob.message();
}

struct Expected {
  const char* strategy;
  const char* scheme;
  accelab_dtype dtype;
  accelab_quant_scheme quant_scheme;
  uint32_t bits;
  const char* scales = nullptr;  ///< the `scales` parameter, or the default (f16)

  [[nodiscard]] bool two_level() const { return scales != nullptr && std::string_view(scales) == "u8"; }
};

void PrintTo(const Expected& e, std::ostream* os) {
  *os << e.strategy << (e.scheme ? e.scheme : "") << (e.scales ? e.scales : "");
}

class Formats : public ::testing::TestWithParam<Expected> {
 protected:
  std::vector<ParamSetting> params(const char* block) const {
    std::vector<ParamSetting> p{{"block", block}};
    if (GetParam().scheme) p.push_back({"scheme", GetParam().scheme});
    if (GetParam().scales) p.push_back({"scales", GetParam().scales});
    return p;
  }
};

TEST_P(Formats, PlanDeclaresTheQuantizedMetadataWithoutData) {
  TestHost host;
  Instance inst(GetParam().strategy, params("64"), host);
  ASSERT_EQ(inst.created(), ACCELAB_STATUS_OK) << inst.message();
  accelab_tensor t = host.tensor(3);  // ffn_down 64x172
  t.data = nullptr;
  ASSERT_EQ(inst.plan(t), ACCELAB_STATUS_OK);
  EXPECT_EQ(t.dtype, GetParam().dtype);
  EXPECT_EQ(t.quant.scheme, GetParam().quant_scheme);
  EXPECT_EQ(t.quant.bits, GetParam().bits);
  EXPECT_EQ(t.quant.block_size, 64u);
  EXPECT_EQ(t.quant.scale_dtype, GetParam().two_level() ? ACCELAB_DTYPE_U8 : ACCELAB_DTYPE_F16);
  EXPECT_EQ(t.nbytes, GetParam().bits == 8 ? 64u * 172 : 64u * 86);
  EXPECT_EQ(t.data, nullptr);

  for (size_t untouched : {0u, 1u}) {  // the excluded embedding, a norm vector
    accelab_tensor u = host.tensor(untouched);
    ASSERT_EQ(inst.plan(u), ACCELAB_STATUS_OK);
    EXPECT_EQ(u.dtype, ACCELAB_DTYPE_F32);
    EXPECT_EQ(u.quant.scheme, ACCELAB_QUANT_SCHEME_NONE);
  }
}

TEST_P(Formats, ApplyStoresWhatPlanPromisedAndRecordsIt) {
  TestHost host;
  Instance inst(GetParam().strategy, params("128"), host);
  ASSERT_EQ(inst.created(), ACCELAB_STATUS_OK) << inst.message();
  accelab_tensor planned = host.tensor(3);
  ASSERT_EQ(inst.plan(planned), ACCELAB_STATUS_OK);
  ASSERT_EQ(inst.apply(host.model()), ACCELAB_STATUS_OK);
  EXPECT_EQ(host.live_allocations(), 0) << "every allocation is handed over";

  EXPECT_EQ(host.tensor(0).dtype, ACCELAB_DTYPE_F32);
  EXPECT_EQ(host.tensor(1).dtype, ACCELAB_DTYPE_F32);
  const accelab_tensor& t = host.tensor(3);
  EXPECT_EQ(t.dtype, planned.dtype);
  EXPECT_EQ(t.nbytes, planned.nbytes);
  EXPECT_EQ(t.quant.block_size, 128u);
  const bool asym = GetParam().quant_scheme == ACCELAB_QUANT_SCHEME_ASYMMETRIC, two_level = GetParam().two_level();
  ASSERT_NE(t.quant.scales, nullptr);
  EXPECT_EQ(t.quant.mins != nullptr, asym);
  EXPECT_EQ(t.quant.scale_dtype, two_level ? ACCELAB_DTYPE_U8 : ACCELAB_DTYPE_F16);
  EXPECT_EQ(t.quant.scale_factors != nullptr, two_level);
  EXPECT_EQ(t.quant.min_factors != nullptr, two_level && asym);

  const auto f = GetParam().bits == 8 ? quant::IntFormat::q8 : asym ? quant::IntFormat::q4_asym : quant::IntFormat::q4;
  quant::QuantizedMatrix m{f, 64, 172, 128, static_cast<uint8_t*>(t.data)};
  if (two_level) {
    m.scale_codes = static_cast<uint8_t*>(const_cast<void*>(t.quant.scales));
    m.min_codes = static_cast<int8_t*>(const_cast<void*>(t.quant.mins));
    m.scale_factors = const_cast<float*>(t.quant.scale_factors);
    m.min_factors = const_cast<float*>(t.quant.min_factors);
  } else {
    m.scales = static_cast<uint16_t*>(const_cast<void*>(t.quant.scales));
    m.mins = static_cast<uint16_t*>(const_cast<void*>(t.quant.mins));
  }
  double sum_sq = 0.0, max_abs = 0.0;
  for (int64_t r = 0; r < 64; ++r)
    for (int64_t c = 0; c < 172; ++c) {
      const double d = quant::dequantize(m, r, c) - host.original(3)[static_cast<size_t>(r * 172 + c)];
      sum_sq += d * d;
      max_abs = std::max(max_abs, std::fabs(d));
    }

  const auto& rec = host.records;
  ASSERT_TRUE(rec.count("tensors")) << "no record";
  EXPECT_EQ(rec.at("tensors_touched"), 2);
  ASSERT_EQ(rec.at("tensors").size(), 2u);
  const nlohmann::json& down = rec.at("tensors")[1];
  EXPECT_EQ(down["name"], "blk.0.ffn_down.weight");
  EXPECT_EQ(down["rows"], 64);
  EXPECT_EQ(down["cols"], 172);
  EXPECT_NEAR(down["rmse"].get<double>(), std::sqrt(sum_sq / (64 * 172)), 1e-9);
  EXPECT_NEAR(down["max_abs"].get<double>(), max_abs, 1e-9);
  // Per row, 2 blocks of f16 scales (and mins), or of one byte each plus an f32 factor.
  const double sets = asym ? 2.0 : 1.0, side = two_level ? sets * (2 + 4) : sets * 2 * 2;
  const double bpw = (static_cast<double>(planned.nbytes) + 64 * side) * 8 / (64 * 172);
  EXPECT_NEAR(down["bits_per_weight"].get<double>(), bpw, 1e-12);
  EXPECT_GT(rec.at("bits_per_weight").get<double>(), GetParam().bits);
  ASSERT_EQ(rec.at("skipped").size(), 1u);
  EXPECT_EQ(rec.at("skipped")[0]["name"], "token_embd.weight");
  EXPECT_NE(rec.at("skipped")[0]["reason"].get<std::string>().find("exclude"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Strategies, Formats,
    ::testing::Values(Expected{"quant-int8", nullptr, ACCELAB_DTYPE_I8, ACCELAB_QUANT_SCHEME_SYMMETRIC, 8},
                      Expected{"quant-int4", "sym", ACCELAB_DTYPE_I4, ACCELAB_QUANT_SCHEME_SYMMETRIC, 4},
                      Expected{"quant-int4", "asym", ACCELAB_DTYPE_U4, ACCELAB_QUANT_SCHEME_ASYMMETRIC, 4},
                      Expected{"quant-int4-calibrated", "sym", ACCELAB_DTYPE_I4, ACCELAB_QUANT_SCHEME_SYMMETRIC, 4},
                      Expected{"quant-int4-calibrated", "asym", ACCELAB_DTYPE_U4, ACCELAB_QUANT_SCHEME_ASYMMETRIC, 4},
                      Expected{"quant-int8", nullptr, ACCELAB_DTYPE_I8, ACCELAB_QUANT_SCHEME_SYMMETRIC, 8, "u8"},
                      Expected{"quant-int4", "sym", ACCELAB_DTYPE_I4, ACCELAB_QUANT_SCHEME_SYMMETRIC, 4, "u8"},
                      Expected{"quant-int4", "asym", ACCELAB_DTYPE_U4, ACCELAB_QUANT_SCHEME_ASYMMETRIC, 4, "u8"},
                      Expected{"quant-int4-calibrated", "asym", ACCELAB_DTYPE_U4, ACCELAB_QUANT_SCHEME_ASYMMETRIC, 4, "u8"},
                      Expected{"quant-int4", "asym", ACCELAB_DTYPE_U4, ACCELAB_QUANT_SCHEME_ASYMMETRIC, 4, "f16"}),
    [](const auto& info) {
      std::string name = info.param.strategy;
      if (info.param.scheme) name += std::string("_") + info.param.scheme;
      if (info.param.scales) name += std::string("_") + info.param.scales;
      for (char& c : name)
        if (c == '-') c = '_';
      return name;
    });

TEST(QuantIntCalibrated, AsksForCalibrationOfEveryQuantizedMatrixAndRecordsIt) {
  TestHost host;
  Instance inst("quant-int4-calibrated", {{"calibration-tokens", "123"}, {"seed", "9"}}, host);
  ASSERT_EQ(inst.created(), ACCELAB_STATUS_OK) << inst.message();
  ASSERT_EQ(inst.apply(host.model()), ACCELAB_STATUS_OK);
  ASSERT_EQ(host.calibration_calls.size(), 2u);
  for (const auto& c : host.calibration_calls) {
    EXPECT_TRUE(c.index == 2 || c.index == 3) << c.index;
    EXPECT_EQ(c.tokens, 123u);
    EXPECT_EQ(c.seed, 9u);
  }
  EXPECT_EQ(host.records.at("calibration")["tokens"], 123);
  EXPECT_EQ(host.records.at("calibration")["source"], "test text");
  const double ratio = host.records.at("weighted_error_vs_rtn").get<double>();
  EXPECT_LT(ratio, 1.0);
  EXPECT_GT(ratio, 0.0);
  for (const auto& t : host.records.at("tensors")) EXPECT_LE(t["weighted_error_vs_rtn"].get<double>(), 1.0);
}

TEST(QuantIntCalibrated, ApplyFailsWithTheHostsMessageWhenItCannotCalibrate) {
  TestHost host;
  host.calibration_error = "the model cannot be run in float32";
  Instance inst("quant-int4-calibrated", {}, host);
  ASSERT_EQ(inst.created(), ACCELAB_STATUS_OK) << inst.message();
  EXPECT_EQ(inst.apply(host.model()), ACCELAB_STATUS_UNSUPPORTED);
  EXPECT_EQ(inst.message(), "the model cannot be run in float32");
  EXPECT_EQ(host.tensor(2).dtype, ACCELAB_DTYPE_F32) << "nothing is replaced before calibration succeeds";
  EXPECT_EQ(host.live_allocations(), 0);
}

TEST(QuantIntPlugin, IncludeAndExcludeSelectTheMatrices) {
  TestHost host;
  Instance inst("quant-int8", {{"include", "blk\\..*"}, {"exclude", ".*ffn_down.*"}}, host);
  ASSERT_EQ(inst.created(), ACCELAB_STATUS_OK) << inst.message();
  ASSERT_EQ(inst.apply(host.model()), ACCELAB_STATUS_OK);
  EXPECT_EQ(host.tensor(0).dtype, ACCELAB_DTYPE_F32);
  EXPECT_EQ(host.tensor(2).dtype, ACCELAB_DTYPE_I8);
  EXPECT_EQ(host.tensor(3).dtype, ACCELAB_DTYPE_F32);
  EXPECT_EQ(host.records.at("tensors_touched"), 1);
  ASSERT_EQ(host.records.at("skipped").size(), 1u);
  EXPECT_EQ(host.records.at("skipped")[0]["name"], "blk.0.ffn_down.weight");
}

// A pattern's typo, or a stage after another that already converted the matrices, would run a
// pipeline its name mislabels: apply fails and says why.
TEST(QuantIntPlugin, ApplyFailsWhenThePatternsLeaveNothingToQuantize) {
  TestHost host;
  Instance typo("quant-int8", {{"include", "attn_q"}}, host);  // not the whole name
  ASSERT_EQ(typo.created(), ACCELAB_STATUS_OK) << typo.message();
  EXPECT_NE(typo.apply(host.model()), ACCELAB_STATUS_OK);
  EXPECT_NE(typo.message().find("quant-int8: include 'attn_q' matches none of the model's 3 matrices"), std::string::npos)
      << typo.message();
  EXPECT_NE(typo.message().find("whole name"), std::string::npos) << typo.message();

  Instance first("quant-int8", {}, host);
  ASSERT_EQ(first.created(), ACCELAB_STATUS_OK) << first.message();
  ASSERT_EQ(first.apply(host.model()), ACCELAB_STATUS_OK) << first.message();
  Instance second("quant-int4", {}, host);
  ASSERT_EQ(second.created(), ACCELAB_STATUS_OK) << second.message();
  EXPECT_NE(second.apply(host.model()), ACCELAB_STATUS_OK);
  EXPECT_NE(second.message().find("no matrix left to convert"), std::string::npos) << second.message();
  EXPECT_NE(second.message().find("removes 1"), std::string::npos) << second.message();
  EXPECT_NE(second.message().find("2 are no longer f32"), std::string::npos) << second.message();
  EXPECT_EQ(host.live_allocations(), 0);
}

}  // namespace
}  // namespace accelab
