// Perplexity with the protocol of ../shared/golden/README.md: stories split on <|endoftext|>,
// each encoded with BOS, truncated to seq_len, scored from an empty KV cache.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/engine.hpp"
#include "tokenizer/tokenizer.hpp"

namespace accelab {

/// Splits evaluation text into stories: on "<|endoftext|>", whitespace-trimmed, empty pieces
/// dropped; at most `max_stories` (<= 0: all).
std::vector<std::string> split_stories(std::string_view text, int32_t max_stories);

struct PerplexityResult {
  int32_t stories = 0;
  int64_t tokens = 0;    ///< Scored predictions (n - 1 per story of n tokens).
  double mean_nll = 0;   ///< Mean negative log-likelihood, nats.
  double perplexity = 0; ///< exp(mean_nll).
};

/// Called after each story with (stories done, total stories).
using ProgressFn = std::function<void(int32_t, int32_t)>;

PerplexityResult perplexity(Engine& engine, const Tokenizer& tokenizer,
                            const std::vector<std::string>& stories, const ProgressFn& progress = {});

/// -log softmax(logits)[target], computed in double.
double token_nll(std::span<const float> logits, int32_t target);

}  // namespace accelab
