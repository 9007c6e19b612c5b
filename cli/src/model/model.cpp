#include "model/model.hpp"

#include <accelab_cpu/huge_pages.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <mutex>
#include <unordered_map>

#include "util/error.hpp"

namespace accelab {
namespace {

std::mutex g_models_mutex;
std::unordered_map<const accelab_model*, Model*>& live_models() {
  static std::unordered_map<const accelab_model*, Model*> models;
  return models;
}

uint64_t dtype_bits(accelab_dtype t) {
  switch (t) {
    case ACCELAB_DTYPE_F32: case ACCELAB_DTYPE_I32: return 32;
    case ACCELAB_DTYPE_F16: case ACCELAB_DTYPE_BF16: return 16;
    case ACCELAB_DTYPE_I8: case ACCELAB_DTYPE_U8: return 8;
    case ACCELAB_DTYPE_I4: case ACCELAB_DTYPE_U4: return 4;
  }
  return 32;
}

// host_alloc's blocks in huge pages, by address: HostFree must tell them from aligned_alloc's.
// Never destroyed: a model may be freed after static destruction began.
struct HugeBlocks {
  std::mutex mutex;
  std::unordered_map<void*, accelab::cpu::StreamBuffer> blocks;
};
HugeBlocks& huge_blocks() {
  static auto* b = new HugeBlocks;
  return *b;
}

}  // namespace

void HostFree::operator()(void* p) const noexcept {
  if (p == nullptr) return;
  HugeBlocks& h = huge_blocks();
  {
    std::lock_guard lock(h.mutex);
    if (h.blocks.erase(p) > 0) return;
  }
  std::free(p);
}

void* host_alloc(uint64_t size, uint64_t alignment) {
  if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) alignment = 64;
  // Large blocks (plugins' weight copies: fp16, bf16, quantized codes) in huge pages, as the
  // model's own weights are (util/mapped_file.hpp): backends stream some of them as they are.
  if (size >= accelab::cpu::kHugePageBytes && alignment <= accelab::cpu::kHugePageBytes) {
    try {
      accelab::cpu::StreamBuffer b = accelab::cpu::stream_buffer(static_cast<size_t>(size));
      void* p = b.get();
      HugeBlocks& h = huge_blocks();
      std::lock_guard lock(h.mutex);
      h.blocks.emplace(p, std::move(b));
      return p;
    } catch (const std::bad_alloc&) {
      return nullptr;
    }
  }
  uint64_t rounded = (size + alignment - 1) / alignment * alignment;
  if (rounded == 0) rounded = alignment;
  return std::aligned_alloc(alignment, rounded);
}

int64_t element_count(const accelab_tensor& t) {
  int64_t n = 1;
  for (int32_t i = 0; i < t.ndim; ++i) n *= t.shape[i];
  return n;
}

uint64_t tensor_storage_bytes(const accelab_tensor& t) {
  uint64_t bytes = t.nbytes;
  if (t.quant.scheme != ACCELAB_QUANT_SCHEME_NONE && t.quant.block_size > 0 && t.ndim > 0) {
    int64_t last = t.shape[t.ndim - 1];
    int64_t rows = element_count(t) / (last > 0 ? last : 1);
    uint64_t blocks = static_cast<uint64_t>(rows) *
                      ((static_cast<uint64_t>(last) + t.quant.block_size - 1) / t.quant.block_size);
    uint64_t scale_bytes = dtype_bits(t.quant.scale_dtype) / 8;
    const uint64_t sets = t.quant.scheme == ACCELAB_QUANT_SCHEME_ASYMMETRIC ? 2 : 1;
    bytes += sets * blocks * scale_bytes;
    // Two-level scales: an f32 factor per row for the scales and one for the mins (tensor.h).
    if (t.quant.scale_dtype == ACCELAB_DTYPE_U8) bytes += sets * static_cast<uint64_t>(rows) * sizeof(float);
  }
  if (t.sparsity.mask != nullptr) bytes += (static_cast<uint64_t>(element_count(t)) + 7) / 8;
  if (t.sparsity.kept_index != nullptr)
    bytes += static_cast<uint64_t>(t.sparsity.kept_count) * sizeof(int32_t);
  return bytes;
}

Model::Model(std::string source, accelab_model_config config) : source_(std::move(source)) {
  abi_.struct_size = sizeof(accelab_model);
  abi_.config = config;
  std::lock_guard lock(g_models_mutex);
  live_models()[&abi_] = this;
}

Model::~Model() {
  std::lock_guard lock(g_models_mutex);
  live_models().erase(&abi_);
}

Model* Model::from_abi(const accelab_model* m) {
  std::lock_guard lock(g_models_mutex);
  auto it = live_models().find(m);
  return it == live_models().end() ? nullptr : it->second;
}

int32_t Model::add_tensor(std::string_view name, const accelab_tensor& view) {
  names_.emplace_back(name);
  tensors_.push_back(view);
  tensors_.back().name = names_.back().c_str();
  refresh();
  return static_cast<int32_t>(tensors_.size() - 1);
}

void Model::replace_tensor(int32_t index, const accelab_tensor& view) {
  if (index < 0 || static_cast<size_t>(index) >= tensors_.size())
    throw Error(fmt::format("replace_tensor: index {} out of range", index));
  const char* name = tensors_[static_cast<size_t>(index)].name;
  tensors_[static_cast<size_t>(index)] = view;
  tensors_[static_cast<size_t>(index)].name = name;
}

int32_t Model::find(std::string_view name) const {
  for (size_t i = 0; i < tensors_.size(); ++i)
    if (name == tensors_[i].name) return static_cast<int32_t>(i);
  return -1;
}

uint64_t Model::weight_bytes() const {
  uint64_t total = 0;
  for (const auto& t : tensors_) total += tensor_storage_bytes(t);
  return total;
}

int64_t Model::parameter_count() const {
  int64_t total = 0;
  for (const auto& t : tensors_) total += element_count(t);
  return total;
}

void Model::touch() const {
  volatile unsigned char sink = 0;
  for (const auto& t : tensors_) {
    const auto* p = static_cast<const unsigned char*>(t.data);
    if (p == nullptr) continue;
    for (uint64_t off = 0; off < t.nbytes; off += 4096) sink = sink + p[off];
  }
  (void)sink;
}

void Model::refresh() {
  abi_.n_tensors = static_cast<int32_t>(tensors_.size());
  abi_.tensors = tensors_.data();
}

std::string layer_tensor_name(int32_t layer, std::string_view what) {
  return fmt::format("blk.{}.{}.weight", layer, what);
}

}  // namespace accelab
