// accelab perplexity: mean NLL over evaluation stories (protocol of ../shared/golden/README.md).
#include <fmt/core.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "commands/commands.hpp"
#include "commands/model_options.hpp"
#include "runtime/perplexity.hpp"
#include "util/error.hpp"

namespace accelab {

int cmd_perplexity(const Args& args) {
  CommonOptions common;
  ModelOptions m;
  std::string text_path;
  int32_t stories = 0;
  bool json = false;
  po::options_description opts("options");
  add_model_options(opts, m);
  opts.add_options()("text", po::value(&text_path), "evaluation text, stories separated by <|endoftext|> (default: $ACCELAB_DATA/data/tinystories_valid_first1000.txt)")
      ("stories", po::value(&stories)->default_value(0), "score only the first K stories (0 = all)")
      ("json", po::bool_switch(&json), "print {\"stories\",\"tokens\",\"mean_nll\",\"perplexity\"}");
  auto parsed = parse_args(args, "perplexity --model M [--tokenizer T] [--text FILE] [--stories K] [--pipeline TEXT] [--json]",
                           "Scores every next-token prediction of each story from an empty KV cache; prints mean NLL (nats) and perplexity.",
                           opts, {}, common);
  if (parsed.help) return 0;
  if (stories < 0) throw UsageError("--stories must be >= 0");
  if (text_path.empty()) text_path = data_dir() + "/data/tinystories_valid_first1000.txt";
  std::vector<std::string> pieces = split_stories(read_text_file(text_path), stories);
  if (pieces.empty()) throw FileError(text_path + ": contains no stories");

  auto lp = load_pipeline(m, common, 512, text_path, static_cast<int32_t>(pieces.size()));
  const bool tty = isatty(STDERR_FILENO) != 0;
  PerplexityResult r = perplexity(*lp.engine, *lp.tokenizer, pieces, [&](int32_t done, int32_t total) {
    if (tty) fmt::print(stderr, "\rstory {}/{}", done, total);
  });
  if (tty) fmt::print(stderr, "\r\033[K");
  if (json) {
    nlohmann::json j = {{"stories", r.stories}, {"tokens", r.tokens}, {"mean_nll", r.mean_nll},
                        {"perplexity", r.perplexity}, {"pipeline", lp.engine->pipeline_text()}};
    std::cout << j.dump(2) << "\n";
  } else {
    fmt::print("stories {}  scored tokens {}  mean NLL {:.6f}  perplexity {:.6f}  ({})\n", r.stories,
               r.tokens, r.mean_nll, r.perplexity, lp.engine->pipeline_text());
  }
  return 0;
}

}  // namespace accelab
