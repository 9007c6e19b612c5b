// Next-token sampling: greedy, reproducibility per seed, and nucleus edge cases.
#include <gtest/gtest.h>

#include <vector>

#include "runtime/sampler.hpp"

namespace accelab {
namespace {

TEST(Sampler, GreedyTakesTheFirstLargest) {
  Sampler s(4, 0.0f, 0.9f, 1);
  std::vector<float> logits = {0.5f, 2.0f, 2.0f, -1.0f};
  EXPECT_EQ(s.sample(logits), 1);
}

TEST(Sampler, SameSeedSameChoices) {
  auto draw = [](uint64_t seed) {
    Sampler s(8, 1.0f, 0.9f, seed);
    std::vector<int32_t> out;
    for (int i = 0; i < 50; ++i) {
      std::vector<float> logits = {0.1f, 0.3f, 0.2f, 0.9f, 0.4f, 0.0f, 0.8f, 0.5f};
      out.push_back(s.sample(logits));
    }
    return out;
  };
  EXPECT_EQ(draw(7), draw(7));
  EXPECT_NE(draw(7), draw(8));
}

TEST(Sampler, TinyTopPFallsBackToTheMostLikelyToken) {
  // top_p below 1/n can leave no candidate above the cutoff; the answer is then the argmax.
  Sampler s(4, 1.0f, 0.1f, 3);
  for (int i = 0; i < 20; ++i) {
    std::vector<float> logits = {0.0f, 0.0f, 0.0f, 0.0f};
    int32_t t = s.sample(logits);
    EXPECT_GE(t, 0);
    EXPECT_LT(t, 4);
  }
}

TEST(Sampler, MultinomialStaysInRange) {
  Sampler s(3, 1.0f, 1.0f, 11);  // top_p 1: plain multinomial
  for (int i = 0; i < 100; ++i) {
    std::vector<float> logits = {1.0f, 2.0f, 3.0f};
    int32_t t = s.sample(logits);
    EXPECT_GE(t, 0);
    EXPECT_LT(t, 3);
  }
}

}  // namespace
}  // namespace accelab
