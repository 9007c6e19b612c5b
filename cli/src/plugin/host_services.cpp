// The accelab_host struct every strategy instance receives.
#include <fmt/format.h>

#include <cstdio>
#include <cstring>

#include "calibration/calibration.hpp"
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
    adopt(replacement->quant.scale_factors);
    adopt(replacement->quant.min_factors);
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

accelab_status fail_with(accelab_error* err, accelab_status status, const std::string& why) {
  if (err) std::snprintf(err->message, sizeof err->message, "%s", why.c_str());
  return status;
}

accelab_status host_record(void* ctx, const char* key, const char* json_value, accelab_error* err) {
  auto* services = static_cast<StrategyServices*>(ctx);
  if (services == nullptr) return fail_with(err, ACCELAB_STATUS_UNSUPPORTED, "record: this instance has no record");
  if (key == nullptr || *key == '\0' || json_value == nullptr)
    return fail_with(err, ACCELAB_STATUS_INVALID_ARGUMENT, "record: empty key or NULL value");
  nlohmann::json value = nlohmann::json::parse(json_value, nullptr, false);
  if (value.is_discarded())
    return fail_with(err, ACCELAB_STATUS_INVALID_ARGUMENT, fmt::format("record: the value of '{}' is not JSON", key));
  services->record[key] = std::move(value);
  return ACCELAB_STATUS_OK;
}

accelab_status host_calibration(void* ctx, const accelab_model* model, int32_t index, uint64_t tokens,
                                uint64_t seed, accelab_calibration* out, accelab_error* err) {
  auto* services = static_cast<StrategyServices*>(ctx);
  if (services == nullptr || services->calibrator == nullptr)
    return fail_with(err, ACCELAB_STATUS_UNSUPPORTED, "calibration is offered to transforms during apply only");
  const Model* owner = Model::from_abi(const_cast<accelab_model*>(model));
  if (owner == nullptr || out == nullptr)
    return fail_with(err, ACCELAB_STATUS_INVALID_ARGUMENT, "calibration: not a model the host handed out, or NULL out");
  if (index < 0 || index >= model->n_tensors)
    return fail_with(err, ACCELAB_STATUS_INVALID_ARGUMENT,
                     fmt::format("calibration: index {} out of range [0, {})", index, model->n_tensors));
  try {
    const CalibrationStats& stats = services->calibrator->stats(*owner, tokens, seed);
    auto it = stats.by_weight.find(index);
    if (it == stats.by_weight.end())
      return fail_with(err, ACCELAB_STATUS_UNSUPPORTED,
                       fmt::format("calibration: {} is not the weight of a matrix product", model->tensors[index].name));
    *out = accelab_calibration{};
    out->channels = static_cast<int64_t>(it->second.mean_square.size());
    out->tokens = stats.tokens;
    out->mean_square = it->second.mean_square.data();
    out->mean_abs = it->second.mean_abs.data();
    out->source = stats.source.c_str();
    return ACCELAB_STATUS_OK;
  } catch (const std::exception& e) {
    return fail_with(err, ACCELAB_STATUS_UNSUPPORTED, e.what());
  }
}

const accelab_host g_host = host_services_for(nullptr);

}  // namespace

accelab_host host_services_for(StrategyServices* services) {
  return {sizeof(accelab_host), ACCELAB_ABI_MAJOR,    ACCELAB_ABI_MINOR, services,
          &host_log,            &host_alloc_fn,       &host_free_fn,     &host_replace_tensor,
          &host_record,         &host_calibration};
}

const accelab_host* host_services() { return &g_host; }

}  // namespace accelab
