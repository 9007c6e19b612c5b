// accelab run EXPERIMENT.toml: plan, measure, and write results.{jsonl,json,md,csv}.
#include <fmt/chrono.h>
#include <fmt/core.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <unistd.h>

#include "commands/commands.hpp"
#include "commands/common.hpp"
#include "env/environment.hpp"
#include "experiment/jsonl_writer.hpp"
#include "experiment/plan.hpp"
#include "experiment/runner.hpp"
#include "experiment/sweep.hpp"
#include "report/html.hpp"
#include "report/tables.hpp"
#include "util/error.hpp"

namespace accelab {
namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_signal(int) {
  if (g_interrupted.exchange(true)) std::_Exit(130);  // second Ctrl-C: leave at once
}

std::string default_out_dir(const std::string& experiment) {
  nlohmann::json git = environment_json()["git"];
  std::string commit = git.is_object() && git["commit"].is_string() ? git["commit"].get<std::string>().substr(0, 7) : "nogit";
  if (git.is_object() && git["dirty"].is_boolean() && git["dirty"].get<bool>()) commit += "-dirty";
  return fmt::format("reports/{}/{:%Y%m%dT%H%M%SZ}-{}", experiment, fmt::gmtime(std::time(nullptr)), commit);
}

}  // namespace

int cmd_run(const Args& args) {
  CommonOptions common;
  std::string file, out, filter;
  bool dry_run = false, no_color = false, html = false;
  po::options_description opts("options");
  opts.add_options()("experiment", po::value(&file)->required(), "experiment file (TOML; see experiments/README.md)")
      ("dry-run", po::bool_switch(&dry_run), "validate and print the resolved plan; measure nothing")
      ("out,o", po::value(&out), "output directory (default reports/<experiment>/<UTC time>-<commit>/)")
      ("filter", po::value(&filter), "run only the pipelines whose name (a sweep variant's: its pipeline text) matches this regular expression, and the baseline")
      ("no-color", po::bool_switch(&no_color), "no ANSI colors in the table")
      ("html", po::bool_switch(&html), "also write the HTML report (results.html: charts, table, environment)");
  po::positional_options_description pos;
  pos.add("experiment", 1);
  auto parsed = parse_args(args, "run EXPERIMENT.toml [--dry-run] [--filter REGEX] [--out DIR] [--html]",
                           "Runs every pipeline of an experiment side by side and writes a table of speed and quality.",
                           opts, pos, common);
  if (parsed.help) return 0;

  Experiment exp = parse_experiment(file);
  if (!filter.empty()) filter_pipelines(exp, filter);
  auto registry = load_plugins(common);
  std::vector<ExperimentPlan> plans = plan_experiment_models(exp, *registry);
  if (dry_run) {
    for (const auto& plan : plans) fmt::print("{}", describe_plan(plan));
    return 0;
  }
  if (out.empty()) out = default_out_dir(exp.name);

  g_interrupted = false;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  RunOptions options;
  options.out_dir = out;
  options.tty = isatty(STDERR_FILENO) != 0;
  options.interrupted = &g_interrupted;
  nlohmann::json results = run_experiment(plans, *registry, options);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);

  write_file_atomically(out + "/results.json", results.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  write_file_atomically(out + "/results.md", report::markdown_table(results));
  write_file_atomically(out + "/results.csv", report::csv_table(results));
  if (html) write_file_atomically(out + "/results.html", report::html_report(results));
  bool color = !no_color && isatty(STDOUT_FILENO) != 0 && std::getenv("NO_COLOR") == nullptr;
  fmt::print("{}\n", report::console_table(results, color));
  fmt::print("results: {}/results.json (also .jsonl, .md, .csv{})\n", out, html ? ", .html" : "");

  if (!results["complete"].get<bool>()) {
    fmt::print(stderr, "accelab: interrupted; the finished rows are in {}\n", out);
    return 130;
  }
  for (const auto& row : results["rows"])
    if (row["status"] != "ok") {
      fmt::print(stderr, "accelab: error: some pipelines failed (see the table); results are in {}\n", out);
      return 6;
    }
  return 0;
}

}  // namespace accelab
