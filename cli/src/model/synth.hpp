// Synthetic llama2.c checkpoints with deterministic random weights, for speed experiments at
// realistic shapes without downloading anything.
#pragma once

#include <accelab/plugin.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace accelab {

/// Named shapes: stories15M, stories42M, stories110M, tinyllama-1.1b.
std::vector<std::string> synth_shape_names();

/// A preset name or "dim=..,hidden=..,layers=..,heads=..,kv-heads=..,vocab=..,seq=..".
/// Throws UsageError on unknown presets, unknown keys, missing keys or invalid shapes.
accelab_model_config parse_synth_shape(std::string_view text);

/// Writes a checkpoint (shared classifier) whose bytes depend only on (config, seed), streaming
/// through a small buffer; the file appears atomically (written under a temporary name).
void write_synthetic_llama2c(const accelab_model_config& config, uint64_t seed,
                             const std::string& path);

}  // namespace accelab
