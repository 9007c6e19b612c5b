// The accelab_host struct every strategy instance receives.
#include <fmt/format.h>

#include <cstdio>
#include <cstring>

#include "model/model.hpp"
#include "plugin/registry.hpp"
#include "util/log.hpp"

namespace accelab {
namespace {

void host_log(void*, accelab_log_level level, const char* message) {
  log::Level l = level == ACCELAB_LOG_DEBUG  ? log::Level::debug
                 : level == ACCELAB_LOG_WARN ? log::Level::warn
                 : level == ACCELAB_LOG_ERROR ? log::Level::error
                                              : log::Level::info;
  log::write(l, message ? message : "");
}

void* host_alloc_fn(void*, uint64_t size, uint64_t alignment) { return host_alloc(size, alignment); }

void host_free_fn(void*, void* p) { HostFree{}(p); }

accelab_status host_replace_tensor(void*, accelab_model* model, int32_t index,
                                   const accelab_tensor* replacement, accelab_error* err) {
  // Ownership of the buffers passes to the model first, so nothing leaks on any failure below.
  Model* owner = Model::from_abi(model);
  auto adopt = [&](const void* p) {
    if (p != nullptr && owner != nullptr) owner->own(HostBuffer(const_cast<void*>(p)));
  };
  if (replacement != nullptr) {
    adopt(replacement->data);
    adopt(replacement->quant.scales);
    adopt(replacement->quant.mins);
    adopt(replacement->sparsity.mask);
    adopt(replacement->sparsity.kept_index);
  }
  auto fail = [&](const std::string& why) {
    if (err) std::snprintf(err->message, sizeof err->message, "%s", why.c_str());
    return ACCELAB_STATUS_INVALID_ARGUMENT;
  };
  if (owner == nullptr) return fail("replace_tensor: the model is not one the host handed out");
  if (replacement == nullptr) return fail("replace_tensor: NULL replacement");
  if (index < 0 || index >= model->n_tensors)
    return fail(fmt::format("replace_tensor: index {} out of range [0, {})", index, model->n_tensors));
  if (replacement->ndim < 1 || replacement->ndim > ACCELAB_MAX_DIMS)
    return fail(fmt::format("replace_tensor: ndim {} out of range", replacement->ndim));
  owner->replace_tensor(index, *replacement);
  return ACCELAB_STATUS_OK;
}

const accelab_host g_host = {sizeof(accelab_host), ACCELAB_ABI_MAJOR,   ACCELAB_ABI_MINOR,
                             nullptr,              &host_log,           &host_alloc_fn,
                             &host_free_fn,        &host_replace_tensor};

}  // namespace

const accelab_host* host_services() { return &g_host; }

}  // namespace accelab
