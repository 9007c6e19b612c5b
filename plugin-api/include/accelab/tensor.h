/*
 * accelab plugin ABI — tensor views.
 *
 * A tensor crosses the host/plugin boundary as a plain struct that points at memory it does not
 * own (in the spirit of DLPack): whoever allocated the memory frees it. Tensors are row-major and
 * contiguous in their last dimension; `shape[0]` is the outermost dimension. A weight matrix that
 * maps `in` features to `out` features has shape {out, in}: one row per output.
 *
 * Quantized tensors store integer codes in `data` and describe how to turn them back into real
 * numbers in `quant`; pruned tensors describe which weights are kept in `sparsity`. Both
 * descriptors are all-zero for a plain dense float tensor.
 *
 * This header is C (C99 and later) and C++ compatible.
 */
#ifndef ACCELAB_TENSOR_H
#define ACCELAB_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Maximum number of dimensions a tensor view carries. */
#define ACCELAB_MAX_DIMS 4

/** Element type of the values stored in `accelab_tensor.data`. */
typedef enum accelab_dtype {
  ACCELAB_DTYPE_F32 = 0,  /**< IEEE-754 binary32. */
  ACCELAB_DTYPE_F16 = 1,  /**< IEEE-754 binary16. */
  ACCELAB_DTYPE_BF16 = 2, /**< bfloat16: the upper half of a binary32. */
  ACCELAB_DTYPE_I8 = 3,   /**< signed 8-bit integer codes (quantized: see `accelab_quant`). */
  ACCELAB_DTYPE_U8 = 4,   /**< unsigned 8-bit integer codes. */
  ACCELAB_DTYPE_I4 = 5,   /**< signed 4-bit codes, two per byte, low nibble first. */
  ACCELAB_DTYPE_U4 = 6,   /**< unsigned 4-bit codes, two per byte, low nibble first. */
  ACCELAB_DTYPE_I32 = 7   /**< signed 32-bit integers (token ids, indices). */
} accelab_dtype;

/** Where the memory behind a pointer lives. */
typedef enum accelab_device_type {
  ACCELAB_DEVICE_CPU = 0,  /**< Host memory. */
  ACCELAB_DEVICE_CUDA = 1  /**< CUDA device memory; `device_id` is the CUDA ordinal. */
} accelab_device_type;

/** How quantized codes map back to real values. */
typedef enum accelab_quant_scheme {
  ACCELAB_QUANT_SCHEME_NONE = 0,       /**< Not quantized: `data` holds the values themselves. */
  ACCELAB_QUANT_SCHEME_SYMMETRIC = 1,  /**< value = scale[block] * code. */
  ACCELAB_QUANT_SCHEME_ASYMMETRIC = 2  /**< value = scale[block] * code + min[block]. */
} accelab_quant_scheme;

/**
 * Block quantization descriptor. Blocks run along the last dimension: row r, columns
 * [b * block_size, (b + 1) * block_size) share scale `scales[r * blocks_per_row + b]`, where
 * blocks_per_row = ceil(last_dim / block_size). A per-channel scale is block_size == last_dim.
 *
 * Two-level scales (`scale_dtype` U8, ABI 1.2): the block scales are themselves quantized per
 * row, as in QLoRA's double quantization and llama.cpp's K-quants. `scales` holds uint8 codes and
 * `mins` int8 codes, and row r's f32 factors turn them into values:
 *   scale = scale_factors[r] * (float)scales[r * blocks_per_row + b]   (computed in f32)
 *   min   = min_factors[r] * (float)mins[r * blocks_per_row + b]
 * One byte per scale (and min) instead of two: a 4-bit block of 32 weights stores 4.25 (SYMMETRIC)
 * or 4.5 (ASYMMETRIC) bits per weight instead of 4.5 or 5.0, plus 32 or 64 bits per row.
 */
typedef struct accelab_quant {
  accelab_quant_scheme scheme; /**< NONE for unquantized tensors (all other fields zero). */
  uint32_t bits;               /**< Code width in bits (8 or 4 today); matches `dtype`. */
  uint32_t block_size;         /**< Number of consecutive codes sharing one scale. */
  accelab_dtype scale_dtype;   /**< Type of `scales` and `mins`: F32, F16 or BF16, or U8 for
                                    two-level scales (uint8 scales, int8 mins; see above). */
  const void* scales;          /**< One scale per block, row-major [rows, blocks_per_row]. */
  const void* mins;            /**< ASYMMETRIC only: one offset per block; NULL otherwise. */
  const float* scale_factors;  /**< U8 scales only: one f32 factor per row; NULL otherwise (1.2). */
  const float* min_factors;    /**< U8 scales, ASYMMETRIC only: one f32 factor per row; NULL
                                    otherwise (1.2). */
  uint64_t reserved[2];        /**< Zero. Room for later fields without a major version bump. */
} accelab_quant;

/** How a pruned tensor records which weights survive. */
typedef enum accelab_sparsity_layout {
  ACCELAB_SPARSITY_DENSE = 0,        /**< No sparsity information. */
  ACCELAB_SPARSITY_UNSTRUCTURED = 1, /**< `mask`: one bit per element, 1 = kept (LSB first). */
  ACCELAB_SPARSITY_N_M = 2,          /**< At most `n` non-zeros in every `m` consecutive weights of a
                                          row; `mask` as for UNSTRUCTURED. */
  ACCELAB_SPARSITY_ROWS = 3,         /**< Structured: only rows `kept_index[0..kept_count)` of the
                                          original `original_extent` rows remain in `data`. */
  ACCELAB_SPARSITY_COLUMNS = 4       /**< Structured: only those columns of the original remain. */
} accelab_sparsity_layout;

/** Sparsity descriptor: all-zero (DENSE) for tensors that were never pruned. */
typedef struct accelab_sparsity {
  accelab_sparsity_layout layout; /**< Which of the fields below are meaningful. */
  uint32_t n;                     /**< N_M: kept weights per group. */
  uint32_t m;                     /**< N_M: group size. */
  const uint8_t* mask;            /**< UNSTRUCTURED / N_M: bitmask over all elements. */
  const int32_t* kept_index;      /**< ROWS / COLUMNS: original indices of the kept slices. */
  int64_t kept_count;             /**< ROWS / COLUMNS: number of entries in `kept_index`. */
  int64_t original_extent;        /**< ROWS / COLUMNS: extent of that dimension before pruning. */
  int64_t nonzero_count;          /**< Number of non-zero weights, or -1 when unknown. */
  uint64_t reserved[4];           /**< Zero. */
} accelab_sparsity;

/** A view of a tensor in memory owned by someone else. */
typedef struct accelab_tensor {
  const char* name;                /**< Stable name, e.g. "blk.3.attn_q.weight"; may be NULL. */
  void* data;                      /**< First element (codes for quantized tensors). */
  accelab_device_type device_type; /**< Where `data` lives. */
  int32_t device_id;               /**< Device ordinal for non-CPU devices; 0 on CPU. */
  accelab_dtype dtype;             /**< Type of the elements in `data`. */
  int32_t ndim;                    /**< Number of used entries in `shape` (1..ACCELAB_MAX_DIMS). */
  int64_t shape[ACCELAB_MAX_DIMS]; /**< Extents, outermost first; unused entries are 1. */
  uint64_t nbytes;                 /**< Bytes of `data` (codes only, excluding scales and masks). */
  accelab_quant quant;             /**< Quantization, or scheme NONE. */
  accelab_sparsity sparsity;       /**< Sparsity, or layout DENSE. */
  uint64_t reserved[4];            /**< Zero. */
} accelab_tensor;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ACCELAB_TENSOR_H */
