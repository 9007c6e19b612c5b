#include "runtime/perplexity.hpp"

#include <algorithm>
#include <cmath>

namespace accelab {

std::vector<std::string> split_stories(std::string_view text, int32_t max_stories) {
  static constexpr std::string_view kSeparator = "<|endoftext|>";
  std::vector<std::string> out;
  auto trim = [](std::string_view s) {
    const char* ws = " \t\r\n\f\v";
    size_t b = s.find_first_not_of(ws);
    if (b == std::string_view::npos) return std::string_view{};
    return s.substr(b, s.find_last_not_of(ws) - b + 1);
  };
  while (max_stories <= 0 || static_cast<int32_t>(out.size()) < max_stories) {
    size_t at = text.find(kSeparator);
    std::string_view piece = trim(text.substr(0, at));
    if (!piece.empty()) out.emplace_back(piece);
    if (at == std::string_view::npos) break;
    text.remove_prefix(at + kSeparator.size());
  }
  return out;
}

double token_nll(std::span<const float> logits, int32_t target) {
  double max_val = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(static_cast<double>(l) - max_val);
  return std::log(sum) + max_val - static_cast<double>(logits[static_cast<size_t>(target)]);
}

PerplexityResult perplexity(Engine& engine, const Tokenizer& tokenizer,
                            const std::vector<std::string>& stories, const ProgressFn& progress) {
  const accelab_model_config& c = engine.config();
  const size_t vocab = static_cast<size_t>(c.vocab_size);
  PerplexityResult r;
  double total_nll = 0;
  std::vector<float> logits;
  for (const std::string& story : stories) {
    std::vector<int32_t> tokens = tokenizer.encode(story, true, false);
    if (tokens.size() > static_cast<size_t>(c.seq_len)) tokens.resize(static_cast<size_t>(c.seq_len));
    ++r.stories;
    if (tokens.size() >= 2) {
      // The last token predicts nothing we can score, so it need not be fed.
      std::span<const int32_t> fed(tokens.data(), tokens.size() - 1);
      logits.resize(fed.size() * vocab);
      engine.run_sequence(fed, 0, 0, true, logits.data());
      for (size_t i = 0; i < fed.size(); ++i) {
        total_nll += token_nll(std::span<const float>(logits.data() + i * vocab, vocab), tokens[i + 1]);
        ++r.tokens;
      }
    }
    if (progress) progress(r.stories, static_cast<int32_t>(stories.size()));
  }
  r.mean_nll = r.tokens > 0 ? total_nll / static_cast<double>(r.tokens) : 0.0;
  r.perplexity = std::exp(r.mean_nll);
  return r;
}

}  // namespace accelab
