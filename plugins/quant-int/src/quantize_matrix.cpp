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

float QuantizedMatrix::block_scale(int64_t r, int64_t b) const {
  const int64_t i = r * blocks_per_row(cols, block) + b;
  return two_level() ? scale_factors[r] * static_cast<float>(scale_codes[i]) : from_f16(scales[i]);
}

float QuantizedMatrix::block_min(int64_t r, int64_t b) const {
  if (!is_asymmetric(format)) return 0.0f;
  const int64_t i = r * blocks_per_row(cols, block) + b;
  return two_level() ? min_factors[r] * static_cast<float>(min_codes[i]) : from_f16(mins[i]);
}

float dequantize(const QuantizedMatrix& m, int64_t r, int64_t c) {
  return decode(code_at(m, r, c), m.block_scale(r, c / m.block), m.block_min(r, c / m.block));
}

void dequantize_row(const QuantizedMatrix& m, int64_t r, float* out) {
  for (int64_t c = 0; c < m.cols; ++c) out[c] = dequantize(m, r, c);
}

namespace {

// One row's blocks as chosen: unpacked codes, and each block's scale and min (f16-rounded).
struct RowChoice {
  std::vector<int8_t> codes;
  std::vector<BlockScale> f16;
  std::vector<float> scales, mins;  // the values stored, as floats (two-level: after rounding)
};

// Rounds a row's choice to two-level scales (two_level_row) and chooses its codes again for the
// values stored; writes the scale codes and factors of row r into `out` when it is not null.
void make_two_level(const float* row, const QuantizedMatrix& m, int64_t r, RowChoice& c, const QuantizedMatrix* out) {
  const auto bpr = static_cast<size_t>(blocks_per_row(m.cols, m.block));
  const bool asym = is_asymmetric(m.format);
  thread_local std::vector<uint8_t> scale_codes;
  thread_local std::vector<int8_t> min_codes;
  scale_codes.resize(bpr);
  min_codes.resize(bpr);
  // Codes of scales are unsigned: a negative scale of the weighted q4 search (which lets -8 fall
  // at either end of a block) keeps its magnitude, and its block's codes are chosen again below.
  for (float& s : c.scales) s = std::fabs(s);
  const TwoLevelRow f = two_level_row(c.scales, asym ? std::span<float>(c.mins) : std::span<float>(),
                                      scale_codes, min_codes);
  for (size_t b = 0; b < bpr; ++b) {
    const int64_t begin = static_cast<int64_t>(b) * m.block, n = std::min(m.block, m.cols - begin);
    encode_block(m.format, std::span<const float>(row + begin, static_cast<size_t>(n)), c.scales[b], c.mins[b],
                 std::span<int8_t>(c.codes.data() + begin, static_cast<size_t>(n)));
  }
  if (out == nullptr) return;
  std::copy(scale_codes.begin(), scale_codes.end(), out->scale_codes + r * static_cast<int64_t>(bpr));
  out->scale_factors[r] = f.scale_factor;
  if (asym) {
    std::copy(min_codes.begin(), min_codes.end(), out->min_codes + r * static_cast<int64_t>(bpr));
    out->min_factors[r] = f.min_factor;
  }
}

// Chooses row `row`'s blocks into `c`: round to nearest, or (with importance) the weighted search.
void choose_row(const float* row, const QuantizedMatrix& m, std::span<const float> importance, bool weighted, RowChoice& c) {
  const int64_t bpr = blocks_per_row(m.cols, m.block);
  c.codes.resize(static_cast<size_t>(m.cols));
  c.f16.resize(static_cast<size_t>(bpr));
  c.scales.resize(static_cast<size_t>(bpr));
  c.mins.resize(static_cast<size_t>(bpr));
  for (int64_t b = 0; b < bpr; ++b) {
    const int64_t begin = b * m.block, n = std::min(m.block, m.cols - begin);
    const std::span<const float> x(row + begin, static_cast<size_t>(n));
    const std::span<int8_t> q(c.codes.data() + begin, static_cast<size_t>(n));
    const BlockScale s = weighted ? quantize_block_weighted(m.format, x, importance.subspan(static_cast<size_t>(begin), static_cast<size_t>(n)), q)
                                  : quantize_block_rtn(m.format, x, q);
    c.f16[static_cast<size_t>(b)] = s;
    c.scales[static_cast<size_t>(b)] = from_f16(s.scale);
    c.mins[static_cast<size_t>(b)] = from_f16(s.min);
  }
}

// sum over the row's blocks of block_error with the values `c` stores.
double row_error(const float* row, const QuantizedMatrix& m, std::span<const float> importance, const RowChoice& c) {
  double err = 0.0;
  for (int64_t b = 0; b < blocks_per_row(m.cols, m.block); ++b) {
    const int64_t begin = b * m.block, n = std::min(m.block, m.cols - begin);
    err += block_error(std::span<const float>(row + begin, static_cast<size_t>(n)),
                       importance.subspan(static_cast<size_t>(begin), static_cast<size_t>(n)),
                       std::span<const int8_t>(c.codes.data() + begin, static_cast<size_t>(n)),
                       c.scales[static_cast<size_t>(b)], c.mins[static_cast<size_t>(b)]);
  }
  return err;
}

// Rows [r0, r1) of quantize_matrix.
QuantErrors quantize_rows(const float* w, std::span<const float> importance, const QuantizedMatrix& out,
                          int64_t r0, int64_t r1) {
  const int64_t bpr = blocks_per_row(out.cols, out.block);
  const bool weighted = !importance.empty();
  RowChoice c, rtn;
  QuantErrors e;
  for (int64_t r = r0; r < r1; ++r) {
    const float* row = w + r * out.cols;
    choose_row(row, out, importance, weighted, c);
    if (out.two_level()) {
      make_two_level(row, out, r, c, &out);
    } else {
      for (int64_t b = 0; b < bpr; ++b) {
        out.scales[r * bpr + b] = c.f16[static_cast<size_t>(b)].scale;
        if (is_asymmetric(out.format)) out.mins[r * bpr + b] = c.f16[static_cast<size_t>(b)].min;
      }
    }
    if (weighted) {
      // The calibrated search against round to nearest, both stored the same way.
      e.weighted += row_error(row, out, importance, c);
      choose_row(row, out, importance, false, rtn);
      if (out.two_level()) make_two_level(row, out, r, rtn, nullptr);
      e.weighted_rtn += row_error(row, out, importance, rtn);
    }
    for (int64_t b = 0; b < bpr; ++b)
      for (int64_t i = b * out.block; i < std::min(out.cols, (b + 1) * out.block); ++i) {
        const double d = static_cast<double>(decode(c.codes[static_cast<size_t>(i)], c.scales[static_cast<size_t>(b)],
                                                    c.mins[static_cast<size_t>(b)])) - row[i];
        e.sum_sq += d * d;
        e.max_abs = std::max(e.max_abs, std::fabs(d));
      }
    pack_row(out.format, c.codes, out.codes + r * row_bytes(out.format, out.cols));
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
