#include "quantize_matrix.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "block_quantize.hpp"

namespace accelab::quant {

void pack_row(IntFormat f, std::span<const int8_t> codes, uint8_t* row) {
  if (info(f).bits == 8) {
    for (size_t i = 0; i < codes.size(); ++i) row[i] = static_cast<uint8_t>(codes[i]);
    return;
  }
  std::fill(row, row + row_bytes(f, static_cast<int64_t>(codes.size())), uint8_t{0});
  for (size_t i = 0; i < codes.size(); ++i)
    row[i / 2] |= static_cast<uint8_t>((static_cast<unsigned>(codes[i]) & 0xFu) << (4 * (i % 2)));
}

int code_at(const QuantizedMatrix& m, int64_t r, int64_t c) {
  const uint8_t* row = m.codes + r * row_bytes(m.format, m.cols);
  if (info(m.format).bits == 8) return static_cast<int8_t>(row[c]);
  const int nibble = (row[c / 2] >> (4 * (c % 2))) & 0xF;
  return m.format == IntFormat::q4 && nibble >= 8 ? nibble - 16 : nibble;
}

float dequantize(const QuantizedMatrix& m, int64_t r, int64_t c) {
  const int64_t b = r * blocks_per_row(m.cols, m.block) + c / m.block;
  const float min = is_asymmetric(m.format) ? from_f16(m.mins[b]) : 0.0f;
  return decode(code_at(m, r, c), from_f16(m.scales[b]), min);
}

void dequantize_row(const QuantizedMatrix& m, int64_t r, float* out) {
  for (int64_t c = 0; c < m.cols; ++c) out[c] = dequantize(m, r, c);
}

namespace {

// Rows [r0, r1) of quantize_matrix.
QuantErrors quantize_rows(const float* w, std::span<const float> importance, const QuantizedMatrix& out,
                          int64_t r0, int64_t r1) {
  const int64_t bpr = blocks_per_row(out.cols, out.block);
  const bool weighted = !importance.empty();
  std::vector<int8_t> codes(static_cast<size_t>(out.cols)), rtn_codes;
  if (weighted) rtn_codes.resize(static_cast<size_t>(out.block));
  QuantErrors e;
  for (int64_t r = r0; r < r1; ++r) {
    const float* row = w + r * out.cols;
    for (int64_t b = 0; b < bpr; ++b) {
      const int64_t begin = b * out.block, n = std::min(out.block, out.cols - begin);
      const std::span<const float> x(row + begin, static_cast<size_t>(n));
      const std::span<int8_t> q(codes.data() + begin, static_cast<size_t>(n));
      BlockScale s;
      if (weighted) {
        const auto imp = importance.subspan(static_cast<size_t>(begin), static_cast<size_t>(n));
        s = quantize_block_weighted(out.format, x, imp, q);
        e.weighted += block_error(x, imp, q, s);
        const std::span<int8_t> rq(rtn_codes.data(), static_cast<size_t>(n));
        e.weighted_rtn += block_error(x, imp, rq, quantize_block_rtn(out.format, x, rq));
      } else {
        s = quantize_block_rtn(out.format, x, q);
      }
      out.scales[r * bpr + b] = s.scale;
      if (is_asymmetric(out.format)) out.mins[r * bpr + b] = s.min;
      const float scale = from_f16(s.scale), min = from_f16(s.min);
      for (int64_t i = 0; i < n; ++i) {
        const double d = static_cast<double>(decode(q[static_cast<size_t>(i)], scale, min)) - x[static_cast<size_t>(i)];
        e.sum_sq += d * d;
        e.max_abs = std::max(e.max_abs, std::fabs(d));
      }
    }
    pack_row(out.format, codes, out.codes + r * row_bytes(out.format, out.cols));
  }
  return e;
}

}  // namespace

QuantErrors quantize_matrix(const float* w, std::span<const float> importance, const QuantizedMatrix& out) {
  // Rows are independent: split them over the machine's cores (the 1.1B-parameter shape has
  // 34 million blocks; the weighted search tries dozens of scales on each).
  const int64_t threads = std::clamp<int64_t>(std::thread::hardware_concurrency(), 1, std::max<int64_t>(1, out.rows / 16));
  std::vector<QuantErrors> parts(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  std::exception_ptr failure;
  std::mutex failure_mutex;
  for (int64_t t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      try {
        parts[static_cast<size_t>(t)] = quantize_rows(w, importance, out, out.rows * t / threads, out.rows * (t + 1) / threads);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        failure = std::current_exception();
      }
    });
  for (auto& th : pool) th.join();
  if (failure) std::rethrow_exception(failure);
  QuantErrors e;
  for (const QuantErrors& p : parts) {
    e.sum_sq += p.sum_sq;
    e.max_abs = std::max(e.max_abs, p.max_abs);
    e.weighted += p.weighted;
    e.weighted_rtn += p.weighted_rtn;
  }
  return e;
}

}  // namespace accelab::quant
