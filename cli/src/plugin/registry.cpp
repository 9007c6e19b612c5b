#include "plugin/registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <cstdlib>
#include <dlfcn.h>
#include <regex>
#include <set>

#include "plugin/validate.hpp"
#include "util/log.hpp"
#include "util/sha256.hpp"

namespace fs = std::filesystem;

namespace accelab {

// Libraries are deliberately never unloaded (objects made by a plugin may outlive any scope we
// could pick), so the handles are only collected here and leaked at exit.
struct PluginRegistry::Libraries {
  std::vector<boost::dll::shared_library*> handles;
  std::set<fs::path> seen;
};

PluginRegistry::PluginRegistry() : libraries_(std::make_unique<Libraries>()) {}
PluginRegistry::~PluginRegistry() = default;

std::vector<fs::path> PluginRegistry::search_path(const std::vector<std::string>& extra) {
  std::vector<fs::path> dirs(extra.begin(), extra.end());
  if (const char* env = std::getenv("ACCELAB_PLUGIN_PATH")) {
    std::string_view rest(env);
    while (!rest.empty()) {
      size_t colon = rest.find(':');
      std::string_view item = rest.substr(0, colon);
      if (!item.empty()) dirs.emplace_back(std::string(item));
      rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    }
  }
  std::error_code ec;
  fs::path exe = boost::dll::program_location(ec);
  if (!ec) dirs.push_back(exe.parent_path().parent_path() / "lib" / "accelab" / "plugins");
  return dirs;
}

void PluginRegistry::load_directories(const std::vector<fs::path>& dirs) {
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      log::debug("plugin directory {} does not exist; skipped", dir.string());
      continue;
    }
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.path().extension() == ".so") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) load_file(f);
  }
}

bool PluginRegistry::load_file(const fs::path& file) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(file, ec);
  if (ec) canonical = file;
  if (!libraries_->seen.insert(canonical).second) return true;  // same file via two paths
  auto reject = [&](std::string reason) {
    log::debug("rejected plugin {}: {}", canonical.string(), reason);
    rejections_.push_back({canonical, std::move(reason)});
    return false;
  };

  auto* lib = new boost::dll::shared_library();
  boost::dll::fs::error_code load_ec;
  lib->load(canonical, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, load_ec);
  if (load_ec) {
    delete lib;
    // Boost.DLL's error code loses the dynamic loader's own message; dlerror() still has it.
    const char* why = ::dlerror();
    return reject("cannot load shared library: " + std::string(why ? why : load_ec.message().c_str()));
  }
  libraries_->handles.push_back(lib);
  if (!lib->has("accelab_plugin_entry"))
    return reject("no exported symbol accelab_plugin_entry (not an accelab plugin, or built "
                  "without ACCELAB_EXPORT)");
  auto entry = lib->get<const accelab_plugin_descriptor*()>("accelab_plugin_entry");

  const accelab_plugin_descriptor* desc = nullptr;
  try {
    desc = entry();
  } catch (const std::exception& e) {
    return reject(std::string("accelab_plugin_entry threw an exception: ") + e.what());
  } catch (...) {
    return reject("accelab_plugin_entry threw an exception of unknown type");
  }
  if (desc == nullptr) return reject("accelab_plugin_entry returned NULL");

  auto plugin = std::make_unique<LoadedPlugin>();
  plugin->path = canonical;
  plugin->descriptor = desc;
  if (auto problem = validate_descriptor(*desc)) return reject(*problem);

  for (int32_t i = 0; i < desc->n_strategies; ++i) {
    const accelab_strategy* s = desc->strategies[i];
    if (const LoadedStrategy* other = find(s->name))
      return reject(fmt::format("strategy '{}' is already provided by {}", s->name,
                                other->plugin->path.string()));
    LoadedStrategy loaded;
    loaded.table = s;
    loaded.plugin = plugin.get();
    if (s->available != nullptr) {
      accelab_error err{};
      accelab_status st = ACCELAB_STATUS_ERROR;
      try {
        st = s->available(host_services(), &err);
      } catch (...) {
        std::snprintf(err.message, sizeof err.message, "available() threw an exception");
      }
      if (st != ACCELAB_STATUS_OK)
        loaded.unavailable_reason = err.message[0] ? err.message : "unavailable on this machine";
    }
    plugin->strategies.push_back(std::move(loaded));
  }
  try {
    plugin->sha256 = sha256_file(canonical.string());
  } catch (const std::exception& e) {
    return reject(e.what());
  }
  plugins_.push_back(std::move(plugin));
  return true;
}

const LoadedStrategy* PluginRegistry::find(std::string_view name) const {
  for (const auto& p : plugins_)
    for (const auto& s : p->strategies)
      if (s.name() == name) return &s;
  return nullptr;
}

std::vector<std::string> PluginRegistry::strategy_names() const {
  std::vector<std::string> names;
  for (const auto& p : plugins_)
    for (const auto& s : p->strategies) names.emplace_back(s.name());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace accelab
