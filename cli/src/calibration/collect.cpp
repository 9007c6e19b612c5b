#include <accelab/plugin.hpp>
#include <fmt/format.h>
#include <graph_backend.hpp>
#include <thread_pool.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

#include "calibration/calibration.hpp"
#include "commands/common.hpp"
#include "model/model_file.hpp"
#include "model/graph.hpp"
#include "model/model.hpp"
#include "plugin/registry.hpp"
#include "runtime/perplexity.hpp"
#include "tokenizer/tokenizer.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace accelab {
namespace {

// The calibration token sequences, one at a time: stories after the first skip_stories, in an
// order shuffled with `seed`, each cut at the model's context; or random tokens when there is no
// text, made as they are asked for (a count in the billions must not be held in memory).
class CalibrationSequences {
 public:
  CalibrationSequences(const accelab_model_config& c, const CalibrationText& text, uint64_t total, uint64_t seed)
      : rng_(seed), seq_len_(static_cast<uint64_t>(c.seq_len)), tok_(0, c.vocab_size - 1) {
    if (text.text_path.empty() || text.tokenizer_path.empty()) {
      total_ = total;
      source_ = fmt::format("{} random tokens (seed {}): the model has no tokenizer or text", total, seed);
      return;
    }
    random_ = false;
    std::vector<std::string> stories = split_stories(read_text_file(text.text_path), 0);
    const auto skip = static_cast<size_t>(std::max(0, text.skip_stories));
    if (stories.size() <= skip)
      throw Error(fmt::format("{}: no stories left for calibration after the {} the quality evaluation uses",
                              text.text_path, skip));
    std::vector<size_t> order(stories.size() - skip);
    for (size_t i = 0; i < order.size(); ++i) order[i] = skip + i;
    std::shuffle(order.begin(), order.end(), rng_);
    const Tokenizer tokenizer = load_tokenizer_file(text.tokenizer_path, c.vocab_size);
    for (size_t i : order) {
      if (total_ >= total) break;
      std::vector<int32_t> seq = tokenizer.encode(stories[i], true, false);
      seq.resize(std::min({seq.size(), static_cast<size_t>(seq_len_), static_cast<size_t>(total - total_)}));
      if (seq.empty()) continue;
      total_ += seq.size();
      stories_.push_back(std::move(seq));
    }
    source_ = fmt::format("{} tokens of {} stories of {} (after the first {}, shuffled with seed {})", total_,
                          stories_.size(), text.text_path, skip, seed);
  }

  /// The next sequence into `seq`; false when all `total()` tokens were given.
  bool next(std::vector<int32_t>& seq) {
    if (given_ >= total_) return false;
    if (random_) {
      seq.resize(static_cast<size_t>(std::min(total_ - given_, seq_len_)));
      for (int32_t& t : seq) t = tok_(rng_);
    } else {
      seq = std::move(stories_[next_story_++]);
    }
    given_ += seq.size();
    return true;
  }
  [[nodiscard]] uint64_t total() const { return total_; }
  [[nodiscard]] const std::string& source() const { return source_; }

 private:
  std::mt19937_64 rng_;
  uint64_t seq_len_;
  std::uniform_int_distribution<int32_t> tok_;
  bool random_ = true;
  std::vector<std::vector<int32_t>> stories_;
  size_t next_story_ = 0;
  uint64_t total_ = 0, given_ = 0;
  std::string source_;
};

}  // namespace

CalibrationStats collect_calibration(const Model& model, const CalibrationText& text, uint64_t tokens,
                                     uint64_t seed) {
  if (tokens == 0) throw Error("calibration needs at least one token");
  const accelab_model_config& c = model.config();
  CalibrationStats stats;
  CalibrationSequences sequences(c, text, tokens, seed);
  stats.source = sequences.source();

  // The float graph through the CPU backend core (the kernels of cpu-eigen/cpu-tbb), threaded.
  ModelGraph graph(model);
  const auto threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cpu::GraphBackend backend("calibration", std::make_unique<cpu::ThreadPoolExecutor>(threads),
                            accelab::Host(host_services()), false);
  std::string why;
  for (const accelab_node& n : graph.nodes())
    if (!backend.supports(*graph.abi(), n, why))
      throw Error("calibration runs the model in float: " + why);
  accelab_limits limits{};
  limits.struct_size = sizeof limits;
  limits.max_rows = std::min(c.seq_len, 512);
  limits.max_sequences = 1;
  limits.max_positions = c.seq_len;
  backend.prepare(*graph.abi(), limits);

  std::map<int32_t, std::vector<double>> sq, ab;
  backend.set_matmul_observer([&](const accelab_node& n, const float* x, int64_t rows, int64_t width) {
    auto& s = sq[n.weight];
    auto& a = ab[n.weight];
    if (s.empty()) {
      s.assign(static_cast<size_t>(width), 0.0);
      a.assign(static_cast<size_t>(width), 0.0);
    }
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < width; ++i) {
        const double v = x[r * width + i];
        s[static_cast<size_t>(i)] += v * v;
        a[static_cast<size_t>(i)] += std::abs(v);
      }
  });
  std::vector<int32_t> positions(static_cast<size_t>(limits.max_rows)), seq_ids(positions.size(), 0);
  // Every row wants logits, so the output matrix's input is summarised over all tokens too.
  std::vector<float> logits(positions.size() * static_cast<size_t>(c.vocab_size));
  log::info("calibration: the float model over {}", stats.source);
  std::vector<int32_t> seq;
  while (sequences.next(seq)) {
    for (size_t done = 0; done < seq.size();) {
      if (text.interrupted != nullptr && text.interrupted->load())
        throw Error(fmt::format("calibration interrupted after {} of {} tokens", stats.tokens + done, sequences.total()));
      const auto rows = static_cast<int32_t>(std::min(seq.size() - done, static_cast<size_t>(limits.max_rows)));
      for (int32_t r = 0; r < rows; ++r) positions[static_cast<size_t>(r)] = static_cast<int32_t>(done) + r;
      accelab_batch b{};
      b.struct_size = sizeof b;
      b.n_rows = rows;
      b.tokens = seq.data() + done;
      b.positions = positions.data();
      b.seq_ids = seq_ids.data();
      b.want_logits = nullptr;
      b.n_logits = rows;
      b.logits = logits.data();
      backend.execute(b);
      done += static_cast<size_t>(rows);
    }
    stats.tokens += seq.size();
  }
  const double n = static_cast<double>(stats.tokens);
  for (auto& [w, s] : sq) {
    auto& out = stats.by_weight[w];
    const auto& a = ab[w];
    out.mean_square.resize(s.size());
    out.mean_abs.resize(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
      out.mean_square[i] = static_cast<float>(s[i] / n);
      out.mean_abs[i] = static_cast<float>(a[i] / n);
    }
  }
  return stats;
}

const CalibrationStats& Calibrator::stats(const Model& model, uint64_t tokens, uint64_t seed) {
  auto& slot = cache_[{tokens, seed}];
  if (!slot) slot = std::make_unique<CalibrationStats>(collect_calibration(model, text_, tokens, seed));
  return *slot;
}

}  // namespace accelab
