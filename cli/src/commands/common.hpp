// Pieces every command shares: option parsing with --help, plugin loading, model loading.
#pragma once

#include <boost/program_options.hpp>
#include <memory>
#include <string>
#include <vector>

#include "model/model.hpp"
#include "plugin/registry.hpp"

namespace accelab {

namespace po = boost::program_options;

/// Options every command accepts.
struct CommonOptions {
  std::vector<std::string> plugin_paths;
  bool verbose = false;
};

/// A subcommand's parsed command line.
struct ParsedArgs {
  po::variables_map vars;
  bool help = false;  ///< --help was given; the usage has been printed.
};

/// Parses `args` against `options` (plus --help, --verbose, --plugin-path) and `positional`.
/// Prints "usage: accelab <usage>" and the options on --help. Throws UsageError on bad input.
ParsedArgs parse_args(const std::vector<std::string>& args, const std::string& usage,
                      const std::string& summary, po::options_description options,
                      const po::positional_options_description& positional, CommonOptions& common);

/// Loads plugins from --plugin-path, $ACCELAB_PLUGIN_PATH and the default directory.
std::unique_ptr<PluginRegistry> load_plugins(const CommonOptions& common);

/// Loads a model file (llama2.c checkpoint), dispatching on its format.
std::unique_ptr<Model> load_model(const std::string& path);

/// The shared data directory: $ACCELAB_DATA, else ../shared from the working directory, else
/// ../shared beside the source tree this binary was built from.
std::string data_dir();

/// Reads a whole file; throws FileError naming it.
std::string read_text_file(const std::string& path);

}  // namespace accelab
