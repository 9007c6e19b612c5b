#include "commands/common.hpp"

#include <fmt/core.h>
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "model/model_file.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace accelab {

ParsedArgs parse_args(const std::vector<std::string>& args, const std::string& usage,
                      const std::string& summary, po::options_description options,
                      const po::positional_options_description& positional, CommonOptions& common) {
  options.add_options()
      ("plugin-path", po::value(&common.plugin_paths)->composing(), "extra directory to load plugins from (repeatable)")
      ("verbose,v", po::bool_switch(&common.verbose), "more detail on stderr")
      ("help,h", "show this help");
  ParsedArgs out;
  try {
    po::store(po::command_line_parser(args).options(options).positional(positional).run(), out.vars);
    if (out.vars.count("help")) {
      std::cout << "usage: accelab " << usage << "\n" << summary << "\n\n" << options << "\n";
      out.help = true;
      return out;
    }
    po::notify(out.vars);
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + " (see 'accelab " + usage.substr(0, usage.find(' ')) + " --help')");
  }
  if (common.verbose) log::set_threshold(log::Level::debug);
  return out;
}

std::unique_ptr<PluginRegistry> load_plugins(const CommonOptions& common) {
  auto registry = std::make_unique<PluginRegistry>();
  registry->load_directories(PluginRegistry::search_path(common.plugin_paths));
  return registry;
}

namespace {

// Opening a FIFO or a device would block or read forever: only regular files are accepted.
void require_regular_file(const std::string& path, const char* what) {
  std::error_code ec;
  auto st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st))
    throw FileError(fmt::format("{}: cannot open {}: it does not exist", path, what));
  if (std::filesystem::is_directory(st))
    throw FileError(fmt::format("{}: cannot open {}: it is a directory", path, what));
  if (!std::filesystem::is_regular_file(st))
    throw FileError(fmt::format("{}: cannot open {}: not a regular file", path, what));
}

}  // namespace

std::unique_ptr<Model> load_model(const std::string& path) {
  require_regular_file(path, "model file");
  return load_model_file(path);
}

std::string data_dir() {
  // Absolute, so that it means the same in an experiment file as on the command line.
  auto absolute = [](const std::string& p) {
    std::error_code ec;
    auto a = std::filesystem::absolute(p, ec).lexically_normal().string();
    if (a.size() > 1 && a.back() == '/') a.pop_back();
    return ec ? p : a;
  };
  if (const char* env = std::getenv("ACCELAB_DATA"); env && *env) return absolute(env);
  std::error_code ec;
  if (std::filesystem::is_directory("../shared/models", ec)) return absolute("../shared");
  std::string beside_source = std::string(ACCELAB_SOURCE_DIR) + "/../shared";
  if (std::filesystem::is_directory(beside_source + "/models", ec)) return absolute(beside_source);
  return absolute("../shared");
}

std::string read_text_file(const std::string& path) {
  require_regular_file(path, "file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace accelab
