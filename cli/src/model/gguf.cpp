// The GGUF parser. Nothing in the file is trusted: every read is bounds-checked, every count is
// checked against the bytes that could hold it before anything is allocated, and tensor
// extents, types, offsets and sizes are checked against the file before any pointer is formed.
#include "model/gguf.hpp"

#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <set>

#include "util/error.hpp"

namespace accelab {
namespace {

constexpr uint32_t kMaxDims = 4;         // GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 3;        // arrays of arrays: deeper nesting is refused
constexpr uint64_t kMaxNameBytes = 256;  // tensor names (GGML_MAX_NAME is 64)
// Array elements over all metadata: each costs about 100 bytes in memory against as little as 1
// in the file, so a hostile file could otherwise ask for 100× its size. Vocabularies of 256k
// tokens (three arrays) stay far below.
constexpr uint64_t kMaxArrayItems = uint64_t{1} << 22;

struct TypeTraits {
  const char* name;
  uint64_t block;  // elements per block
  uint64_t bytes;  // bytes per block (0: ggml defines no layout we can size)
};

// ggml's type table (ggml.h / ggml.c): names and block sizes, for messages and size checks.
TypeTraits traits(uint32_t t) {
  switch (t) {
    case 0: return {"F32", 1, 4};
    case 1: return {"F16", 1, 2};
    case 2: return {"Q4_0", 32, 18};
    case 3: return {"Q4_1", 32, 20};
    case 6: return {"Q5_0", 32, 22};
    case 7: return {"Q5_1", 32, 24};
    case 8: return {"Q8_0", 32, 34};
    case 9: return {"Q8_1", 32, 36};
    case 10: return {"Q2_K", 256, 84};
    case 11: return {"Q3_K", 256, 110};
    case 12: return {"Q4_K", 256, 144};
    case 13: return {"Q5_K", 256, 176};
    case 14: return {"Q6_K", 256, 210};
    case 15: return {"Q8_K", 256, 292};
    case 16: return {"IQ2_XXS", 256, 66};
    case 17: return {"IQ2_XS", 256, 74};
    case 18: return {"IQ3_XXS", 256, 98};
    case 19: return {"IQ1_S", 256, 50};
    case 20: return {"IQ4_NL", 32, 18};
    case 21: return {"IQ3_S", 256, 110};
    case 22: return {"IQ2_S", 256, 82};
    case 23: return {"IQ4_XS", 256, 136};
    case 24: return {"I8", 1, 1};
    case 25: return {"I16", 1, 2};
    case 26: return {"I32", 1, 4};
    case 27: return {"I64", 1, 8};
    case 28: return {"F64", 1, 8};
    case 29: return {"IQ1_M", 256, 56};
    case 30: return {"BF16", 1, 2};
    case 34: return {"TQ1_0", 256, 54};
    case 35: return {"TQ2_0", 256, 66};
    default: return {nullptr, 0, 0};
  }
}

class Cursor {
 public:
  Cursor(const std::string& path, const std::byte* data, uint64_t size) : path_(path), data_(data), size_(size) {}

  [[noreturn]] void fail(uint64_t at, const std::string& what) const {
    throw FileError(fmt::format("{}: byte {}: {}", path_, at, what));
  }
  [[nodiscard]] uint64_t pos() const { return pos_; }
  [[nodiscard]] uint64_t remaining() const { return size_ - pos_; }

  template <class T>
  T read(const char* what) {
    if (remaining() < sizeof(T))
      fail(pos_, fmt::format("the file ends inside {} ({} bytes needed, {} left)", what, sizeof(T), remaining()));
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string string(const char* what, uint64_t max_bytes = UINT64_MAX) {
    const uint64_t at = pos_;
    const auto n = read<uint64_t>(what);
    if (n > remaining()) fail(at, fmt::format("{} is {} bytes long but only {} bytes follow", what, n, remaining()));
    if (n > max_bytes) fail(at, fmt::format("{} is {} bytes long (at most {} allowed)", what, n, max_bytes));
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }

 private:
  std::string path_;
  const std::byte* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

// The smallest number of bytes a value of type t can occupy (for checking counts before
// allocating): arrays and strings at least their 8-byte length.
uint64_t min_bytes(GgufType t) {
  switch (t) {
    case GgufType::u8: case GgufType::i8: case GgufType::boolean: return 1;
    case GgufType::u16: case GgufType::i16: return 2;
    case GgufType::u32: case GgufType::i32: case GgufType::f32: return 4;
    case GgufType::u64: case GgufType::i64: case GgufType::f64: return 8;
    case GgufType::string: return 8;
    case GgufType::array: return 12;
  }
  return 1;
}

bool known_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::f64); }

GgufValue read_value(Cursor& c, GgufType type, const std::string& key, int depth, uint64_t& items) {
  GgufValue v;
  v.type = type;
  v.offset = c.pos();
  const std::string what = fmt::format("the value of '{}'", key);
  switch (type) {
    case GgufType::u8: v.u = c.read<uint8_t>(what.c_str()); break;
    case GgufType::i8: v.i = c.read<int8_t>(what.c_str()); break;
    case GgufType::u16: v.u = c.read<uint16_t>(what.c_str()); break;
    case GgufType::i16: v.i = c.read<int16_t>(what.c_str()); break;
    case GgufType::u32: v.u = c.read<uint32_t>(what.c_str()); break;
    case GgufType::i32: v.i = c.read<int32_t>(what.c_str()); break;
    case GgufType::u64: v.u = c.read<uint64_t>(what.c_str()); break;
    case GgufType::i64: v.i = c.read<int64_t>(what.c_str()); break;
    case GgufType::f32: v.f = c.read<float>(what.c_str()); break;
    case GgufType::f64: v.f = c.read<double>(what.c_str()); break;
    case GgufType::boolean: {
      const auto b = c.read<uint8_t>(what.c_str());
      if (b > 1) c.fail(v.offset, fmt::format("{} is a bool stored as {} (must be 0 or 1)", what, b));
      v.i = b;
      break;
    }
    case GgufType::string: v.s = c.string(what.c_str()); break;
    case GgufType::array: {
      if (depth >= kMaxArrayDepth) c.fail(v.offset, fmt::format("{} nests arrays deeper than {}", what, kMaxArrayDepth));
      const auto et = c.read<uint32_t>(what.c_str());
      if (!known_type(et)) c.fail(v.offset, fmt::format("{} is an array of unknown type {}", what, et));
      v.element = static_cast<GgufType>(et);
      const uint64_t count_at = c.pos();
      const auto n = c.read<uint64_t>(what.c_str());
      if (n > c.remaining() / min_bytes(v.element))
        c.fail(count_at, fmt::format("{} claims {} elements of type {}, more than the {} bytes left can hold", what, n,
                                     gguf_type_name(v.element), c.remaining()));
      items += n;
      if (items > kMaxArrayItems)
        c.fail(count_at, fmt::format("{} brings the metadata's array elements to {}, beyond the limit of {}", what, items, kMaxArrayItems));
      v.items.reserve(n);
      for (uint64_t k = 0; k < n; ++k) v.items.push_back(read_value(c, v.element, key, depth + 1, items));
      break;
    }
  }
  return v;
}

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace

const char* gguf_type_name(GgufType t) {
  static const char* names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};
  const auto i = static_cast<uint32_t>(t);
  return i < std::size(names) ? names[i] : "unknown";
}

std::string ggml_type_name(uint32_t type) {
  const TypeTraits t = traits(type);
  return t.name ? t.name : fmt::format("type {}", type);
}

GgufFile GgufFile::parse(const std::string& path, const std::byte* data, uint64_t size) {
  Cursor c(path, data, size);
  GgufFile g;
  g.path = path;
  g.file_bytes = size;
  if (size < 4 || std::memcmp(data, "GGUF", 4) != 0) c.fail(0, "not a GGUF file (no \"GGUF\" magic)");
  c.read<uint32_t>("the magic");
  const uint64_t version_at = c.pos();
  g.version = c.read<uint32_t>("the version");
  if (g.version == 1) c.fail(version_at, "GGUF version 1 is not supported (versions 2 and 3 are)");
  if (g.version != 2 && g.version != 3)
    c.fail(version_at, fmt::format("unknown GGUF version {} (versions 2 and 3 are supported; a big-endian file?)", g.version));
  const uint64_t counts_at = c.pos();
  const auto tensor_count = c.read<uint64_t>("the tensor count");
  const auto kv_count = c.read<uint64_t>("the metadata count");
  // A key/value takes at least 8 (key length) + 4 (type) + 1 bytes; a tensor description
  // 8 (name length) + 4 (dims) + 8 (one extent) + 4 (type) + 8 (offset).
  if (kv_count > c.remaining() / 13)
    c.fail(counts_at + 8, fmt::format("metadata count {} is more than the {} bytes left can hold", kv_count, c.remaining()));
  if (tensor_count > c.remaining() / 32)
    c.fail(counts_at, fmt::format("tensor count {} is more than the {} bytes left can hold", tensor_count, c.remaining()));

  std::set<std::string> keys;
  uint64_t array_items = 0;
  g.metadata.reserve(kv_count);
  for (uint64_t k = 0; k < kv_count; ++k) {
    const uint64_t at = c.pos();
    std::string key = c.string(fmt::format("the key of metadata entry {}", k).c_str());
    if (!keys.insert(key).second) c.fail(at, fmt::format("metadata key '{}' appears twice", key));
    const uint64_t type_at = c.pos();
    const auto type = c.read<uint32_t>("a metadata type");
    if (!known_type(type)) c.fail(type_at, fmt::format("metadata '{}' has unknown type {}", key, type));
    GgufValue v = read_value(c, static_cast<GgufType>(type), key, 0, array_items);
    g.metadata.emplace_back(std::move(key), std::move(v));
  }
  if (const GgufValue* a = g.find("general.alignment")) {
    const bool integral = a->type == GgufType::u32 || a->type == GgufType::u64 || a->type == GgufType::i32;
    const uint64_t value = a->type == GgufType::i32 ? static_cast<uint64_t>(a->i) : a->u;
    if (!integral || value == 0 || (value & (value - 1)) != 0 || value > (1u << 20))
      c.fail(a->offset, "general.alignment must be an unsigned power of two up to 1 MiB");
    g.alignment = value;
  }

  std::set<std::string> names;
  g.tensors.reserve(tensor_count);
  for (uint64_t k = 0; k < tensor_count; ++k) {
    GgufTensorInfo t;
    t.info_offset = c.pos();
    t.name = c.string(fmt::format("the name of tensor {}", k).c_str(), kMaxNameBytes);
    if (!names.insert(t.name).second) c.fail(t.info_offset, fmt::format("tensor '{}' appears twice", t.name));
    const uint64_t dims_at = c.pos();
    const auto n_dims = c.read<uint32_t>("a tensor's dimension count");
    if (n_dims == 0 || n_dims > kMaxDims)
      c.fail(dims_at, fmt::format("tensor '{}' has {} dimensions (1 to {} allowed)", t.name, n_dims, kMaxDims));
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t at = c.pos();
      const auto ne = c.read<uint64_t>("a tensor extent");
      if (ne == 0 || ne > (uint64_t{1} << 40) || elements > (uint64_t{1} << 50) / ne)
        c.fail(at, fmt::format("tensor '{}' has extent {} in dimension {} (too large or zero)", t.name, ne, d));
      elements *= ne;
      t.ne.push_back(ne);
    }
    const uint64_t type_at = c.pos();
    t.type = c.read<uint32_t>("a tensor type");
    const TypeTraits tt = traits(t.type);
    if (tt.name == nullptr) c.fail(type_at, fmt::format("tensor '{}' has unknown type {}", t.name, t.type));
    if (t.ne[0] % tt.block != 0)
      c.fail(dims_at, fmt::format("tensor '{}' of type {} has rows of {} elements, not a multiple of its block of {}", t.name,
                                  tt.name, t.ne[0], tt.block));
    t.nbytes = elements / tt.block * tt.bytes;
    const uint64_t offset_at = c.pos();
    t.offset = c.read<uint64_t>("a tensor offset");
    if (t.offset % g.alignment != 0)
      c.fail(offset_at, fmt::format("tensor '{}' starts at data offset {}, not a multiple of the alignment {}", t.name, t.offset,
                                    g.alignment));
    g.tensors.push_back(std::move(t));
  }
  g.data_offset = align_up(c.pos(), g.alignment);
  if (g.data_offset > size && !g.tensors.empty())
    c.fail(c.pos(), fmt::format("the data section would start at byte {}, past the end of the {}-byte file", g.data_offset, size));
  for (GgufTensorInfo& t : g.tensors) {
    const uint64_t room = size - std::min(size, g.data_offset);
    if (t.offset > room || t.nbytes > room - t.offset)
      c.fail(t.info_offset, fmt::format("tensor '{}' ({} bytes at data offset {}) runs past the end of the file ({} bytes of data)",
                                        t.name, t.nbytes, t.offset, room));
    t.data = data + g.data_offset + t.offset;
  }
  return g;
}

GgufFile GgufFile::open(const std::string& path, MappedFile::Pages pages) {
  auto file = MappedFile::shared(path, pages);
  GgufFile g = parse(path, file->data(), file->size());
  g.file = std::move(file);
  return g;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  for (const auto& [k, v] : metadata)
    if (k == key) return &v;
  return nullptr;
}

const GgufTensorInfo* GgufFile::tensor(std::string_view name) const {
  for (const GgufTensorInfo& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

bool is_gguf_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && std::memcmp(magic, "GGUF", 4) == 0;
}

}  // namespace accelab
