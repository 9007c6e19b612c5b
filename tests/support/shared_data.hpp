// Paths into ../shared (or $ACCELAB_DATA) and engine limits for tests that run the real
// stories260K model.
#pragma once

#include <accelab/plugin.h>

#include <cstdlib>
#include <string>

namespace accelab::test_support {

/// $ACCELAB_DATA/rel, or ../shared/rel beside the source tree.
inline std::string data_path(const std::string& rel) {
  const char* env = std::getenv("ACCELAB_DATA");
  std::string path = env ? env : ACCELAB_SOURCE_DIR "/../shared";
  path += "/";
  path += rel;
  return path;
}

/// One sequence of up to 512 positions, fed up to 512 rows at a time.
inline accelab_limits one_sequence_limits() {
  accelab_limits l{};
  l.struct_size = sizeof l;
  l.max_rows = 512;
  l.max_sequences = 1;
  l.max_positions = 512;
  return l;
}

}  // namespace accelab::test_support
