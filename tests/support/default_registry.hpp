// The plugins built in this tree, loaded once per test process from the default search path
// (build/lib/accelab/plugins, found from the test binary's location).
#pragma once

#include "plugin/registry.hpp"

namespace accelab::test_support {

inline const PluginRegistry& default_registry() {
  static PluginRegistry* registry = [] {
    auto* r = new PluginRegistry();  // never destroyed: plugins are never unloaded
    r->load_directories(PluginRegistry::search_path({}));
    return r;
  }();
  return *registry;
}

}  // namespace accelab::test_support
