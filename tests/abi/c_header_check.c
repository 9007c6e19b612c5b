/*
 * Compiled as strict C99: proves the plugin headers are valid C and checks the layout promises
 * that plugins written in C rely on. Exits non-zero (and says why) on the first broken promise.
 */
#include <accelab/plugin.h>
#include <accelab/tensor.h>

#include <stddef.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;

static void expect(int ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "c_header_check: %s\n", what);
    ++failures;
  }
}

/* Hosts read struct_size before anything else, so it must lead every appendable struct. */
static void check_struct_size_first(void) {
  expect(offsetof(accelab_model, struct_size) == 0, "accelab_model.struct_size not first");
  expect(offsetof(accelab_graph, struct_size) == 0, "accelab_graph.struct_size not first");
  expect(offsetof(accelab_limits, struct_size) == 0, "accelab_limits.struct_size not first");
  expect(offsetof(accelab_batch, struct_size) == 0, "accelab_batch.struct_size not first");
  expect(offsetof(accelab_host, struct_size) == 0, "accelab_host.struct_size not first");
  expect(offsetof(accelab_backend_vtable, struct_size) == 0, "backend vtable size not first");
  expect(offsetof(accelab_transform_vtable, struct_size) == 0, "transform vtable size not first");
  expect(offsetof(accelab_parallel_vtable, struct_size) == 0, "parallel vtable size not first");
  expect(offsetof(accelab_strategy, struct_size) == 0, "accelab_strategy.struct_size not first");
  expect(offsetof(accelab_plugin_descriptor, struct_size) == 0, "descriptor size not first");
}

/* The version fields must sit where every ABI version can find them. */
static void check_version_fields(void) {
  accelab_plugin_descriptor d;
  memset(&d, 0, sizeof d);
  d.struct_size = (uint32_t)sizeof d;
  d.abi_major = ACCELAB_ABI_MAJOR;
  d.abi_minor = ACCELAB_ABI_MINOR;
  expect(offsetof(accelab_plugin_descriptor, abi_major) == 4, "descriptor abi_major moved");
  expect(offsetof(accelab_plugin_descriptor, abi_minor) == 6, "descriptor abi_minor moved");
  expect(d.abi_major == 1, "ACCELAB_ABI_MAJOR is not 1");
  expect(strcmp(ACCELAB_ENTRY_SYMBOL, "accelab_plugin_entry") == 0, "entry symbol renamed");
}

static void check_values(void) {
  accelab_error err;
  accelab_tensor t;
  accelab_param_value v;
  accelab_plugin_entry_fn entry = NULL;
  memset(&t, 0, sizeof t);
  memset(&v, 0, sizeof v);
  expect(sizeof err.message == ACCELAB_ERROR_CAPACITY, "error buffer has the wrong capacity");
  expect(sizeof t.shape / sizeof t.shape[0] == ACCELAB_MAX_DIMS, "shape has the wrong rank");
  expect(t.dtype == ACCELAB_DTYPE_F32 && t.device_type == ACCELAB_DEVICE_CPU,
         "a zeroed tensor is not a CPU f32 tensor");
  expect(t.quant.scheme == ACCELAB_QUANT_SCHEME_NONE, "a zeroed tensor is quantized");
  expect(t.sparsity.layout == ACCELAB_SPARSITY_DENSE, "a zeroed tensor is sparse");
  expect(v.type == ACCELAB_PARAM_BOOL && ACCELAB_STATUS_OK == 0, "enum values moved");
  expect(entry == NULL, "function pointer type unusable");
}

int main(void) {
  check_struct_size_first();
  check_version_fields();
  check_values();
  if (failures == 0) printf("c_header_check: plugin.h and tensor.h are usable from C99\n");
  return failures == 0 ? 0 : 1;
}
