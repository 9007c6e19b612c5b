// accelab report RESULTS [--html OUT.html]: the views of a finished (or cut short) run.
#include <fmt/format.h>

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "commands/commands.hpp"
#include "commands/common.hpp"
#include "experiment/jsonl_writer.hpp"
#include "report/html.hpp"
#include "report/tables.hpp"
#include "util/error.hpp"

namespace accelab {

int cmd_report(const Args& args) {
  CommonOptions common;
  std::string input, html, markdown;
  po::options_description opts("options");
  opts.add_options()("results", po::value(&input)->required(), "results.json (or the directory holding it)")
      ("html", po::value(&html), "write the self-contained HTML report (charts, table, environment, experiment file) to this file")
      ("markdown", po::value(&markdown), "write the Markdown summary to this file");
  po::positional_options_description pos;
  pos.add("results", 1);
  auto parsed = parse_args(args, "report RESULTS [--html OUT.html] [--markdown OUT.md]",
                           "Shows a results record as the terminal table, and writes its HTML or Markdown report.", opts, pos, common);
  if (parsed.help) return 0;
  std::filesystem::path path = input;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) path /= "results.json";
  nlohmann::json results;
  try {
    results = nlohmann::json::parse(read_text_file(path.string()));
  } catch (const nlohmann::json::parse_error& e) {
    throw FileError(fmt::format("{}: not JSON (byte {})", path.string(), e.byte));
  }
  if (!results.is_object() || !results.contains("rows") || !results["rows"].is_array())
    throw FileError(fmt::format("{}: not an accelab results record (no \"rows\" array)", path.string()));
  fmt::print("{}\n", report::console_table(results, false));
  if (!html.empty()) {
    write_file_atomically(html, report::html_report(results));
    fmt::print("html: {}\n", html);
  }
  if (!markdown.empty()) write_file_atomically(markdown, report::markdown_table(results));
  return 0;
}

}  // namespace accelab
