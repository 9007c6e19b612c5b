// Next-token sampling as llama2.c does it (same xorshift generator, same top-p rule), so a
// given seed gives llama2.c's choices: argmax at temperature 0, otherwise softmax(logits / T)
// then multinomial, or nucleus (top-p) sampling when 0 < top_p < 1.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace accelab {

class Sampler {
 public:
  Sampler(int32_t vocab_size, float temperature, float top_p, uint64_t seed);
  /// Picks the next token; may scale `logits` in place.
  int32_t sample(std::span<float> logits);

 private:
  uint32_t random_u32();
  float random_f32();
  float temperature_;
  float top_p_;
  uint64_t state_;
  std::vector<std::pair<float, int32_t>> candidates_;
};

/// Index of the largest value (the first on ties).
int32_t argmax(std::span<const float> values);

}  // namespace accelab
