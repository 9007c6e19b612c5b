// The scalar definition of the quantized formats (dequantize), and the preparation of weights and
// activation buffers in the kernels' layout (quant_layout.hpp). Baseline code: no -m flags.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "accelab_cpu/huge_pages.hpp"
#include "accelab_cpu/quant.hpp"
#include "half_scalar.hpp"
#include "quant_layout.hpp"

namespace accelab::cpu {
namespace {

int64_t source_row_bytes(const QuantSource& src) {
  return src.format == QuantFormat::q8 ? src.cols : ceil_div(src.cols, 2);
}

int source_code(const QuantSource& src, int64_t r, int64_t c) {
  const auto* row = static_cast<const uint8_t*>(src.codes) + r * source_row_bytes(src);
  if (src.format == QuantFormat::q8) return static_cast<int8_t>(row[c]);
  const int nibble = c % 2 ? row[c / 2] >> 4 : row[c / 2] & 0x0F;
  return src.format == QuantFormat::q4 ? (nibble ^ 8) - 8 : nibble;
}

// Block b of row r's scale and min (0 for symmetric formats) as the definition has them.
float source_scale(const QuantSource& src, int64_t r, int64_t b) {
  const int64_t i = r * ceil_div(src.cols, src.block) + b;
  if (src.two_level()) return src.scale_factors[r] * static_cast<float>(src.scale_codes[i]);
  return half_to_float(src.scales[i]);
}
float source_min(const QuantSource& src, int64_t r, int64_t b) {
  if (src.format != QuantFormat::q4_asym) return 0.0f;
  const int64_t i = r * ceil_div(src.cols, src.block) + b;
  if (src.two_level()) return src.min_factors[r] * static_cast<float>(src.min_codes[i]);
  return half_to_float(src.mins[i]);
}

void require(bool ok, const char* what) {
  if (ok) return;
  std::string message = "QuantMatrix::from: ";
  message += what;
  throw std::invalid_argument(message);
}

void validate(const QuantSource& src) {
  require(src.codes != nullptr, "codes is null");
  const bool asym = src.format == QuantFormat::q4_asym;
  if (src.two_level()) {
    require(src.scales == nullptr && src.mins == nullptr, "both f16 and two-level scales given");
    require(src.scale_factors != nullptr, "scale_factors missing for two-level scales");
    require(!asym || (src.min_codes != nullptr && src.min_factors != nullptr),
            "min codes or min_factors missing for two-level q4_asym");
  } else {
    require(src.scales != nullptr, "scales is null");
    require(!asym || src.mins != nullptr, "mins missing for q4_asym");
  }
  require(src.rows > 0, "rows must be positive");
  require(src.cols > 0, "cols must be positive");
  if (src.block <= 0 || src.block % kGroup != 0) {
    std::string message = "block must be a positive multiple of 32 (got ";
    message += std::to_string(src.block);
    message += ")";
    require(false, message.c_str());
  }
}

// Zeroed memory for the repacked rows, in huge pages from 2 MiB on (huge_pages.hpp): the kernels
// stream them. Cache-line aligned at every size: with new[]'s 16 bytes every 64-byte line of a
// small matrix straddled two cache lines.
std::shared_ptr<uint8_t> zeroed_rows(size_t bytes) {
  StreamBuffer b = stream_buffer(bytes);
  const StreamBufferFree free = b.get_deleter();
  return {reinterpret_cast<uint8_t*>(b.release()), [free](uint8_t* q) { free(reinterpret_cast<std::byte*>(q)); }};
}

// Every row in the kernel layout (quant_layout.hpp): scale records and line-interleaved codes of
// each panel of rows, zero-padded, and 64 bytes of slack after the last panel: the decode kernel
// reads the last 48-byte line of a short chunk with a 64-byte load (quant_avx512.hpp, load_line).
std::shared_ptr<void> repack(const QuantSource& src, const QuantMatrix& m) {
  const int64_t panels = ceil_div(src.rows, QuantMatrix::kPanelRows);
  std::shared_ptr<uint8_t> out = zeroed_rows(static_cast<size_t>(panels * m.panel_bytes_ + 64));
  const int64_t blocks = m.blocks_per_row_;
  for (int64_t r = 0; r < src.rows; ++r) {
    for (int64_t c = 0; c < src.cols; ++c) {
      const auto stored = static_cast<uint8_t>(source_code(src, r, c) + weight_bias(src.format));
      uint8_t& byte = out.get()[code_offset(m, r, c)];
      if (src.format == QuantFormat::q8) byte = stored;
      else byte |= static_cast<uint8_t>(stored << nibble_shift(c));
    }
    uint8_t* record = out.get() + m.scales_offset(r);
    const bool asym = src.format == QuantFormat::q4_asym;
    if (src.two_level()) {
      std::memcpy(record, src.scale_codes + r * blocks, static_cast<size_t>(blocks));
      if (asym) std::memcpy(record + blocks, src.min_codes + r * blocks, static_cast<size_t>(blocks));
    } else {
      std::memcpy(record, src.scales + r * blocks, static_cast<size_t>(blocks) * 2);
      if (asym) std::memcpy(record + 2 * blocks, src.mins + r * blocks, static_cast<size_t>(blocks) * 2);
    }
  }
  return out;
}

}  // namespace

float dequantize(const QuantSource& src, int64_t r, int64_t c) {
  const float value = source_scale(src, r, c / src.block) * static_cast<float>(source_code(src, r, c));
  return src.format == QuantFormat::q4_asym ? value + source_min(src, r, c / src.block) : value;
}

float QuantMatrix::block_scale(int64_t o, int64_t b) const {
  if (two_level_) return scale_factors_[static_cast<size_t>(o)] * static_cast<float>(row_scale_codes(o)[b]);
  return half_to_float(row_scales(o)[b]);
}

float QuantMatrix::block_min(int64_t o, int64_t b) const {
  if (format_ != QuantFormat::q4_asym) return 0.0f;
  if (two_level_) return min_factors_[static_cast<size_t>(o)] * static_cast<float>(row_min_codes(o)[b]);
  return half_to_float(row_mins(o)[b]);
}

void dequantize_row(const QuantSource& src, int64_t r, float* out) {
  for (int64_t c = 0; c < src.cols; ++c) out[c] = dequantize(src, r, c);
}

QuantMatrix QuantMatrix::from(const QuantSource& src) {
  validate(src);
  QuantMatrix m;
  m.format_ = src.format;
  m.rows_ = src.rows;
  m.cols_ = src.cols;
  m.src_ = src;
  m.groups_ = ceil_div(src.cols, kGroup);
  m.blocks_per_row_ = ceil_div(src.cols, src.block);
  m.groups_per_block_ = src.block / kGroup;
  // Up to 12 groups past the whole chunks go in a short chunk of 4, 8 or 12 groups; more, in one
  // more whole chunk.
  m.full_chunks_ = m.groups_ / kChunkGroups;
  m.tail_groups_ = m.groups_ % kChunkGroups;
  if (m.tail_groups_ > kMaxTailGroups) {
    ++m.full_chunks_;
    m.tail_groups_ = 0;
  }
  // 4 bytes (a 32-bit lane) per group, the groups rounded up to 4: loads of 16, 32 or 48 bytes.
  m.tail_line_bytes_ = ceil_div(m.tail_groups_, 4) * 4 * 4;
  m.row_bytes_ = (m.full_chunks_ * 64 + m.tail_line_bytes_) * m.chunk_lines();
  // Scales (and mins) inside their panel keep a panel one sequential stream: as a separate array
  // they were a second stream per row that the hardware prefetcher lost track of
  // (plugins/cpu-common/README.md, "Decode").
  const int64_t scale_sets = src.format == QuantFormat::q4_asym ? 2 : 1;
  m.two_level_ = src.two_level();
  m.scale_stride_ = ceil_div(scale_sets * (m.two_level_ ? 1 : 2) * m.blocks_per_row_, 64) * 64;
  m.row_stride_ = m.row_bytes_ + m.scale_stride_;
  m.panel_bytes_ = QuantMatrix::kPanelRows * m.row_stride_;
  m.owned_ = repack(src, m);
  m.codes_ = m.owned_.get();
  m.group_block_.resize(static_cast<size_t>(padded_groups(src.cols)));
  for (size_t g = 0; g < m.group_block_.size(); ++g)
    m.group_block_[g] = static_cast<int32_t>(static_cast<int64_t>(g) / m.groups_per_block_);
  m.stream_bytes_ = static_cast<uint64_t>(src.rows * m.row_stride_);
  if (m.two_level_) {
    const auto padded = static_cast<size_t>(ceil_div(src.rows, QuantMatrix::kPanelRows) * QuantMatrix::kPanelRows);
    m.scale_factors_.assign(src.scale_factors, src.scale_factors + src.rows);
    m.scale_factors_.resize(padded, 0.0f);
    if (src.format == QuantFormat::q4_asym) {
      m.min_factors_.assign(src.min_factors, src.min_factors + src.rows);
      m.min_factors_.resize(padded, 0.0f);
    }
    // The factors are read once per row (kept in cache, not streamed), but they are the
    // matrix's bytes all the same.
    m.stream_bytes_ += static_cast<uint64_t>(src.rows * scale_sets * 4);
  }
  return m;
}

void QuantActivations::reserve(int64_t rows, int64_t cols) {
  if (rows <= reserved_rows_ && cols <= reserved_cols_) return;
  reserved_rows_ = rows > reserved_rows_ ? rows : reserved_rows_;
  reserved_cols_ = cols > reserved_cols_ ? cols : reserved_cols_;
  const auto groups = static_cast<size_t>(reserved_rows_ * padded_groups(reserved_cols_));
  q_.assign(groups * kGroup, 0);
  qt_.assign(groups * kGroup, 0);
  d_.assign(groups, 0.0f);
  sum_.assign(groups, 0);
}

}  // namespace accelab::cpu
