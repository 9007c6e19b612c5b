#include "int_transform.hpp"

#include <cmath>
#include <cstdio>
#include <span>
#include <stdexcept>
#include <utility>

#include "quantize_matrix.hpp"

namespace accelab::quant {
namespace {

std::string checked_block(const IntOptions& o) {
  if (o.block > 0 && o.block % 32 == 0) return {};
  std::string message = o.strategy;
  message += ": block must be a positive multiple of 32 (the kernels quantize activations in groups of 32), got ";
  message += std::to_string(o.block);
  return message;
}

// Memory from host.alloc, freed unless handed to the host with release().
class HostMemory {
 public:
  HostMemory(const accelab::Host& host, uint64_t bytes) : host_(host), p_(host.alloc(bytes)) {}
  ~HostMemory() {
    if (p_ != nullptr) host_.free(p_);
  }
  HostMemory(const HostMemory&) = delete;
  HostMemory& operator=(const HostMemory&) = delete;
  template <class T>
  [[nodiscard]] T* as() const { return static_cast<T*>(p_); }
  void* release() { return std::exchange(p_, nullptr); }
  template <class T>
  T* release() { return static_cast<T*>(release()); }

 private:
  const accelab::Host& host_;
  void* p_;
};

}  // namespace

IntFormat int4_format(const std::string& scheme) {
  if (scheme == "sym") return IntFormat::q4;
  if (scheme == "asym") return IntFormat::q4_asym;
  std::string message = "scheme must be sym or asym, got '";
  message += scheme;
  message += "'";
  throw std::invalid_argument(message);
}

bool two_level_scales(const std::string& scales) {
  if (scales == "f16") return false;
  if (scales == "u8") return true;
  std::string message = "scales must be f16 or u8, got '";
  message += scales;
  message += "'";
  throw std::invalid_argument(message);
}

IntTransform::IntTransform(const accelab::Host& host, IntOptions options)
    : host_(host), options_(std::move(options)), filter_(options_.include, options_.exclude) {
  if (const std::string bad = checked_block(options_); !bad.empty()) throw std::invalid_argument(bad);
  if (options_.calibrated && options_.format == IntFormat::q8)
    throw std::invalid_argument("the calibrated search is implemented for 4-bit formats only");
}

std::optional<std::string> IntTransform::skip_reason(const accelab_tensor& t) const {
  const std::string_view name = t.name ? t.name : "";
  if (filter_.excluded(name)) return "excluded by the exclude pattern";
  if (t.quant.scheme != ACCELAB_QUANT_SCHEME_NONE) return "already quantized";
  if (t.dtype != ACCELAB_DTYPE_F32) {
    std::string why = "dtype ";
    why += accelab::dtype_name(t.dtype);
    why += " is not f32";
    return why;
  }
  if (t.sparsity.layout != ACCELAB_SPARSITY_DENSE) return "pruned (sparse) tensors are not quantized";
  return std::nullopt;
}

void IntTransform::plan(const accelab_model_config&, accelab_tensor& t) {
  if (!filter_.matches(t) || skip_reason(t)) return;
  const FormatInfo fi = info(options_.format);
  t.dtype = fi.dtype;
  t.nbytes = static_cast<uint64_t>(t.shape[0] * row_bytes(options_.format, t.shape[1]));
  t.quant = accelab_quant{};
  t.quant.scheme = fi.scheme;
  t.quant.bits = fi.bits;
  t.quant.block_size = static_cast<uint32_t>(options_.block);
  t.quant.scale_dtype = options_.two_level ? ACCELAB_DTYPE_U8 : ACCELAB_DTYPE_F16;
}

void IntTransform::apply(accelab_model& model) {
  TransformReport report;
  for (int32_t i = 0; i < model.n_tensors; ++i) {
    const accelab_tensor& t = model.tensors[i];
    const std::string name = t.name ? t.name : "";
    if (t.ndim != 2 || !filter_.included(name)) continue;
    if (auto why = skip_reason(t)) {
      report.skipped.push_back({name, *why});
      continue;
    }
    report.tensors.push_back(quantize_tensor(model, i, report));
  }
  if (report.tensors.empty()) throw std::runtime_error(filter_.nothing_converted(options_.strategy, model));
  record_report(host_, report);
  char line[200];
  std::snprintf(line, sizeof line, "%s: %zu matrices quantized, %.3f bits/weight", options_.strategy.c_str(),
                report.tensors.size(), bits_per_weight(report));
  host_.log(ACCELAB_LOG_INFO, line);
}

TensorReport IntTransform::quantize_tensor(accelab_model& model, int32_t index, TransformReport& report) {
  const accelab_tensor src = model.tensors[index];
  const int64_t rows = src.shape[0], cols = src.shape[1];
  std::span<const float> importance;
  if (options_.calibrated) {
    const accelab_calibration c = host_.calibration(model, index, options_.calibration_tokens, options_.seed);
    if (c.channels != cols || c.mean_square == nullptr) {
      std::string message = "calibration of ";
      message += src.name;
      message += " has ";
      message += std::to_string(c.channels);
      message += " channels, the matrix ";
      message += std::to_string(cols);
      message += " columns";
      throw std::runtime_error(message);
    }
    if (!report.calibration) report.calibration = c;
    importance = std::span<const float>(c.mean_square, static_cast<size_t>(cols));
  }

  const IntFormat f = options_.format;
  const bool two_level = options_.two_level, asym = is_asymmetric(f);
  const uint64_t n_blocks = static_cast<uint64_t>(rows * blocks_per_row(cols, options_.block));
  const uint64_t scale_bytes = two_level ? 1 : 2;
  HostMemory codes(host_, static_cast<uint64_t>(rows * row_bytes(f, cols)));
  HostMemory scales(host_, n_blocks * scale_bytes);
  std::optional<HostMemory> mins, scale_factors, min_factors;
  if (asym) mins.emplace(host_, n_blocks * scale_bytes);
  if (two_level) scale_factors.emplace(host_, static_cast<uint64_t>(rows) * sizeof(float));
  if (two_level && asym) min_factors.emplace(host_, static_cast<uint64_t>(rows) * sizeof(float));

  QuantizedMatrix q{f, rows, cols, options_.block, codes.as<uint8_t>()};
  if (two_level) {
    q.scale_codes = scales.as<uint8_t>();
    q.min_codes = mins ? mins->as<int8_t>() : nullptr;
    q.scale_factors = scale_factors->as<float>();
    q.min_factors = min_factors ? min_factors->as<float>() : nullptr;
  } else {
    q.scales = scales.as<uint16_t>();
    q.mins = mins ? mins->as<uint16_t>() : nullptr;
  }
  const QuantErrors e = quantize_matrix(static_cast<const float*>(src.data), importance, q);

  TensorReport r;
  r.name = src.name;
  r.rows = rows;
  r.cols = cols;
  r.stored_bytes = stored_bytes(f, rows, cols, options_.block, two_level);
  r.rmse = std::sqrt(e.sum_sq / static_cast<double>(rows * cols));
  r.max_abs = e.max_abs;
  if (options_.calibrated) r.weighted_error_vs_rtn = e.weighted_rtn > 0.0 ? e.weighted / e.weighted_rtn : 1.0;

  accelab_tensor out = src;
  plan(accelab_model_config{}, out);  // the metadata plan() promised, by construction
  out.data = codes.release();
  out.quant.scales = scales.release();
  if (mins) out.quant.mins = mins->release();
  if (scale_factors) out.quant.scale_factors = scale_factors->release<float>();
  if (min_factors) out.quant.min_factors = min_factors->release<float>();
  host_.replace_tensor(model, index, out);
  return r;
}

}  // namespace accelab::quant
