// Dispatch on the file format.
#include "model/model_file.hpp"

#include <fmt/format.h>

#include "model/gguf.hpp"
#include "model/llama2c.hpp"
#include "util/error.hpp"

namespace accelab {

std::unique_ptr<Model> load_model_file(const std::string& path) {
  if (is_gguf_file(path)) return model_from_gguf(GgufFile::open(path, MappedFile::Pages::huge));
  return load_llama2c(path);
}

accelab_model_config model_file_config(const std::string& path) {
  if (is_gguf_file(path)) return llama_config_from_gguf(GgufFile::open(path));
  return read_llama2c_header(path).config;
}

std::unique_ptr<Model> model_file_skeleton(const std::string& path) {
  if (is_gguf_file(path)) return model_from_gguf(GgufFile::open(path), false);
  return llama2c_skeleton(path, read_llama2c_header(path).config);
}

Tokenizer load_tokenizer_file(const std::string& path, int32_t vocab_size) {
  if (!is_gguf_file(path)) return Tokenizer::load(path, vocab_size);
  Tokenizer t = tokenizer_from_gguf(GgufFile::open(path));
  if (t.vocab_size() != vocab_size)
    throw FileError(fmt::format("{}: its embedded vocabulary has {} tokens but the model has {}", path, t.vocab_size(), vocab_size));
  return t;
}

}  // namespace accelab
