// GGUF (v2 and v3), the file format of llama.cpp: parsing with every count, length, offset and
// dimension checked against the file before use (a bad file is a one-line FileError naming the
// byte offset), and the mapping of a `llama` GGUF onto the host's Model and Tokenizer.
// Specification: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/model.hpp"
#include "tokenizer/tokenizer.hpp"
#include "util/mapped_file.hpp"

namespace accelab {

/// Metadata value types, numbered as in the GGUF specification.
enum class GgufType : uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
  string = 8, array = 9, u64 = 10, i64 = 11, f64 = 12
};

/// The name of a metadata type ("u32", "string", "array"…).
const char* gguf_type_name(GgufType t);

/// One metadata value. Integers are held in `i` (signed types, bool) or `u` (unsigned types),
/// floats in `f`, strings in `s`, arrays in `items` (all of type `element`).
struct GgufValue {
  GgufType type = GgufType::u8;
  GgufType element = GgufType::u8;  ///< arrays only
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
  std::string s;
  std::vector<GgufValue> items;
  uint64_t offset = 0;  ///< byte offset of the value in the file, for messages
};

/// Tensor element types of ggml, numbered as in ggml.h (the ones accelab reads are named).
enum GgmlType : uint32_t {
  kGgmlF32 = 0, kGgmlF16 = 1, kGgmlQ4_0 = 2, kGgmlQ4_1 = 3, kGgmlQ8_0 = 8, kGgmlQ4_K = 12, kGgmlQ6_K = 14, kGgmlBF16 = 30
};

/// "F32", "Q4_K", … or "type N" for a number ggml does not define.
std::string ggml_type_name(uint32_t type);

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> ne;  ///< extents, innermost (the row, contiguous) first, as GGUF stores them
  uint32_t type = 0;
  uint64_t offset = 0;       ///< from the start of the data section
  const std::byte* data = nullptr;
  uint64_t nbytes = 0;
  uint64_t info_offset = 0;  ///< where its description starts in the file, for messages
};

/// A parsed GGUF file. Tensor data points into the bytes it was parsed from.
struct GgufFile {
  std::string path;
  uint32_t version = 0;
  uint64_t alignment = 32;
  uint64_t data_offset = 0;  ///< start of the tensor data section
  uint64_t file_bytes = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata;  ///< in file order
  std::vector<GgufTensorInfo> tensors;                     ///< in file order
  std::shared_ptr<const MappedFile> file;                  ///< when opened from a path

  /// Maps (or, with Pages::huge, reads: for a model's weights) and parses `path`. Throws
  /// FileError "PATH: byte N: what is wrong".
  static GgufFile open(const std::string& path, MappedFile::Pages pages = MappedFile::Pages::file);
  /// Parses `size` bytes at `data` (kept by the caller); `path` names them in messages.
  static GgufFile parse(const std::string& path, const std::byte* data, uint64_t size);

  [[nodiscard]] const GgufValue* find(std::string_view key) const;
  [[nodiscard]] const GgufTensorInfo* tensor(std::string_view name) const;
};

/// Whether the file at `path` starts with the GGUF magic.
bool is_gguf_file(const std::string& path);

/// The hyper-parameters of a `llama` GGUF from its metadata (and the embedding's extents).
/// Throws FileError naming the key or tensor at fault.
accelab_model_config llama_config_from_gguf(const GgufFile& g);

/// The model of a `llama` GGUF: hyper-parameters from its metadata, tensors by llama.cpp's names
/// (F32/F16/BF16 in place in the mapping; Q8_0, Q4_0, Q4_1 repacked into accelab's symmetric int8,
/// symmetric int4 and asymmetric uint4 blocks of 32 with f16 scales; Q4_K into uint4 blocks of
/// 32, its scale and min products rounded to f16; Q6_K dequantized to F16; 1-D tensors as F32). The
/// classifier is shared when there is no output.weight. Throws FileError naming what is wrong.
/// Without `with_data`, tensors that need converting are described but not converted (NULL data,
/// no scales): enough to plan pipelines, like llama2c_skeleton.
std::unique_ptr<Model> model_from_gguf(const GgufFile& g, bool with_data = true);

/// The vocabulary embedded in a GGUF (tokenizer.ggml.model = "llama"): tokens with SentencePiece's
/// "▁" turned into spaces (llama2.c's convention), scores, BOS and EOS ids. Throws FileError.
Tokenizer tokenizer_from_gguf(const GgufFile& g);

}  // namespace accelab
