// Finding, loading and validating plugins. Plugins are loaded once with Boost.DLL and never
// unloaded; every candidate file that is rejected is recorded with the reason.
#pragma once

#include <accelab/plugin.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace accelab {

struct LoadedPlugin;

/// One strategy of a loaded plugin.
struct LoadedStrategy {
  const accelab_strategy* table = nullptr;  ///< The plugin's static strategy table.
  const LoadedPlugin* plugin = nullptr;     ///< The plugin offering it.
  std::string unavailable_reason;           ///< Empty when `available` said OK (or is absent).

  [[nodiscard]] std::string_view name() const { return table->name; }
  [[nodiscard]] bool available() const { return unavailable_reason.empty(); }
};

/// A plugin file that passed every check.
struct LoadedPlugin {
  std::filesystem::path path;                            ///< Canonical file path.
  const accelab_plugin_descriptor* descriptor = nullptr; ///< Its static descriptor.
  std::string sha256;                                    ///< Hex digest of the file.
  std::vector<LoadedStrategy> strategies;                ///< Its strategies.
};

/// A candidate file that was not loaded, and why.
struct Rejection {
  std::filesystem::path path;
  std::string reason;  ///< One line: "ABI major 2 differs from the host's 1", "dlopen: ...".
};

/// The set of loaded plugins.
class PluginRegistry {
 public:
  PluginRegistry();
  ~PluginRegistry();
  PluginRegistry(const PluginRegistry&) = delete;
  PluginRegistry& operator=(const PluginRegistry&) = delete;

  /// The directories searched by default, in order: `extra` (from --plugin-path), the entries
  /// of $ACCELAB_PLUGIN_PATH (colon-separated), then <dir of the executable>/../lib/accelab/plugins.
  static std::vector<std::filesystem::path> search_path(const std::vector<std::string>& extra);

  /// Loads every "*.so" file directly inside each directory (missing directories are skipped).
  void load_directories(const std::vector<std::filesystem::path>& dirs);
  /// Loads one file; on failure records a Rejection instead of throwing. Returns success.
  bool load_file(const std::filesystem::path& file);

  [[nodiscard]] const std::vector<std::unique_ptr<LoadedPlugin>>& plugins() const { return plugins_; }
  [[nodiscard]] const std::vector<Rejection>& rejections() const { return rejections_; }
  /// The strategy with this name, or nullptr.
  [[nodiscard]] const LoadedStrategy* find(std::string_view name) const;
  /// Names of every loaded strategy, sorted.
  [[nodiscard]] std::vector<std::string> strategy_names() const;

 private:
  struct Libraries;
  std::unique_ptr<Libraries> libraries_;  // keeps every shared library loaded
  std::vector<std::unique_ptr<LoadedPlugin>> plugins_;
  std::vector<Rejection> rejections_;
};

/// Host services without a strategy of their own (availability checks, inner backends of a
/// parallel strategy): `record` and `calibration` answer UNSUPPORTED.
const accelab_host* host_services();

class Calibrator;

/// What the host keeps for one strategy instance behind its accelab_host.ctx.
struct StrategyServices {
  nlohmann::json record = nlohmann::json::object();  ///< filled by accelab_host.record
  Calibrator* calibrator = nullptr;  ///< set while a transform applies; calibration needs it
};

/// Host services whose ctx is `services` (which must outlive every use of the struct).
accelab_host host_services_for(StrategyServices* services);

}  // namespace accelab
