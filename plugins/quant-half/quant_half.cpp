// quant-fp16 and quant-bf16: store weight matrices at half precision. The CPU backends convert
// them back on the fly inside their matrix kernels, so a decode step reads half the bytes.
#include <accelab/plugin.hpp>
#include <accelab_cpu/kernels.hpp>
#include <accelab_quant/tensor_filter.hpp>

#include <array>
#include <cstring>
#include <stdexcept>
#include <string>

namespace {

constexpr const char* kDefaultExclude = "token_embd\\.weight";

template <accelab_dtype Type>
class HalfTransform : public accelab::Transform {
 public:
  // The same parameters for both strategies (found through T::params by the plugin glue).
  static constexpr std::array params{
      accelab::string_param("include", ".*", nullptr, "regular expression: tensor names to convert"),
      accelab::string_param("exclude", kDefaultExclude, nullptr, "regular expression: tensor names to keep f32 (empty: none)")};

  HalfTransform(const accelab::Params& p, const accelab::Host& host)
      : host_(host), filter_(p.string("include"), p.string("exclude")) {}

  void plan(const accelab_model_config&, accelab_tensor& t) override {
    if (!filter_.matches(t)) return;
    t.dtype = Type;
    t.nbytes /= 2;
  }

  void apply(accelab_model& model) override {
    int32_t converted = 0;
    for (int32_t i = 0; i < model.n_tensors; ++i) {
      const accelab_tensor& src = model.tensors[i];
      if (!filter_.matches(src)) continue;
      ++converted;
      const uint64_t n = src.nbytes / 4;
      auto* dst = static_cast<uint16_t*>(host_.alloc(n * 2));
      const auto* in = static_cast<const float*>(src.data);
      for (uint64_t j = 0; j < n; ++j)
        dst[j] = Type == ACCELAB_DTYPE_F16 ? accelab::cpu::f32_to_f16(in[j]) : accelab::cpu::f32_to_bf16(in[j]);
      accelab_tensor out = src;
      out.data = dst;
      out.dtype = Type;
      out.nbytes = n * 2;
      host_.replace_tensor(model, i, out);
    }
    if (converted == 0) throw std::runtime_error(filter_.nothing_converted(Type == ACCELAB_DTYPE_F16 ? "quant-fp16" : "quant-bf16", model));
  }

 private:
  accelab::Host host_;
  accelab::quant::TensorFilter filter_;
};

class QuantFp16 final : public HalfTransform<ACCELAB_DTYPE_F16> {
 public:
  static constexpr const char* name = "quant-fp16";
  static constexpr const char* description =
      "Stores weight matrices as IEEE half precision (the embedding stays f32 by default).";
  using HalfTransform::HalfTransform;
};

class QuantBf16 final : public HalfTransform<ACCELAB_DTYPE_BF16> {
 public:
  static constexpr const char* name = "quant-bf16";
  static constexpr const char* description =
      "Stores weight matrices as bfloat16, rounded to nearest even (the embedding stays f32 by default).";
  using HalfTransform::HalfTransform;
};

}  // namespace

ACCELAB_PLUGIN("quant-half", "1.0.0", "Half-precision weight storage: fp16 and bf16.", QuantFp16, QuantBf16)
