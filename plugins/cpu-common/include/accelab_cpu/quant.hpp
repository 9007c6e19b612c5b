// Kernels for block-quantized weight matrices: activations are quantized on the fly to int8
// groups of 32 and multiplied with int8/int4 weight codes in integer SIMD (AVX2 maddubs, AVX-512
// VNNI), or for prefill where the CPU and OS allow AMX, both sides dequantized to bf16 and
// multiplied in AMX-BF16 tiles; chosen at run time like the float kernels of kernels.hpp. The
// scalar "generic" variant is the reference the others are tested against (integer parts
// exactly; the bf16 prefill within 2^-7 of the sum of |products|).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

namespace accelab::cpu {

/// The block formats of tensor.h's accelab_quant that these kernels read. In all of them blocks
/// run along a row (`block` consecutive codes share a scale; the last block of a row may be
/// short), `scales` and `mins` are IEEE half [rows][ceil(cols / block)], or two-level (uint8
/// scale and int8 min codes, each times its row's f32 factor), and `block` is a multiple of 32.
///  - q8:      dtype I8, SYMMETRIC.  Codes int8 in [-127, 127], one per byte;  value = scale * code.
///  - q4:      dtype I4, SYMMETRIC.  Codes int4 in [-8, 7];                    value = scale * code.
///  - q4_asym: dtype U4, ASYMMETRIC. Codes uint4 in [0, 15];                   value = scale * code + min.
/// 4-bit codes are two per byte, low nibble first; every row starts on a byte boundary
/// (ceil(cols / 2) bytes per row).
enum class QuantFormat { q8, q4, q4_asym };

/// A quantized matrix [rows, cols] as a transform stored it (memory owned by the caller). Its
/// block scales are either f16 (`scales`, `mins`) or two-level (`scale_codes`, `min_codes` and
/// the per-row factors: scale = scale_factors[r] * code, min = min_factors[r] * code, in f32).
struct QuantSource {
  QuantFormat format = QuantFormat::q8;
  const void* codes = nullptr;
  const uint16_t* scales = nullptr;  ///< f16
  const uint16_t* mins = nullptr;    ///< f16; q4_asym only
  int64_t rows = 0, cols = 0, block = 32;
  const uint8_t* scale_codes = nullptr;  ///< two-level scales: uint8 [rows][blocks] (scales null)
  const int8_t* min_codes = nullptr;     ///< two-level, q4_asym only: int8 [rows][blocks]
  const float* scale_factors = nullptr;  ///< two-level: [rows]
  const float* min_factors = nullptr;    ///< two-level, q4_asym only: [rows]

  [[nodiscard]] bool two_level() const { return scale_codes != nullptr; }
};

/// Value of element (r, c) of `src` (scalar; the definition the kernels are tested against).
float dequantize(const QuantSource& src, int64_t r, int64_t c);
/// Row r of `src` as floats into out[0..cols).
void dequantize_row(const QuantSource& src, int64_t r, float* out);

/// A quantized weight matrix in the layout the kernels read, made once (at prepare) from a
/// QuantSource into a repacked copy it owns; source() still points at the caller's memory, which
/// must outlive it when source() is used. Cheap to move.
class QuantMatrix {
 public:
  QuantMatrix() = default;
  /// Validates `src` (throws std::invalid_argument with what is wrong) and prepares it.
  static QuantMatrix from(const QuantSource& src);

  [[nodiscard]] QuantFormat format() const { return format_; }
  [[nodiscard]] int64_t rows() const { return rows_; }
  [[nodiscard]] int64_t cols() const { return cols_; }
  /// Bytes one pass over all rows reads: codes, scales and mins (the roofline's bytes).
  [[nodiscard]] uint64_t stream_bytes() const { return stream_bytes_; }
  /// The matrix as the transform stored it.
  [[nodiscard]] const QuantSource& source() const { return src_; }

  // Layout read by the kernels (see src/quant_layout.hpp); public for the kernel variants only.
  QuantFormat format_ = QuantFormat::q8;
  int64_t rows_ = 0, cols_ = 0;
  uint64_t stream_bytes_ = 0;
  QuantSource src_{};
  /// Rows in panels of kPanelRows (the last one zero-padded), panel p at codes_ + p * panel_bytes_:
  /// first a record of scale_stride_ bytes per row (its f16 scales [blocks_per_row_], then for
  /// q4_asym its f16 mins, zero-padded to a 64-byte multiple; two-level: uint8 scale codes, then
  /// int8 min codes, with the row's factors in scale_factors_ / min_factors_), then the panel's codes line by
  /// line: line j (64 bytes) of the whole chunks of row m at (j * kPanelRows + m) * 64, so a
  /// thread that reads a panel's rows line by line in turn reads one contiguous stream; then, for
  /// rows that end in a short chunk (at most 12 groups past the whole chunks: tail_groups_), its
  /// lines of tail_line_bytes_ (4, 8 or 12 groups), interleaved the same way: line j of row m at
  /// tail_line_stride() * j + tail_line_bytes_ * m from tail(o) of row 0 (src/quant_layout.hpp).
  static constexpr int64_t kPanelRows = 8;
  static constexpr int64_t kLineStride = 64 * kPanelRows;  ///< from one line of a row to the next
  const void* codes_ = nullptr;        ///< the repacked rows (owned_), 64-byte aligned
  int64_t groups_ = 0;                 ///< groups of 32 codes per row (last one zero-padded)
  int64_t full_chunks_ = 0;            ///< whole chunks of 16 groups per row (the last one zero-padded)
  int64_t tail_groups_ = 0;            ///< groups in the short chunk that ends the row (0: none)
  int64_t tail_line_bytes_ = 0;        ///< a line of that chunk: 16, 32 or 48 bytes (0: none)
  int64_t row_bytes_ = 0;              ///< bytes of codes per row in the kernel layout
  int64_t scale_stride_ = 0;           ///< bytes of a row's scale record
  int64_t row_stride_ = 0;             ///< bytes per row in all: row_bytes_ + scale_stride_
  int64_t panel_bytes_ = 0;            ///< kPanelRows * row_stride_
  int64_t blocks_per_row_ = 0, groups_per_block_ = 1;
  bool two_level_ = false;             ///< scale records of uint8 / int8 codes (QuantSource)
  /// Two-level only: each row's factors, rows_ rounded up to a whole panel (zero past rows_).
  std::vector<float> scale_factors_, min_factors_;
  std::vector<int32_t> group_block_;   ///< block of each group, groups_ rounded up to 16
  std::shared_ptr<void> owned_;        ///< the repacked rows

  /// Bytes from codes_ to the panel that holds row o.
  [[nodiscard]] int64_t panel_offset(int64_t o) const { return o / kPanelRows * panel_bytes_; }
  /// Bytes from codes_ to line 0 of row o's codes; line j is kLineStride * j bytes further.
  [[nodiscard]] int64_t row_offset(int64_t o) const {
    return panel_offset(o) + kPanelRows * scale_stride_ + o % kPanelRows * 64;
  }
  /// Bytes from codes_ to row o's scale record.
  [[nodiscard]] int64_t scales_offset(int64_t o) const { return panel_offset(o) + o % kPanelRows * scale_stride_; }
  [[nodiscard]] const uint8_t* panel(int64_t o) const { return static_cast<const uint8_t*>(codes_) + panel_offset(o); }
  [[nodiscard]] const uint8_t* row(int64_t o) const { return static_cast<const uint8_t*>(codes_) + row_offset(o); }
  /// Lines of a chunk: 8 for q8, 4 for 4-bit.
  [[nodiscard]] int64_t chunk_lines() const { return format_ == QuantFormat::q8 ? 8 : 4; }
  /// Bytes from one line of the short chunk of a row to the next.
  [[nodiscard]] int64_t tail_line_stride() const { return kPanelRows * tail_line_bytes_; }
  /// Bytes from codes_ to line 0 of the short chunk of row o.
  [[nodiscard]] int64_t tail_offset(int64_t o) const {
    return panel_offset(o) + kPanelRows * scale_stride_ + full_chunks_ * chunk_lines() * kLineStride +
           o % kPanelRows * tail_line_bytes_;
  }
  [[nodiscard]] const uint8_t* tail(int64_t o) const { return static_cast<const uint8_t*>(codes_) + tail_offset(o); }
  [[nodiscard]] const uint16_t* row_scales(int64_t o) const {
    return reinterpret_cast<const uint16_t*>(static_cast<const uint8_t*>(codes_) + scales_offset(o));
  }
  [[nodiscard]] const uint16_t* row_mins(int64_t o) const { return row_scales(o) + blocks_per_row_; }
  /// Two-level: row o's uint8 scale codes and int8 min codes.
  [[nodiscard]] const uint8_t* row_scale_codes(int64_t o) const { return static_cast<const uint8_t*>(codes_) + scales_offset(o); }
  [[nodiscard]] const int8_t* row_min_codes(int64_t o) const {
    return reinterpret_cast<const int8_t*>(row_scale_codes(o) + blocks_per_row_);
  }
  /// Block b's scale and min of row o, as the kernels apply them (f16, or code times factor).
  [[nodiscard]] float block_scale(int64_t o, int64_t b) const;
  [[nodiscard]] float block_min(int64_t o, int64_t b) const;
};

/// Allocator of cache-line-aligned arrays: the kernels load 64 bytes of codes, scales or sums at
/// offsets that are multiples of 64 bytes, and a load that straddles two lines costs two.
template <class T>
struct CacheLineAllocator {
  using value_type = T;
  CacheLineAllocator() = default;
  template <class U>
  CacheLineAllocator(const CacheLineAllocator<U>&) noexcept {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{64})); }
  void deallocate(T* p, size_t) noexcept { ::operator delete(p, std::align_val_t{64}); }
  friend bool operator==(const CacheLineAllocator&, const CacheLineAllocator&) { return true; }
};

/// Activation rows quantized to int8 groups of 32 (with per-group scales and sums) for products
/// with one format of weights. reserve() allocates; quantize never does within the reservation.
class QuantActivations {
 public:
  void reserve(int64_t rows, int64_t cols);
  [[nodiscard]] int64_t rows() const { return rows_; }
  [[nodiscard]] int64_t cols() const { return cols_; }

  // Filled by QuantKernels::quantize; layout private to the kernel variants.
  int64_t rows_ = 0, cols_ = 0, groups_ = 0;  ///< groups_: per row, rounded up to 16
  QuantFormat format_ = QuantFormat::q8;
  std::vector<int8_t, CacheLineAllocator<int8_t>> q_;     ///< [rows][groups * 32] codes
  std::vector<float, CacheLineAllocator<float>> d_;       ///< [rows][groups] scales
  std::vector<int32_t, CacheLineAllocator<int32_t>> sum_;  ///< [rows][groups] sums of the codes
  /// [rows][groups * 32] the codes in the weights' lane order, for the variants whose decode
  /// kernel reads them so (filled by their quantize, once per input rather than per call).
  std::vector<int8_t, CacheLineAllocator<int8_t>> qt_;
  int64_t reserved_rows_ = 0, reserved_cols_ = 0;
};

struct QuantKernels {
  const char* isa;  ///< e.g. "avx512-vnni+amx", "avx512-vnni", "avx2-vnni", "avx2", "generic"

  /// Quantizes rows r < rows of x (leading dimension ldx, w.cols() wide) for products with `w`.
  /// Throws std::length_error beyond out's reservation.
  void (*quantize)(const QuantMatrix& w, const float* x, int64_t ldx, int64_t rows,
                   QuantActivations& out);

  /// y[r * ldy + o] = sum_i a_r[i] * w[o][i] for r < a.rows(), o in [o_begin, o_end), where a
  /// was quantized for `w` (or a matrix of the same format and cols). Small row counts stream
  /// each weight row once (decode); large ones use a blocked GEMM (prefill). Safe to
  /// call from several threads on disjoint output ranges.
  void (*gemm)(const QuantMatrix& w, const QuantActivations& a, float* y, int64_t ldy,
               int64_t o_begin, int64_t o_end);
};

/// The fastest quantized kernels this CPU supports (decided on first call; thread-safe).
/// ACCELAB_CPU_ISA=generic|avx2|avx512 caps it like best_kernels().
const QuantKernels& best_quant_kernels();
/// The variant named `isa`, or nullptr when this CPU cannot run it (or it was not built).
const QuantKernels* quant_kernels_for(std::string_view isa);
/// The quantized variants this CPU can run, best last.
std::vector<std::string> available_quant_isas();

}  // namespace accelab::cpu
