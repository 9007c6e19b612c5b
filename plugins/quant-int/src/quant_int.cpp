// quant-int8, quant-int4 and quant-int4-calibrated: integer block quantization of the weight
// matrices into the formats the CPU integer kernels read (see int_format.hpp).
#include <accelab/plugin.hpp>

#include <array>

#include "int_transform.hpp"

namespace {

using accelab::quant::IntFormat;
using accelab::quant::IntOptions;
using accelab::quant::IntTransform;

constexpr auto kInclude = accelab::string_param("include", ".*", nullptr, "regular expression: tensor names to quantize");
constexpr auto kExclude = accelab::string_param("exclude", "token_embd\\.weight", nullptr,
                                                "regular expression: tensor names to keep f32 (empty: none)");
constexpr auto kBlock = accelab::int_param("block", 32, 32, 1 << 20,
                                           "weights per scale along a row; a multiple of 32");
constexpr auto kScales = accelab::string_param("scales", "f16", "f16|u8",
                                               "f16: an f16 scale (and min) per block; u8: 8-bit codes of them times an f32 factor per row "
                                               "(two-level: 8 bits less per block and scale)");
constexpr auto kScheme = accelab::string_param("scheme", "sym", "sym|asym",
                                               "sym: codes [-8, 7], value = scale * code; asym: codes [0, 15] and a min per block");

IntOptions common_options(const accelab::Params& p, const char* strategy, IntFormat format) {
  IntOptions o;
  o.strategy = strategy;
  o.format = format;
  o.include = p.string("include");
  o.exclude = p.string("exclude");
  o.block = p.integer("block");
  o.two_level = accelab::quant::two_level_scales(p.string("scales"));
  return o;
}

class QuantInt8 final : public IntTransform {
 public:
  static constexpr const char* name = "quant-int8";
  static constexpr const char* description =
      "Symmetric int8 block quantization of the weight matrices (round to nearest, f16 scale per block).";
  static constexpr std::array params{kInclude, kExclude, kBlock, kScales};
  QuantInt8(const accelab::Params& p, const accelab::Host& host)
      : IntTransform(host, common_options(p, name, IntFormat::q8)) {}
};

class QuantInt4 final : public IntTransform {
 public:
  static constexpr const char* name = "quant-int4";
  static constexpr const char* description =
      "4-bit block quantization of the weight matrices, symmetric or with a min per block (round to nearest).";
  static constexpr std::array params{kInclude, kExclude, kBlock, kScheme, kScales};
  QuantInt4(const accelab::Params& p, const accelab::Host& host)
      : IntTransform(host, common_options(p, name, accelab::quant::int4_format(p.string("scheme")))) {}
};

class QuantInt4Calibrated final : public IntTransform {
 public:
  static constexpr const char* name = "quant-int4-calibrated";
  static constexpr const char* description =
      "4-bit block quantization whose scales minimise the error weighted by calibrated input-channel importance.";
  static constexpr std::array params{
      kInclude, kExclude, kBlock, kScheme, kScales,
      accelab::int_param("calibration-tokens", 4096, 1, int64_t{1} << 32, "tokens of calibration text the importance is measured on"),
      accelab::int_param("seed", 0, 0, int64_t{1} << 53, "picks the calibration text")};
  QuantInt4Calibrated(const accelab::Params& p, const accelab::Host& host)
      : IntTransform(host, options(p)) {}

 private:
  static IntOptions options(const accelab::Params& p) {
    IntOptions o = common_options(p, name, accelab::quant::int4_format(p.string("scheme")));
    o.calibrated = true;
    o.calibration_tokens = static_cast<uint64_t>(p.integer("calibration-tokens"));
    o.seed = static_cast<uint64_t>(p.integer("seed"));
    return o;
  }
};

}  // namespace

ACCELAB_PLUGIN("quant-int", "1.0.0", "Integer block quantization of weight matrices: int8, int4, and int4 with a calibrated scale search.",
               QuantInt8, QuantInt4, QuantInt4Calibrated)
