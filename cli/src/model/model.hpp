// The model as the host holds it: hyper-parameters plus named weight tensors, which point into
// a memory-mapped file or into buffers the model owns (after transforms).
#pragma once

#include <accelab/plugin.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/mapped_file.hpp"

namespace accelab {

/// Frees memory from the host's aligned allocator.
struct HostFree {
  void operator()(void* p) const noexcept;
};
/// Memory from the host's allocator (accelab_host.alloc).
using HostBuffer = std::unique_ptr<void, HostFree>;
/// Allocates `size` bytes aligned to `alignment`; nullptr on failure. From 2 MiB on (alignment
/// up to 2 MiB) the block is in huge pages (accelab_cpu/huge_pages.hpp) and zeroed.
void* host_alloc(uint64_t size, uint64_t alignment);

/// Bytes of a tensor's storage: codes, scales, mins and sparsity side data.
uint64_t tensor_storage_bytes(const accelab_tensor& t);

/// Number of elements of a tensor (product of its shape).
int64_t element_count(const accelab_tensor& t);

class Model {
 public:
  Model(std::string source, accelab_model_config config);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  /// Adds a tensor view; `name` is copied. Returns its index.
  int32_t add_tensor(std::string_view name, const accelab_tensor& view);
  /// Keeps `file` alive as long as the model (tensors may point into it).
  void keep(std::shared_ptr<const MappedFile> file) { files_.push_back(std::move(file)); }
  /// Takes ownership of a buffer some tensor points into.
  void own(HostBuffer buffer) { buffers_.push_back(std::move(buffer)); }
  /// Replaces tensor `index` (keeping its name); the caller passes ownership of its buffers
  /// with own(). The previous buffers stay alive until the model dies.
  void replace_tensor(int32_t index, const accelab_tensor& view);

  /// Index of the tensor called `name`, or -1.
  [[nodiscard]] int32_t find(std::string_view name) const;
  [[nodiscard]] const accelab_tensor& tensor(int32_t index) const { return tensors_[static_cast<size_t>(index)]; }
  [[nodiscard]] const std::vector<accelab_tensor>& tensors() const { return tensors_; }
  [[nodiscard]] const accelab_model_config& config() const { return abi_.config; }
  /// Where the model came from (file path or "synthetic ...").
  [[nodiscard]] const std::string& source() const { return source_; }
  /// The C view handed to plugins; updated as tensors change.
  [[nodiscard]] accelab_model* abi() { return &abi_; }
  [[nodiscard]] const accelab_model* abi() const { return &abi_; }
  /// Total bytes of all weight storage.
  [[nodiscard]] uint64_t weight_bytes() const;
  /// Number of weights (elements) over all tensors.
  [[nodiscard]] int64_t parameter_count() const;
  /// Reads every page of every tensor so that timing does not include page faults.
  void touch() const;

  /// The Model behind a C view made by abi(), or nullptr.
  static Model* from_abi(const accelab_model* m);

 private:
  void refresh();
  std::string source_;
  accelab_model abi_{};
  std::deque<std::string> names_;  // stable storage behind tensors_[i].name
  std::vector<accelab_tensor> tensors_;
  std::vector<std::shared_ptr<const MappedFile>> files_;
  std::vector<HostBuffer> buffers_;
};

/// The name of a per-layer tensor, e.g. layer_tensor_name(3, "attn_q") = "blk.3.attn_q.weight".
std::string layer_tensor_name(int32_t layer, std::string_view what);

}  // namespace accelab
