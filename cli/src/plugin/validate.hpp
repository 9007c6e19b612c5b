// Structural checks of a plugin descriptor before the host uses anything in it.
#pragma once

#include <accelab/plugin.h>

#include <optional>
#include <string>
#include <string_view>

namespace accelab {

/// True for names like "cpu-ref" or "quant-int8": lowercase letters and digits in groups joined
/// by single dashes.
bool is_kebab_case(std::string_view name);

/// The first problem found in `desc` (version rule, struct sizes, names, function tables,
/// parameter declarations), or nothing when it is usable.
std::optional<std::string> validate_descriptor(const accelab_plugin_descriptor& desc);

}  // namespace accelab
