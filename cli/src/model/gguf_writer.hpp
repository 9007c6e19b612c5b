// Writing models: a `llama` GGUF v3 that llama.cpp loads (F32, F16, BF16, Q8_0, Q4_0, Q4_1
// tensors, the tokenizer embedded), and a llama2.c checkpoint (float32 models).
#pragma once

#include <string>

#include "model/model.hpp"
#include "tokenizer/tokenizer.hpp"

namespace accelab {

/// Writes `model` with `tokenizer` as GGUF v3 (alignment 32) to `path` (via a temporary file
/// renamed into place). F32/F16/BF16 tensors keep their type; accelab's symmetric int8, symmetric
/// int4 and asymmetric uint4 blocks of 32 with f16 scales become Q8_0, Q4_0 and Q4_1; 1-D tensors
/// are F32. Anything else (another block size, sparse tensors) is a ConfigError naming the tensor.
/// A shared classifier is written as no output.weight (llama.cpp then ties it). `name` becomes
/// general.name. The llama2.c RoPE tables, when given (seq_len × head_size / 2 floats each), are
/// kept in metadata so that a conversion back is byte-identical.
void write_gguf(const Model& model, const Tokenizer& tokenizer, const std::string& name, const std::string& path,
                const std::vector<float>& freq_cis_real = {}, const std::vector<float>& freq_cis_imag = {});

/// Writes a float32 `model` as a llama2.c checkpoint (version 0) to `path`; the RoPE tables are
/// the given ones, or computed as llama2.c's export does when empty. Throws ConfigError for a
/// model with tensors of another type.
void write_llama2c(const Model& model, const std::string& path, const std::vector<float>& freq_cis_real = {},
                   const std::vector<float>& freq_cis_imag = {});

/// The RoPE tables stored in a llama2.c checkpoint (after rms_final), or empty vectors.
void llama2c_freq_cis(const std::string& path, std::vector<float>& real, std::vector<float>& imag);

}  // namespace accelab
