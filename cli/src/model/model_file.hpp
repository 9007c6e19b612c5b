// Model and tokenizer files of either format — llama2.c checkpoints and GGUF — told apart by
// their first bytes, so every command and experiment accepts both.
#pragma once

#include <memory>
#include <string>

#include "model/model.hpp"
#include "tokenizer/tokenizer.hpp"

namespace accelab {

/// Loads a llama2.c checkpoint or a `llama` GGUF (memory-mapped). Throws FileError.
std::unique_ptr<Model> load_model_file(const std::string& path);

/// The hyper-parameters of a model file, reading no more than its header (llama2.c) or its
/// metadata (GGUF).
accelab_model_config model_file_config(const std::string& path);

/// A model with the file's tensors as metadata, enough to plan pipelines (NULL data where the
/// tensor would need reading or converting).
std::unique_ptr<Model> model_file_skeleton(const std::string& path);

/// A tokenizer: a llama2.c tokenizer file, or the vocabulary embedded in a GGUF (a GGUF model is
/// its own tokenizer file). Throws FileError, also when its size differs from `vocab_size`.
Tokenizer load_tokenizer_file(const std::string& path, int32_t vocab_size);

}  // namespace accelab
