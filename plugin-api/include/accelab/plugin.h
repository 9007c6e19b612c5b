/*
 * accelab plugin ABI.
 *
 * A plugin is a shared library that exports one function, `accelab_plugin_entry`, returning a
 * descriptor: the ABI version it was built against, its name and version, and a list of
 * *strategies*. A strategy is something a user names in a pipeline (`cpu-ref`, `quant-int8`):
 *
 *  - a BACKEND executes the host's model graph (see accelab_graph) for batches of tokens;
 *  - a TRANSFORM rewrites the model's weights before a backend prepares them;
 *  - a PARALLEL strategy is a backend that runs inner backend instances (workers, shards).
 *
 * Rules of the boundary:
 *  - Only the plain C types below cross it: no C++ types, no exceptions (the C++ helpers in
 *    plugin.hpp catch them), no memory freed by a module that did not allocate it. Memory a
 *    plugin hands to the host for keeps (replacement tensors) comes from accelab_host.alloc.
 *  - Functions report failure with an accelab_status and a one-line message in accelab_error.
 *  - Versioning: the host loads a plugin iff plugin major == host major and plugin minor <= host
 *    minor. Minor versions only append fields to structs that carry `struct_size`, or append
 *    enum values; consumers check `struct_size` before reading an appended field.
 *  - The entry function must do no work beyond returning a pointer to static data; in
 *    particular, no ISA-specific code may run at load time (use `available` to decline).
 *  - Plugins are loaded once and never unloaded: static data may be referenced for the life of
 *    the process.
 *
 * This header is C (C99 and later) and C++ compatible.
 */
#ifndef ACCELAB_PLUGIN_H
#define ACCELAB_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "accelab/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/** ABI major version: changes only when existing layouts or meanings change. */
#define ACCELAB_ABI_MAJOR 1
/** ABI minor version: bumped when fields or enum values are appended. */
#define ACCELAB_ABI_MINOR 2

/** Marks the entry function as exported even when building with -fvisibility=hidden. */
#if defined(_WIN32)
#define ACCELAB_EXPORT __declspec(dllexport)
#else
#define ACCELAB_EXPORT __attribute__((visibility("default")))
#endif

/** Name of the exported entry symbol, for hosts that look it up by string. */
#define ACCELAB_ENTRY_SYMBOL "accelab_plugin_entry"

/** Result of every fallible call across the boundary. */
typedef enum accelab_status {
  ACCELAB_STATUS_OK = 0,               /**< Success. */
  ACCELAB_STATUS_ERROR = 1,            /**< Failure; accelab_error.message says why. */
  ACCELAB_STATUS_UNSUPPORTED = 2,      /**< Valid request this strategy cannot serve (here). */
  ACCELAB_STATUS_INVALID_ARGUMENT = 3, /**< The caller broke a documented precondition. */
  ACCELAB_STATUS_OUT_OF_MEMORY = 4     /**< An allocation failed. */
} accelab_status;

/** Capacity of the message buffer in accelab_error, terminating NUL included. */
#define ACCELAB_ERROR_CAPACITY 1024

/** Filled by the callee when it returns a status other than OK: one line, NUL-terminated. */
typedef struct accelab_error {
  char message[ACCELAB_ERROR_CAPACITY]; /**< Human-readable reason, no trailing newline. */
} accelab_error;

/** Severity of a log message sent to the host. */
typedef enum accelab_log_level {
  ACCELAB_LOG_DEBUG = 0, /**< Shown with --verbose only. */
  ACCELAB_LOG_INFO = 1,  /**< Progress a user may want to see. */
  ACCELAB_LOG_WARN = 2,  /**< Something suspicious that does not stop the run. */
  ACCELAB_LOG_ERROR = 3  /**< Something failed; usually followed by a failing status. */
} accelab_log_level;

/* ------------------------------------------------------------------------------------------ */
/* The model                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/** Hyper-parameters of a llama-architecture model. */
typedef struct accelab_model_config {
  int32_t dim;               /**< Embedding width. */
  int32_t hidden_dim;        /**< Feed-forward inner width. */
  int32_t n_layers;          /**< Number of transformer blocks. */
  int32_t n_heads;           /**< Query heads. */
  int32_t n_kv_heads;        /**< Key/value heads (grouped-query attention); divides n_heads. */
  int32_t vocab_size;        /**< Number of tokens. */
  int32_t seq_len;           /**< Maximum sequence length (positions). */
  int32_t head_size;         /**< dim / n_heads. */
  float rms_eps;             /**< RMSNorm epsilon. */
  float rope_theta;          /**< RoPE base frequency. */
  int32_t rope_dim;          /**< Leading dimensions of each head that RoPE rotates (= head_size). */
  int32_t shared_classifier; /**< 1 when the classifier reuses the token embedding. */
  int32_t reserved[8];       /**< Zero. */
} accelab_model_config;

/**
 * The model's weights as the host holds them. Tensor names follow llama.cpp's GGUF naming:
 * "token_embd.weight", "blk.N.attn_norm.weight", "blk.N.attn_q.weight", "blk.N.attn_k.weight",
 * "blk.N.attn_v.weight", "blk.N.attn_output.weight", "blk.N.ffn_norm.weight",
 * "blk.N.ffn_gate.weight" (w1), "blk.N.ffn_down.weight" (w2), "blk.N.ffn_up.weight" (w3),
 * "output_norm.weight" and, unless the classifier is shared, "output.weight".
 * Transforms change tensors only through accelab_host.replace_tensor.
 */
typedef struct accelab_model {
  uint32_t struct_size;        /**< sizeof(accelab_model) of the host that filled it. */
  accelab_model_config config; /**< Hyper-parameters. */
  int32_t n_tensors;           /**< Number of entries in `tensors`. */
  const accelab_tensor* tensors; /**< All weights, in a stable order. */
} accelab_model;

/* ------------------------------------------------------------------------------------------ */
/* The graph a backend executes                                                                */
/* ------------------------------------------------------------------------------------------ */

/**
 * Operations of the host's model graph. Every op works on activation *values*: matrices with
 * one row per batch row (see accelab_batch) and `accelab_value.width` columns of float32.
 * `out` may name the same value as an input (in-place) where noted.
 */
typedef enum accelab_op {
  /** out[r,:] = weight[tokens[r], :]. Weight: the token embedding [vocab, dim]. */
  ACCELAB_OP_EMBEDDING = 0,
  /** out[r,:] = in0[r,:] * weight / sqrt(mean(in0[r,:]^2) + eps). In-place allowed. */
  ACCELAB_OP_RMSNORM = 1,
  /** out[r,o] = sum_i in0[r,i] * weight[o,i]. Weight shape {out_width, in_width}. */
  ACCELAB_OP_MATMUL = 2,
  /**
   * Rotary position embedding of in0 at positions[r], in place allowed: within each head of
   * head_size columns, the pair (2i, 2i+1) for 2i < rope_dim is rotated by the angle
   * positions[r] * rope_theta^(-2i / head_size).
   */
  ACCELAB_OP_ROPE = 3,
  /**
   * Causal attention with a KV cache owned by the backend. Inputs: in0 = queries [n_heads *
   * head_size], in1 = keys and in2 = values [n_kv_heads * head_size]. First the keys and values
   * of every row are stored in the cache of (layer, seq_ids[r], positions[r]); then for each
   * row and query head h, out[r, head h] = sum_p softmax_p(q_h . k_p / sqrt(head_size)) v_p over
   * positions p = 0..positions[r] of that sequence, using KV head h / (n_heads / n_kv_heads).
   * The host guarantees positions 0..positions[r]-1 of the sequence were stored earlier or are
   * in the same batch.
   */
  ACCELAB_OP_ATTENTION = 4,
  /** out = silu(in0) * in1, element-wise, silu(x) = x / (1 + exp(-x)). In-place allowed. */
  ACCELAB_OP_SWIGLU = 5,
  /** out = in0 + in1, element-wise. In-place allowed. */
  ACCELAB_OP_ADD = 6,
  /**
   * The classifier: for each row r with want_logits[r] (every row when want_logits is NULL),
   * in order, batch.logits[j,:] = in0[r,:] . weight^T with j counting those rows. `out` is -1.
   */
  ACCELAB_OP_LOGITS = 7
} accelab_op;

/** An activation matrix of the graph: `width` float32 columns, one row per batch row. */
typedef struct accelab_value {
  const char* name; /**< Short name for messages ("x", "q", "ffn_gate"...). */
  int32_t width;    /**< Number of columns. */
} accelab_value;

/** One operation of the graph. Unused indices are -1. */
typedef struct accelab_node {
  accelab_op op;      /**< What to compute. */
  int32_t layer;      /**< Transformer block index, or -1 outside blocks. */
  int32_t out;        /**< Index of the output value, or -1 (LOGITS). */
  int32_t in[3];      /**< Indices of the input values. */
  int32_t weight;     /**< Index into accelab_model.tensors, or -1. */
  float eps;          /**< RMSNORM epsilon. */
  int32_t reserved[6]; /**< Zero. */
} accelab_node;

/** The forward pass, in execution order. Owned by the host; valid until the instance is destroyed. */
typedef struct accelab_graph {
  uint32_t struct_size;        /**< sizeof(accelab_graph) of the host that filled it. */
  const accelab_model* model;  /**< Weights (after all transforms) and hyper-parameters. */
  int32_t n_values;            /**< Number of activation values. */
  const accelab_value* values; /**< The activation values. */
  int32_t n_nodes;             /**< Number of nodes. */
  const accelab_node* nodes;   /**< The nodes, in the order they must run. */
} accelab_graph;

/** Capacities a backend sizes its buffers and KV cache for at prepare time. */
typedef struct accelab_limits {
  uint32_t struct_size;   /**< sizeof(accelab_limits) of the host that filled it. */
  int32_t max_rows;       /**< Most rows in one accelab_batch. */
  int32_t max_sequences;  /**< seq_ids are in [0, max_sequences). */
  int32_t max_positions;  /**< positions are in [0, max_positions). */
} accelab_limits;

/**
 * One call's worth of tokens. Row r feeds token `tokens[r]` at position `positions[r]` of
 * sequence `seq_ids[r]`. A prompt is many rows of one sequence; a decode step of a batch of
 * sequences is one row per sequence.
 */
typedef struct accelab_batch {
  uint32_t struct_size;       /**< sizeof(accelab_batch) of the host that filled it. */
  int32_t n_rows;             /**< Rows in this call, 1..limits.max_rows. */
  const int32_t* tokens;      /**< [n_rows] token ids. */
  const int32_t* positions;   /**< [n_rows] positions. */
  const int32_t* seq_ids;     /**< [n_rows] sequence slots. */
  const uint8_t* want_logits; /**< [n_rows] 1 where logits are wanted; NULL = every row. */
  int32_t n_logits;           /**< Number of rows with logits wanted. */
  float* logits;              /**< Host memory [n_logits, vocab_size] the backend writes. */
} accelab_batch;

/* ------------------------------------------------------------------------------------------ */
/* Services the host offers plugins                                                            */
/* ------------------------------------------------------------------------------------------ */

/** Per-input-channel activation statistics from a calibration run (ABI 1.1). */
typedef struct accelab_calibration {
  int64_t channels;          /**< Input channels: the weight's last dimension. */
  uint64_t tokens;           /**< Tokens the statistics cover. */
  const float* mean_square;  /**< [channels] mean of x_i^2 over those tokens. */
  const float* mean_abs;     /**< [channels] mean of |x_i|. */
  const char* source;        /**< One line saying what text was run (for the record). */
  uint64_t reserved[4];      /**< Zero. */
} accelab_calibration;

/** Host services, passed to every strategy instance at creation; valid for its lifetime. */
typedef struct accelab_host {
  uint32_t struct_size; /**< sizeof(accelab_host) of the host; check before reading new fields. */
  uint16_t abi_major;   /**< The host's ACCELAB_ABI_MAJOR. */
  uint16_t abi_minor;   /**< The host's ACCELAB_ABI_MINOR. */
  void* ctx;            /**< Opaque; pass back as the first argument of the functions below. */
  /** Sends one log line (no trailing newline needed). */
  void (*log)(void* ctx, accelab_log_level level, const char* message);
  /** Allocates `size` bytes aligned to `alignment` (a power of two); NULL on failure. */
  void* (*alloc)(void* ctx, uint64_t size, uint64_t alignment);
  /** Frees memory from `alloc` that was not handed over with replace_tensor. */
  void (*free)(void* ctx, void* ptr);
  /**
   * Replaces tensor `index` of `model` (transforms only, during apply). Every buffer the
   * replacement points at (data, quant.scales, quant.mins, sparsity.mask, sparsity.kept_index)
   * must come from `alloc`; the host takes ownership of them, even on failure. `name` is copied.
   */
  accelab_status (*replace_tensor)(void* ctx, accelab_model* model, int32_t index,
                                   const accelab_tensor* replacement, accelab_error* err);

  /* ---- ABI 1.1: present when struct_size covers them (see ACCELAB_HOST_HAS). ---- */

  /**
   * Adds `key` to the calling strategy's record in the results (results.json
   * pipelines[].strategies[].record): `json_value` is any JSON text (number, string, array,
   * object). A later call with the same key replaces the earlier value. Fails with
   * INVALID_ARGUMENT when the text is not JSON.
   */
  accelab_status (*record)(void* ctx, const char* key, const char* json_value, accelab_error* err);

  /**
   * Calibration statistics of the input of the matrix product whose weight is tensor `index`
   * of `model` (transforms only, during apply): the host runs the model as it is at the first
   * such call of this apply, in float32, over `tokens` tokens of calibration text (stories of
   * the evaluation text that the quality evaluation does not use, picked with `seed`; random
   * tokens for a synthetic model without tokenizer) and fills `out`. Its arrays stay valid
   * until apply returns. Fails with UNSUPPORTED when tensor `index` is not a matrix product's
   * weight or the model cannot be run in float32.
   */
  accelab_status (*calibration)(void* ctx, const accelab_model* model, int32_t index,
                                uint64_t tokens, uint64_t seed, struct accelab_calibration* out,
                                accelab_error* err);
} accelab_host;

/** True when `host` (an accelab_host*) is new enough to have `field`. */
#define ACCELAB_HOST_HAS(host, field) \
  ((host)->struct_size >= offsetof(accelab_host, field) + sizeof((host)->field))

/* ------------------------------------------------------------------------------------------ */
/* Strategy parameters                                                                         */
/* ------------------------------------------------------------------------------------------ */

/** Type of a strategy parameter. */
typedef enum accelab_param_type {
  ACCELAB_PARAM_BOOL = 0,   /**< true/false; value in `i` (0 or 1). */
  ACCELAB_PARAM_INT = 1,    /**< 64-bit integer; value in `i`. */
  ACCELAB_PARAM_FLOAT = 2,  /**< double; value in `f`. */
  ACCELAB_PARAM_STRING = 3  /**< NUL-terminated UTF-8; value in `s`. */
} accelab_param_type;

/** A parameter value. Only the field matching `type` is meaningful. */
typedef struct accelab_param_value {
  accelab_param_type type; /**< Which field holds the value. */
  int64_t i;               /**< BOOL and INT. */
  double f;                /**< FLOAT. */
  const char* s;           /**< STRING; owned by whoever filled the struct. */
} accelab_param_value;

/**
 * Declaration of one parameter: the host lists it (`accelab plugins`), validates user values
 * against it before any plugin code runs, fills in defaults, and passes every parameter in
 * declaration order to `create`.
 */
typedef struct accelab_param_desc {
  const char* name;                  /**< kebab-case, as users type it. */
  accelab_param_type type;           /**< Value type. */
  accelab_param_value default_value; /**< Used when the pipeline does not set it. */
  double min;                        /**< INT/FLOAT: smallest allowed value (if min <= max). */
  double max;                        /**< INT/FLOAT: largest allowed value; min > max: no range. */
  const char* choices;               /**< STRING: allowed values separated by '|', or NULL. */
  const char* doc;                   /**< One sentence for `accelab plugins`. */
} accelab_param_desc;

/* ------------------------------------------------------------------------------------------ */
/* Strategies                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/** What a strategy does; selects which function table it fills. */
typedef enum accelab_strategy_kind {
  ACCELAB_STRATEGY_BACKEND = 0,   /**< Executes graphs: fills `backend`. */
  ACCELAB_STRATEGY_TRANSFORM = 1, /**< Rewrites weights: fills `transform`. */
  ACCELAB_STRATEGY_PARALLEL = 2   /**< Runs inner backends: fills `backend` and `parallel`. */
} accelab_strategy_kind;

/** Functions of a backend (and of a parallel strategy, which looks like one to the host). */
typedef struct accelab_backend_vtable {
  uint32_t struct_size; /**< sizeof(accelab_backend_vtable) the plugin was built with. */
  /**
   * Whether this instance can execute `node` of `graph` (its op, the types of its weight).
   * Called for every node before prepare; return UNSUPPORTED with a reason to decline. The
   * graph's tensors may carry NULL data here: decide from types and shapes only.
   */
  accelab_status (*supports)(void* instance, const accelab_graph* graph, const accelab_node* node,
                             accelab_error* err);
  /**
   * Readies the instance to execute `graph` under `limits`: repack weights, allocate buffers and
   * the KV cache. The graph and its model stay valid and unchanged until destroy.
   */
  accelab_status (*prepare)(void* instance, const accelab_graph* graph,
                            const accelab_limits* limits, accelab_error* err);
  /** Runs every node of the prepared graph for `batch` and writes the requested logits. */
  accelab_status (*execute)(void* instance, const accelab_batch* batch, accelab_error* err);
} accelab_backend_vtable;

/** Functions of a transform. */
typedef struct accelab_transform_vtable {
  uint32_t struct_size; /**< sizeof(accelab_transform_vtable) the plugin was built with. */
  /**
   * Optional (may be NULL: types unchanged). Given a tensor's metadata (data pointers NULL),
   * rewrites it into the metadata `apply` would produce (dtype, quant, sparsity, shape), so the
   * host can check the pipeline against backends before loading any weights.
   */
  accelab_status (*plan)(void* instance, const accelab_model_config* config,
                         accelab_tensor* tensor, accelab_error* err);
  /** Rewrites weights of `model` through host->replace_tensor. */
  accelab_status (*apply)(void* instance, accelab_model* model, accelab_error* err);
} accelab_transform_vtable;

/** How a parallel strategy creates instances of its inner backend. Owned by the host. */
typedef struct accelab_backend_factory {
  void* ctx;                             /**< Pass back to create/destroy. */
  const accelab_backend_vtable* backend; /**< The inner backend's functions. */
  /** Creates an inner backend instance with the parameters the user gave it. */
  accelab_status (*create)(void* ctx, void** instance, accelab_error* err);
  /** Destroys an instance from create. */
  void (*destroy)(void* ctx, void* instance);
} accelab_backend_factory;

/** Functions specific to parallel strategies. */
typedef struct accelab_parallel_vtable {
  uint32_t struct_size; /**< sizeof(accelab_parallel_vtable) the plugin was built with. */
  /** Hands over the inner backend, before supports/prepare are called. */
  accelab_status (*set_inner)(void* instance, const accelab_backend_factory* inner,
                              accelab_error* err);
} accelab_parallel_vtable;

/** A strategy offered by a plugin. */
typedef struct accelab_strategy {
  uint32_t struct_size;             /**< sizeof(accelab_strategy) the plugin was built with. */
  const char* name;                 /**< kebab-case, unique across loaded plugins. */
  accelab_strategy_kind kind;       /**< Which function tables are filled. */
  const char* description;          /**< One sentence. */
  int32_t n_params;                 /**< Number of entries in `params`. */
  const accelab_param_desc* params; /**< Parameter declarations, in the order create gets them. */
  /**
   * Optional: OK if the strategy can run on this machine, else UNSUPPORTED with the reason
   * ("no CUDA device", "CPU lacks AVX2"). The host lists unavailable strategies but never
   * instantiates them.
   */
  accelab_status (*available)(const accelab_host* host, accelab_error* err);
  /**
   * Creates an instance. `params` has n_params values, in declaration order, already validated
   * against their declarations. `host` stays valid until destroy.
   */
  accelab_status (*create)(const accelab_host* host, const accelab_param_value* params,
                           void** instance, accelab_error* err);
  /** Destroys an instance and frees everything it allocated. */
  void (*destroy)(void* instance);
  const accelab_backend_vtable* backend;     /**< BACKEND and PARALLEL; NULL otherwise. */
  const accelab_transform_vtable* transform; /**< TRANSFORM; NULL otherwise. */
  const accelab_parallel_vtable* parallel;   /**< PARALLEL; NULL otherwise. */
} accelab_strategy;

/** What `accelab_plugin_entry` returns; static data of the plugin. */
typedef struct accelab_plugin_descriptor {
  uint32_t struct_size;  /**< sizeof(accelab_plugin_descriptor) the plugin was built with. */
  uint16_t abi_major;    /**< ACCELAB_ABI_MAJOR the plugin was built with. */
  uint16_t abi_minor;    /**< ACCELAB_ABI_MINOR the plugin was built with. */
  const char* name;      /**< Plugin name (the folder name by convention). */
  const char* version;   /**< Plugin version, e.g. "1.2.0". */
  const char* description; /**< One sentence. */
  int32_t n_strategies;  /**< Number of entries in `strategies`. */
  const accelab_strategy* const* strategies; /**< The strategies. */
} accelab_plugin_descriptor;

/** Signature of the entry function every plugin exports as `accelab_plugin_entry`. */
typedef const accelab_plugin_descriptor* (*accelab_plugin_entry_fn)(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ACCELAB_PLUGIN_H */
