// gemv and gemm of every ISA against a double-precision reference: odd sizes, unaligned
// pointers, padded leading dimensions, sub-ranges of outputs, f32/f16/bf16 weights.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "reference.hpp"

namespace accelab::cpu::test {
namespace {

struct Shape {
  int64_t in, out;
};

// Sizes around every vector width and blocking boundary of the variants (panel depth 256, weight
// block 1024, row block 112).
constexpr Shape kShapes[] = {{1, 3},   {3, 1},    {15, 16},  {16, 31}, {17, 33},
                             {31, 9},  {257, 65}, {4099, 9}, {64, 1100}};
constexpr WeightType kTypes[] = {WeightType::f32, WeightType::f16, WeightType::bf16};

// Output ranges: everything, and an odd slice away from both ends.
std::vector<std::pair<int64_t, int64_t>> ranges(int64_t out) {
  std::vector<std::pair<int64_t, int64_t>> r{{0, out}};
  if (out >= 5) r.push_back({2, out - 1});
  return r;
}

class Matrix : public ::testing::TestWithParam<std::string> {};

TEST_P(Matrix, GemvMatchesReference) {
  const KernelTable& k = table(GetParam());
  std::mt19937 rng(1);
  for (WeightType type : kTypes)
    for (Shape s : kShapes)
      for (auto [ob, oe] : ranges(s.out)) {
        SCOPED_TRACE(testing::Message() << type_name(type) << " in=" << s.in << " out=" << s.out
                                        << " range=[" << ob << "," << oe << ")");
        const Weights w = random_weights(type, s.out, s.in, rng);
        const Floats x = random_floats(s.in, rng);
        Floats y(s.out, -7.0f);
        k.gemv(type, w.data(), x.data(), y.data(), s.in, ob, oe);
        for (int64_t o = 0; o < s.out; ++o) {
          if (o < ob || o >= oe) {
            ASSERT_EQ(y[o], -7.0f) << "wrote outside the range at " << o;
            continue;
          }
          double want = 0, scale = 0;
          for (int64_t i = 0; i < s.in; ++i) {
            want += double(w.at(o, i)) * x[i];
            scale += std::fabs(double(w.at(o, i)) * x[i]);
          }
          ASSERT_TRUE(close(y[o], want, scale, 1e-5)) << "o=" << o;
        }
      }
}

void check_gemm(const KernelTable& k, WeightType type, int64_t rows, Shape s, int64_t ob,
                int64_t oe, std::mt19937& rng) {
  SCOPED_TRACE(testing::Message() << type_name(type) << " rows=" << rows << " in=" << s.in
                                  << " out=" << s.out << " range=[" << ob << "," << oe << ")");
  const int64_t ldx = s.in + 3, ldy = s.out + 5;
  const Weights w = random_weights(type, s.out, s.in, rng);
  const Floats x = random_floats(rows * ldx, rng);
  Floats y(rows * ldy, -7.0f);
  k.gemm(type, w.data(), x.data(), ldx, y.data(), ldy, rows, s.in, ob, oe);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < ldy; ++o) {
      const float got = y[r * ldy + o];
      if (o < ob || o >= oe) {
        ASSERT_EQ(got, -7.0f) << "wrote outside the block at row " << r << ", column " << o;
        continue;
      }
      double want = 0, scale = 0;
      for (int64_t i = 0; i < s.in; ++i) {
        const double p = double(w.at(o, i)) * x[r * ldx + i];
        want += p;
        scale += std::fabs(p);
      }
      ASSERT_TRUE(close(got, want, scale, 1e-5)) << "row " << r << ", column " << o;
    }
}

TEST_P(Matrix, GemmSmallBatchesMatchReference) {
  const KernelTable& k = table(GetParam());
  std::mt19937 rng(2);
  for (WeightType type : kTypes)
    for (int64_t rows = 1; rows <= 9; ++rows)
      for (Shape s : kShapes)
        for (auto [ob, oe] : ranges(s.out)) check_gemm(k, type, rows, s, ob, oe, rng);
}

TEST_P(Matrix, GemmLargeBatchesMatchReference) {
  const KernelTable& k = table(GetParam());
  std::mt19937 rng(3);
  for (WeightType type : kTypes)
    for (int64_t rows : {16, 33, 130})
      for (Shape s : {Shape{15, 16}, Shape{17, 33}, Shape{257, 65}, Shape{600, 41}, Shape{64, 1100}})
        for (auto [ob, oe] : ranges(s.out)) check_gemm(k, type, rows, s, ob, oe, rng);
}

TEST_P(Matrix, EmptyInputGivesZeros) {
  const KernelTable& k = table(GetParam());
  Floats y(6, -7.0f);
  k.gemm(WeightType::f32, nullptr, nullptr, 0, y.data(), 3, 2, 0, 0, 3);
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(y[i], 0.0f);
}

INSTANTIATE_TEST_SUITE_P(Isa, Matrix, ::testing::ValuesIn(available_isas()), isa_param_name);

}  // namespace
}  // namespace accelab::cpu::test
