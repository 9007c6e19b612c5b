#include "runtime/generate.hpp"

#include <algorithm>

namespace accelab {

Generation generate(Engine& engine, const Tokenizer& tokenizer, std::string_view prompt,
                    int32_t steps, Sampler& sampler,
                    const std::function<void(const std::string&)>& on_piece) {
  const accelab_model_config& c = engine.config();
  if (steps <= 0 || steps > c.seq_len) steps = c.seq_len;
  Generation g;
  g.tokens = tokenizer.encode(prompt, true, false);
  g.prompt_tokens = static_cast<int32_t>(g.tokens.size());
  // llama2.c feeds positions 0..steps-1 and keeps the token predicted at the last one, so the
  // sequence never exceeds steps + 1 tokens.
  if (static_cast<int32_t>(g.tokens.size()) > steps + 1) g.tokens.resize(static_cast<size_t>(steps) + 1);
  auto emit = [&](size_t i) {
    std::string piece = tokenizer.decode(g.tokens[i - 1], g.tokens[i]);
    g.text += piece;
    if (on_piece) on_piece(piece);
  };
  for (size_t i = 1; i < g.tokens.size(); ++i) emit(i);

  std::vector<float> logits(static_cast<size_t>(c.vocab_size));
  auto fed = static_cast<int32_t>(g.tokens.size());
  if (fed > steps) return g;
  engine.run_sequence(g.tokens, 0, 0, false, logits.data());
  while (true) {
    int32_t next = sampler.sample(logits);
    if (next == tokenizer.bos_id()) break;
    g.tokens.push_back(next);
    emit(g.tokens.size() - 1);
    if (fed >= steps) break;
    engine.run_sequence(std::span<const int32_t>(&g.tokens.back(), 1), fed, 0, false, logits.data());
    ++fed;
  }
  return g;
}

}  // namespace accelab
