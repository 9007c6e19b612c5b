// Text generation with llama2.c's conventions: `steps` counts positions including the prompt,
// generation stops early when the model produces BOS.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/engine.hpp"
#include "runtime/sampler.hpp"
#include "tokenizer/tokenizer.hpp"

namespace accelab {

struct Generation {
  std::vector<int32_t> tokens;  ///< Whole sequence: BOS, prompt, generated tokens.
  int32_t prompt_tokens = 0;    ///< Tokens of the encoded prompt, BOS included.
  std::string text;             ///< Decoded text after BOS (prompt included).
};

/// Generates from `prompt`. `steps` <= 0 or beyond the model's seq_len means seq_len. Calls
/// `on_piece` with each newly decoded piece (the prompt's included) as it is produced.
Generation generate(Engine& engine, const Tokenizer& tokenizer, std::string_view prompt,
                    int32_t steps, Sampler& sampler,
                    const std::function<void(const std::string&)>& on_piece = {});

}  // namespace accelab
