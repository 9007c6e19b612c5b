// accelab plugin ABI — header-only C++ helpers.
//
// Write a class per strategy, deriving from accelab::Backend or accelab::Transform, give it
// static metadata, and list the classes in ACCELAB_PLUGIN once:
//
//   class Hello : public accelab::Transform {
//    public:
//     static constexpr const char* name = "hello";
//     static constexpr const char* description = "Logs a greeting and changes nothing.";
//     static constexpr std::array params{
//         accelab::int_param("times", 1, 1, 10, "How many greetings to log.")};
//     Hello(const accelab::Params& p, const accelab::Host& host);
//     void apply(accelab_model& model) override;
//   };
//   ACCELAB_PLUGIN("hello", "1.0.0", "An example plugin.", Hello)
//
// The macro generates the exported C entry point and C glue for every function table; every
// exception thrown by your code is caught at the boundary and becomes a status plus message.
// Optional static members: `params` (default: none) and
// `static bool available(std::string& why)` (default: always available).
#pragma once

#include <accelab/plugin.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace accelab {

// ---- Parameter declarations ------------------------------------------------------------------

/// Declares a boolean parameter.
constexpr accelab_param_desc bool_param(const char* name, bool def, const char* doc) {
  return {name, ACCELAB_PARAM_BOOL, {ACCELAB_PARAM_BOOL, def ? 1 : 0, 0.0, nullptr}, 1.0, 0.0,
          nullptr, doc};
}
/// Declares an integer parameter with the inclusive range [min, max].
constexpr accelab_param_desc int_param(const char* name, int64_t def, int64_t min, int64_t max,
                                       const char* doc) {
  return {name,
          ACCELAB_PARAM_INT,
          {ACCELAB_PARAM_INT, def, 0.0, nullptr},
          static_cast<double>(min),
          static_cast<double>(max),
          nullptr,
          doc};
}
/// Declares a floating-point parameter with the inclusive range [min, max].
constexpr accelab_param_desc float_param(const char* name, double def, double min, double max,
                                         const char* doc) {
  return {name, ACCELAB_PARAM_FLOAT, {ACCELAB_PARAM_FLOAT, 0, def, nullptr}, min, max, nullptr,
          doc};
}
/// Declares a string parameter; `choices` is NULL (free text) or "a|b|c".
constexpr accelab_param_desc string_param(const char* name, const char* def, const char* choices,
                                          const char* doc) {
  return {name, ACCELAB_PARAM_STRING, {ACCELAB_PARAM_STRING, 0, 0.0, def}, 1.0, 0.0, choices, doc};
}

/// Read access to the validated parameter values a strategy was created with.
class Params {
 public:
  Params(std::span<const accelab_param_desc> descs, const accelab_param_value* values)
      : descs_(descs), values_(values) {}

  /// Value of a BOOL parameter.
  [[nodiscard]] bool boolean(std::string_view name) const { return find(name).i != 0; }
  /// Value of an INT parameter.
  [[nodiscard]] int64_t integer(std::string_view name) const { return find(name).i; }
  /// Value of a FLOAT parameter.
  [[nodiscard]] double real(std::string_view name) const { return find(name).f; }
  /// Value of a STRING parameter.
  [[nodiscard]] std::string string(std::string_view name) const {
    const char* s = find(name).s;
    return s ? s : "";
  }

 private:
  [[nodiscard]] const accelab_param_value& find(std::string_view name) const {
    for (size_t i = 0; i < descs_.size(); ++i)
      if (name == descs_[i].name) return values_[i];
    throw std::logic_error("no parameter named '" + std::string(name) + "'");
  }
  std::span<const accelab_param_desc> descs_;
  const accelab_param_value* values_;
};

/// The host's services, as handed to a strategy instance.
class Host {
 public:
  explicit Host(const accelab_host* host) : host_(host) {}

  /// Sends a log line to the host.
  void log(accelab_log_level level, const std::string& message) const {
    host_->log(host_->ctx, level, message.c_str());
  }
  /// Allocates host-owned memory (see accelab_host.alloc); throws std::bad_alloc on failure.
  [[nodiscard]] void* alloc(uint64_t size, uint64_t alignment = 64) const {
    void* p = host_->alloc(host_->ctx, size, alignment);
    if (p == nullptr && size != 0) throw std::bad_alloc();
    return p;
  }
  /// Frees memory from alloc that was not handed over.
  void free(void* p) const { host_->free(host_->ctx, p); }
  /// Replaces a model tensor (transforms only); throws std::runtime_error on failure.
  void replace_tensor(accelab_model& model, int32_t index, const accelab_tensor& t) const {
    accelab_error err{};
    if (host_->replace_tensor(host_->ctx, &model, index, &t, &err) != ACCELAB_STATUS_OK)
      throw std::runtime_error(err.message);
  }
  /// Whether the host offers the ABI 1.1 services below (record, calibration).
  [[nodiscard]] bool has_record() const { return ACCELAB_HOST_HAS(host_, record); }
  [[nodiscard]] bool has_calibration() const { return ACCELAB_HOST_HAS(host_, calibration); }
  /// Adds key = json_value (JSON text) to this strategy's record in the results; a host older
  /// than ABI 1.1 has no record and the call does nothing. Throws std::runtime_error on failure.
  void record(const std::string& key, const std::string& json_value) const {
    if (!has_record()) return;
    accelab_error err{};
    if (host_->record(host_->ctx, key.c_str(), json_value.c_str(), &err) != ACCELAB_STATUS_OK)
      throw std::runtime_error(err.message);
  }
  /// Calibration statistics for the input of weight tensor `index` (see
  /// accelab_host.calibration); throws Unsupported when the host cannot provide them.
  [[nodiscard]] accelab_calibration calibration(const accelab_model& model, int32_t index,
                                                uint64_t tokens, uint64_t seed) const;
  /// The raw C struct.
  [[nodiscard]] const accelab_host* raw() const { return host_; }

 private:
  const accelab_host* host_;
};

/// Thrown by strategy code to report "valid request, cannot serve it" (UNSUPPORTED).
class Unsupported : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline accelab_calibration Host::calibration(const accelab_model& model, int32_t index,
                                             uint64_t tokens, uint64_t seed) const {
  if (!has_calibration()) throw Unsupported("the host (ABI < 1.1) offers no calibration data");
  accelab_calibration out{};
  accelab_error err{};
  const accelab_status s = host_->calibration(host_->ctx, &model, index, tokens, seed, &out, &err);
  if (s == ACCELAB_STATUS_UNSUPPORTED) throw Unsupported(err.message);
  if (s != ACCELAB_STATUS_OK) throw std::runtime_error(err.message);
  return out;
}

// ---- Strategy base classes -------------------------------------------------------------------

/// Base of backend strategies: executes the host's graph. See accelab_backend_vtable.
class Backend {
 public:
  static constexpr accelab_strategy_kind kind = ACCELAB_STRATEGY_BACKEND;
  virtual ~Backend() = default;
  /// Return false and set `why` to decline a node; called for every node before prepare.
  virtual bool supports(const accelab_graph& graph, const accelab_node& node, std::string& why) = 0;
  /// Prepare buffers, KV cache and repacked weights for `graph` under `limits`.
  virtual void prepare(const accelab_graph& graph, const accelab_limits& limits) = 0;
  /// Run the whole graph for one batch.
  virtual void execute(const accelab_batch& batch) = 0;
};

/// Base of transform strategies: rewrites weights. See accelab_transform_vtable.
class Transform {
 public:
  static constexpr accelab_strategy_kind kind = ACCELAB_STRATEGY_TRANSFORM;
  virtual ~Transform() = default;
  /// Rewrite `tensor`'s metadata into what apply will produce; default: unchanged.
  virtual void plan(const accelab_model_config& /*config*/, accelab_tensor& /*tensor*/) {}
  /// Rewrite the model's weights (through Host::replace_tensor).
  virtual void apply(accelab_model& model) = 0;
};

namespace detail {

inline void set_error(accelab_error* err, const char* message) {
  if (err == nullptr) return;
  std::snprintf(err->message, sizeof err->message, "%s", message);
}

// Runs `fn`, turning every exception into a status and message: nothing escapes into C.
template <class Fn>
accelab_status guarded(accelab_error* err, Fn&& fn) noexcept {
  try {
    fn();
    return ACCELAB_STATUS_OK;
  } catch (const Unsupported& e) {
    set_error(err, e.what());
    return ACCELAB_STATUS_UNSUPPORTED;
  } catch (const std::bad_alloc&) {
    set_error(err, "out of memory");
    return ACCELAB_STATUS_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    set_error(err, e.what());
    return ACCELAB_STATUS_ERROR;
  } catch (...) {
    set_error(err, "unknown exception");
    return ACCELAB_STATUS_ERROR;
  }
}

template <class T>
constexpr std::span<const accelab_param_desc> params_of() {
  if constexpr (requires { T::params; })
    return std::span<const accelab_param_desc>(T::params.data(), T::params.size());
  else
    return {};
}

template <class T>
struct BackendGlue {
  static accelab_status supports(void* instance, const accelab_graph* graph,
                                 const accelab_node* node, accelab_error* err) noexcept {
    accelab_status s = ACCELAB_STATUS_OK;
    accelab_status g = guarded(err, [&] {
      std::string why;
      if (!static_cast<T*>(instance)->supports(*graph, *node, why)) {
        set_error(err, why.c_str());
        s = ACCELAB_STATUS_UNSUPPORTED;
      }
    });
    return g != ACCELAB_STATUS_OK ? g : s;
  }
  static accelab_status prepare(void* instance, const accelab_graph* graph,
                                const accelab_limits* limits, accelab_error* err) noexcept {
    return guarded(err, [&] { static_cast<T*>(instance)->prepare(*graph, *limits); });
  }
  static accelab_status execute(void* instance, const accelab_batch* batch,
                                accelab_error* err) noexcept {
    return guarded(err, [&] { static_cast<T*>(instance)->execute(*batch); });
  }
  static constexpr accelab_backend_vtable table{sizeof(accelab_backend_vtable), &supports,
                                                &prepare, &execute};
};

template <class T>
struct TransformGlue {
  static accelab_status plan(void* instance, const accelab_model_config* config,
                             accelab_tensor* tensor, accelab_error* err) noexcept {
    return guarded(err, [&] { static_cast<T*>(instance)->plan(*config, *tensor); });
  }
  static accelab_status apply(void* instance, accelab_model* model, accelab_error* err) noexcept {
    return guarded(err, [&] { static_cast<T*>(instance)->apply(*model); });
  }
  static constexpr accelab_transform_vtable table{sizeof(accelab_transform_vtable), &plan, &apply};
};

template <class T>
constexpr const accelab_backend_vtable* backend_table_of() {
  if constexpr (std::is_base_of_v<Backend, T>) return &BackendGlue<T>::table;
  else return nullptr;
}

template <class T>
constexpr const accelab_transform_vtable* transform_table_of() {
  if constexpr (std::is_base_of_v<Transform, T>) return &TransformGlue<T>::table;
  else return nullptr;
}

template <class T>
struct StrategyGlue {
  static accelab_status available(const accelab_host*, accelab_error* err) noexcept {
    if constexpr (requires(std::string& w) { T::available(w); }) {
      std::string why;
      bool ok = false;
      accelab_status s = guarded(err, [&] { ok = T::available(why); });
      if (s != ACCELAB_STATUS_OK) return s;
      if (!ok) {
        set_error(err, why.c_str());
        return ACCELAB_STATUS_UNSUPPORTED;
      }
    }
    return ACCELAB_STATUS_OK;
  }
  static accelab_status create(const accelab_host* host, const accelab_param_value* values,
                               void** instance, accelab_error* err) noexcept {
    return guarded(err, [&] {
      *instance = static_cast<void*>(new T(Params(params_of<T>(), values), Host(host)));
    });
  }
  static void destroy(void* instance) noexcept {
    try {
      delete static_cast<T*>(instance);
    } catch (...) {  // a throwing destructor must not cross into C
    }
  }
  static constexpr accelab_strategy strategy() {
    constexpr bool is_backend = std::is_base_of_v<Backend, T>;
    constexpr bool is_transform = std::is_base_of_v<Transform, T>;
    static_assert(is_backend != is_transform,
                  "a strategy derives from exactly one of accelab::Backend, accelab::Transform");
    return accelab_strategy{sizeof(accelab_strategy),
                            T::name,
                            T::kind,
                            T::description,
                            static_cast<int32_t>(params_of<T>().size()),
                            params_of<T>().data(),
                            &available,
                            &create,
                            &destroy,
                            backend_table_of<T>(),
                            transform_table_of<T>(),
                            nullptr};
  }
  static constexpr accelab_strategy table = strategy();
};

template <class... Strategies>
struct PluginGlue {
  static constexpr std::array<const accelab_strategy*, sizeof...(Strategies)> list{
      &StrategyGlue<Strategies>::table...};
  static const accelab_plugin_descriptor* descriptor(const char* name, const char* version,
                                                     const char* description) {
    // A function-local static: built on the first call, never in a static initializer.
    static const accelab_plugin_descriptor d{sizeof(accelab_plugin_descriptor),
                                             ACCELAB_ABI_MAJOR,
                                             ACCELAB_ABI_MINOR,
                                             name,
                                             version,
                                             description,
                                             static_cast<int32_t>(list.size()),
                                             list.data()};
    return &d;
  }
};

}  // namespace detail

// ---- Graph helpers for backend authors -------------------------------------------------------

/// The weight tensor of `node`, or nullptr when it has none.
inline const accelab_tensor* node_weight(const accelab_graph& graph, const accelab_node& node) {
  return node.weight >= 0 ? &graph.model->tensors[node.weight] : nullptr;
}

/// Name of an op as used in messages ("matmul").
inline const char* op_name(accelab_op op) {
  switch (op) {
    case ACCELAB_OP_EMBEDDING: return "embedding";
    case ACCELAB_OP_RMSNORM: return "rmsnorm";
    case ACCELAB_OP_MATMUL: return "matmul";
    case ACCELAB_OP_ROPE: return "rope";
    case ACCELAB_OP_ATTENTION: return "attention";
    case ACCELAB_OP_SWIGLU: return "swiglu";
    case ACCELAB_OP_ADD: return "add";
    case ACCELAB_OP_LOGITS: return "logits";
  }
  return "unknown-op";
}

/// Name of a dtype as used in messages ("f32").
inline const char* dtype_name(accelab_dtype t) {
  switch (t) {
    case ACCELAB_DTYPE_F32: return "f32";
    case ACCELAB_DTYPE_F16: return "f16";
    case ACCELAB_DTYPE_BF16: return "bf16";
    case ACCELAB_DTYPE_I8: return "i8";
    case ACCELAB_DTYPE_U8: return "u8";
    case ACCELAB_DTYPE_I4: return "i4";
    case ACCELAB_DTYPE_U4: return "u4";
    case ACCELAB_DTYPE_I32: return "i32";
  }
  return "unknown-dtype";
}

}  // namespace accelab

/// Defines the plugin's exported entry point. List every strategy class after the description.
#define ACCELAB_PLUGIN(plugin_name, plugin_version, plugin_description, ...)               \
  extern "C" ACCELAB_EXPORT const accelab_plugin_descriptor* accelab_plugin_entry(void) {  \
    return ::accelab::detail::PluginGlue<__VA_ARGS__>::descriptor(                         \
        plugin_name, plugin_version, plugin_description);                                  \
  }
