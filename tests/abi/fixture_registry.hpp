// The fixture plugins, loaded once per test process (plugins are never unloaded anyway).
#pragma once

#include <string>
#include <string_view>

#include "plugin/registry.hpp"

namespace accelab::test {

/// A registry that has loaded every file in ACCELAB_FIXTURE_DIR.
inline const PluginRegistry& fixture_registry() {
  static const PluginRegistry* registry = [] {
    auto* r = new PluginRegistry();
    r->load_directories({ACCELAB_FIXTURE_DIR});
    return r;
  }();
  return *registry;
}

/// The rejection of the fixture file with this name, or nullptr.
inline const Rejection* fixture_rejection(std::string_view file_name) {
  for (const auto& r : fixture_registry().rejections())
    if (r.path.filename().string() == file_name) return &r;
  return nullptr;
}

/// Every file in the fixture directory that must be rejected.
inline constexpr std::string_view kBrokenFixtures[] = {
    "bad_major.so",  "newer_minor.so", "no_entry.so",     "entry_throws.so",
    "null_entry.so", "bad_name.so",    "small_struct.so", "garbage.so"};

}  // namespace accelab::test
