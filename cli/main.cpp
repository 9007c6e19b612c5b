// accelab: the command-line host. Dispatches to subcommands; turns every error into one line
// on stderr and a non-zero exit code.
#include <fmt/core.h>

#include <accelab/plugin.h>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "commands/commands.hpp"
#include "util/error.hpp"
#include "util/suggest.hpp"

namespace {

struct Command {
  const char* name;
  int (*run)(const accelab::Args&);
  const char* summary;
};

constexpr Command kCommands[] = {
    {"run", accelab::cmd_run, "run an experiment file: speed and quality of pipelines side by side"},
    {"compare", accelab::cmd_compare, "compare two results: changes, significance, and a CI verdict"},
    {"report", accelab::cmd_report, "show a results record, write its HTML report"},
    {"convert", accelab::cmd_convert, "convert models between llama2.c and GGUF, optionally after transforms"},
    {"generate", accelab::cmd_generate, "generate text from a model through a pipeline"},
    {"perplexity", accelab::cmd_perplexity, "score a model on evaluation text"},
    {"inspect", accelab::cmd_inspect, "show a model's shape and storage"},
    {"plugins", accelab::cmd_plugins, "list plugins, strategies and parameters"},
    {"synth", accelab::cmd_synth, "write a synthetic model of a realistic shape"},
    {"sysinfo", accelab::cmd_sysinfo, "show the CPU and measure its memory bandwidth and GEMM rate"},
};

// Errors quote user text (file names, TOML keys) that may hold newlines: keep them one line.
std::string one_line(std::string_view message) {
  std::string out;
  for (char c : message) {
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (static_cast<unsigned char>(c) < 0x20 && c != '\t') out += '?';
    else out += c;
  }
  return out;
}

void usage() {
  fmt::print("usage: accelab COMMAND [options]   (accelab COMMAND --help for details)\n\n"
             "A workbench for measuring LLM inference optimizations.\n\ncommands:\n");
  for (const auto& c : kCommands) fmt::print("  {:<12} {}\n", c.name, c.summary);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
      std::strcmp(argv[1], "help") == 0) {
    usage();
    return argc < 2 ? 2 : 0;
  }
  if (std::strcmp(argv[1], "--version") == 0) {
    fmt::print("accelab {} (plugin ABI {}.{})\n", ACCELAB_VERSION, ACCELAB_ABI_MAJOR, ACCELAB_ABI_MINOR);
    return 0;
  }
  std::string name = argv[1];
  accelab::Args args(argv + 2, argv + argc);
  try {
    for (const auto& c : kCommands)
      if (name == c.name) return c.run(args);
    std::vector<std::string> names;
    for (const auto& c : kCommands) names.emplace_back(c.name);
    throw accelab::UsageError("unknown command '" + name + "'" + accelab::did_you_mean(name, names) +
                              "; commands: " + accelab::join(names));
  } catch (const accelab::Error& e) {
    std::fflush(stdout);
    fmt::print(stderr, "accelab: error: {}\n", one_line(e.what()));
    return e.exit_code();
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "accelab: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "accelab: internal error: {}\n", e.what());
    return 1;
  }
}
