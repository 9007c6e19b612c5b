#include "runtime/sampler.hpp"

#include <algorithm>
#include <cmath>

namespace accelab {

int32_t argmax(std::span<const float> v) {
  int32_t best = 0;
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] > v[static_cast<size_t>(best)]) best = static_cast<int32_t>(i);
  return best;
}

Sampler::Sampler(int32_t vocab_size, float temperature, float top_p, uint64_t seed)
    : temperature_(temperature), top_p_(top_p), state_(seed) {
  candidates_.reserve(static_cast<size_t>(vocab_size));
}

uint32_t Sampler::random_u32() {
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  return static_cast<uint32_t>((state_ * 0x2545F4914F6CDD1Dull) >> 32);
}

float Sampler::random_f32() { return static_cast<float>(random_u32() >> 8) / 16777216.0f; }

int32_t Sampler::sample(std::span<float> logits) {
  if (temperature_ == 0.0f) return argmax(logits);
  for (float& l : logits) l /= temperature_;
  float max_val = *std::max_element(logits.begin(), logits.end());
  float sum = 0.0f;
  for (float& l : logits) {
    l = std::exp(l - max_val);
    sum += l;
  }
  for (float& l : logits) l /= sum;
  const float coin = random_f32();
  const auto n = static_cast<int32_t>(logits.size());
  if (top_p_ <= 0.0f || top_p_ >= 1.0f) {
    float cdf = 0.0f;
    for (int32_t i = 0; i < n; ++i) {
      cdf += logits[static_cast<size_t>(i)];
      if (coin < cdf) return i;
    }
    return n - 1;
  }
  // Nucleus sampling: tokens below this cutoff can never be part of the nucleus.
  const float cutoff = (1.0f - top_p_) / static_cast<float>(n - 1);
  candidates_.clear();
  for (int32_t i = 0; i < n; ++i)
    if (logits[static_cast<size_t>(i)] >= cutoff) candidates_.emplace_back(logits[static_cast<size_t>(i)], i);
  // With top_p at or below 1/n nothing may pass the cutoff (llama2.c then reads out of bounds):
  // the most likely token is the whole nucleus.
  if (candidates_.empty()) return argmax(logits);
  std::sort(candidates_.begin(), candidates_.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  float cumulative = 0.0f;
  size_t last = candidates_.size() - 1;
  for (size_t i = 0; i < candidates_.size(); ++i) {
    cumulative += candidates_[i].first;
    if (cumulative > top_p_) {
      last = i;
      break;
    }
  }
  const float r = coin * cumulative;
  float cdf = 0.0f;
  for (size_t i = 0; i <= last; ++i) {
    cdf += candidates_[i].first;
    if (r < cdf) return candidates_[i].second;
  }
  return candidates_[last].second;
}

}  // namespace accelab
