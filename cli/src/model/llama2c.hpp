// llama2.c checkpoints (legacy version 0): a 7-int32 header followed by float32 tensors.
// See ../shared/models/README.md for the layout.
#pragma once

#include <accelab/plugin.h>

#include <cstdint>
#include <memory>
#include <string>

#include "model/model.hpp"

namespace accelab {

/// Size in bytes of the 7-int32 header.
inline constexpr uint64_t kLlama2cHeaderBytes = 28;

/// A validated llama2.c header.
struct Llama2cHeader {
  accelab_model_config config{};  ///< Hyper-parameters (rms_eps 1e-5, rope_theta 10000).
  uint64_t file_bytes = 0;        ///< Exact file size the header implies.
};

/// Fills the defaults llama2.c implies (head_size, rope_dim, eps, theta) into `config`.
void complete_llama_config(accelab_model_config& config);

/// Checks hyper-parameters for sanity (positive, heads dividing dim, kv heads dividing heads,
/// even head size, sizes small enough to address). Returns the first problem or "".
std::string check_llama_config(const accelab_model_config& config);

/// Bytes of a llama2.c checkpoint with this configuration.
uint64_t llama2c_file_bytes(const accelab_model_config& config);

/// Parses and validates the header of `bytes` (the whole file); throws FileError naming `path`.
Llama2cHeader parse_llama2c_header(const std::string& path, const std::byte* bytes, uint64_t size);

/// Reads only the header of a checkpoint (and checks the file size against it).
Llama2cHeader read_llama2c_header(const std::string& path);

/// Memory-maps and validates a checkpoint; tensors point into the mapping.
std::unique_ptr<Model> load_llama2c(const std::string& path);

/// The tensors a checkpoint with `config` would have, as metadata only (NULL data): enough to
/// plan transforms and ask backends what they support before any weights are read.
std::unique_ptr<Model> llama2c_skeleton(const std::string& source, const accelab_model_config& config);

}  // namespace accelab
