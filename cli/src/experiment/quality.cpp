#include "experiment/quality.hpp"

#include <algorithm>
#include <cmath>

#include "runtime/sampler.hpp"
#include "stats/summary.hpp"

namespace accelab {
namespace {

// log-softmax in double.
void log_softmax(std::span<const float> logits, std::vector<double>& out) {
  out.resize(logits.size());
  double max_val = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(static_cast<double>(l) - max_val);
  double log_z = std::log(sum) + max_val;
  for (size_t i = 0; i < logits.size(); ++i) out[i] = static_cast<double>(logits[i]) - log_z;
}

struct Accumulator {
  double nll = 0;
  double kld_sum = 0;
  int64_t agree = 0;
  int64_t tokens = 0;
  std::vector<double> klds;
};

}  // namespace

nlohmann::json to_json(const Quality& q) {
  return {{"perplexity", q.perplexity}, {"kld_mean", q.kld_mean}, {"kld_p99", q.kld_p99},
          {"kld_max", q.kld_max}, {"top1_agreement", q.top1_agreement}, {"tokens", q.tokens},
          {"stories", q.stories}};
}

std::vector<std::optional<Quality>> measure_quality(
    const std::vector<Engine*>& engines, size_t baseline, const Tokenizer& tokenizer,
    const std::vector<std::string>& stories, const std::function<void(int32_t, int32_t)>& progress,
    const std::function<bool()>& stop) {
  std::vector<std::optional<Quality>> out(engines.size());
  if (engines[baseline] == nullptr) return out;
  const accelab_model_config& c = engines[baseline]->config();
  const size_t vocab = static_cast<size_t>(c.vocab_size);
  std::vector<Accumulator> acc(engines.size());
  std::vector<float> base_logits, logits;
  std::vector<double> p, q;
  int32_t done = 0;
  for (const std::string& story : stories) {
    if (stop && stop()) break;
    std::vector<int32_t> tokens = tokenizer.encode(story, true, false);
    if (tokens.size() > static_cast<size_t>(c.seq_len)) tokens.resize(static_cast<size_t>(c.seq_len));
    ++done;
    if (tokens.size() < 2) continue;
    std::span<const int32_t> fed(tokens.data(), tokens.size() - 1);
    base_logits.resize(fed.size() * vocab);
    engines[baseline]->run_sequence(fed, 0, 0, true, base_logits.data());
    for (size_t e = 0; e < engines.size(); ++e) {
      if (engines[e] == nullptr) continue;
      const float* mine = base_logits.data();
      if (e != baseline) {
        logits.resize(base_logits.size());
        engines[e]->run_sequence(fed, 0, 0, true, logits.data());
        mine = logits.data();
      }
      Accumulator& a = acc[e];
      for (size_t i = 0; i < fed.size(); ++i) {
        std::span<const float> bl(base_logits.data() + i * vocab, vocab);
        std::span<const float> ml(mine + i * vocab, vocab);
        log_softmax(ml, q);
        a.nll -= q[static_cast<size_t>(tokens[i + 1])];
        double kld = 0;
        if (e != baseline) {
          log_softmax(bl, p);
          for (size_t v = 0; v < vocab; ++v) kld += std::exp(p[v]) * (p[v] - q[v]);
          kld = std::max(kld, 0.0);  // rounding can give -1e-17
        }
        a.kld_sum += kld;
        a.klds.push_back(kld);
        a.agree += argmax(bl) == argmax(ml) ? 1 : 0;
        ++a.tokens;
      }
    }
    if (progress) progress(done, static_cast<int32_t>(stories.size()));
  }
  for (size_t e = 0; e < engines.size(); ++e) {
    const Accumulator& a = acc[e];
    if (engines[e] == nullptr || a.tokens == 0) continue;
    Quality qual;
    qual.tokens = a.tokens;
    qual.stories = done;
    qual.perplexity = std::exp(a.nll / static_cast<double>(a.tokens));
    qual.kld_mean = a.kld_sum / static_cast<double>(a.tokens);
    qual.kld_p99 = stats::percentile(a.klds, 99);
    qual.kld_max = *std::max_element(a.klds.begin(), a.klds.end());
    qual.top1_agreement = 100.0 * static_cast<double>(a.agree) / static_cast<double>(a.tokens);
    out[e] = qual;
  }
  return out;
}

}  // namespace accelab
