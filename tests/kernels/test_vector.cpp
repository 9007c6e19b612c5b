// The vector kernels of every ISA against double-precision references, on odd sizes and
// unaligned pointers.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "reference.hpp"

namespace accelab::cpu::test {
namespace {

constexpr int64_t kSizes[] = {1, 3, 7, 15, 16, 17, 31, 32, 33, 63, 257, 4099};

class Vector : public ::testing::TestWithParam<std::string> {};

TEST_P(Vector, Dot) {
  const KernelTable& k = table(GetParam());
  std::mt19937 rng(10);
  for (int64_t n : kSizes) {
    const Floats a = random_floats(n, rng), b = random_floats(n, rng);
    double want = 0, scale = 0;
    for (int64_t i = 0; i < n; ++i) {
      want += double(a[i]) * b[i];
      scale += std::fabs(double(a[i]) * b[i]);
    }
    EXPECT_TRUE(close(k.dot(a.data(), b.data(), n), want, scale, 1e-5)) << "n=" << n;
  }
}

TEST_P(Vector, Axpy) {
  const KernelTable& k = table(GetParam());
  std::mt19937 rng(11);
  for (int64_t n : kSizes) {
    const Floats x = random_floats(n, rng), y0 = random_floats(n, rng);
    Floats y = y0.copy();
    k.axpy(0.37f, x.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const double want = y0[i] + 0.37 * x[i];
      ASSERT_TRUE(close(y[i], want, std::fabs(y0[i]) + std::fabs(0.37 * x[i]), 1e-6)) << i;
    }
  }
}

TEST_P(Vector, Rmsnorm) {
  const KernelTable& k = table(GetParam());
  std::mt19937 rng(12);
  for (int64_t n : kSizes)
    for (bool in_place : {false, true}) {
      Floats x = random_floats(n, rng, -3.0f, 3.0f);
      const Floats w = random_floats(n, rng), x0 = x.copy();
      Floats separate(n);
      float* out = in_place ? x.data() : separate.data();
      k.rmsnorm(out, x.data(), w.data(), n, 1e-5f);
      double ss = 0;
      for (int64_t i = 0; i < n; ++i) ss += double(x0[i]) * x0[i];
      const double scale = 1.0 / std::sqrt(ss / n + 1e-5);
      for (int64_t i = 0; i < n; ++i) {
        const double want = w[i] * (scale * x0[i]);
        ASSERT_TRUE(close(out[i], want, std::fabs(want), 1e-5)) << "n=" << n << " i=" << i;
      }
    }
}

void check_softmax(const KernelTable& k, Floats x) {
  const int64_t n = x.size();
  const Floats x0 = x.copy();
  k.softmax(x.data(), n);
  float max = x0[0];
  for (int64_t i = 0; i < n; ++i) max = std::max(max, x0[i]);
  // x - max is rounded to float, as in any float softmax; only exp and the sum are exact here.
  auto shifted_exp = [&](int64_t i) { return std::exp(double(x0[i] - max)); };
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += shifted_exp(i);
  for (int64_t i = 0; i < n; ++i) {
    const double want = shifted_exp(i) / sum;
    // Below FLT_MIN the result is subnormal and only absolutely accurate.
    ASSERT_TRUE(close(x[i], want, want, 1e-6, 1e-44)) << "n=" << n << " i=" << i;
  }
}

TEST_P(Vector, Softmax) {
  const KernelTable& k = table(GetParam());
  std::mt19937 rng(13);
  for (int64_t n : kSizes) check_softmax(k, random_floats(n, rng, -20.0f, 20.0f));
  // Deep underflow, masked (-inf) scores, and every exp range-reduction branch.
  Floats x = random_floats(301, rng, -120.0f, 10.0f);
  for (int64_t i = 0; i < x.size(); i += 7) x[i] = -std::numeric_limits<float>::infinity();
  check_softmax(k, std::move(x));
  Floats wide(200);
  for (int64_t i = 0; i < 200; ++i) wide[i] = -100.0f + i * 0.5f;
  check_softmax(k, std::move(wide));
}

TEST_P(Vector, Swiglu) {
  const KernelTable& k = table(GetParam());
  std::mt19937 rng(14);
  for (int64_t n : kSizes)
    for (bool in_place : {false, true}) {
      Floats g = random_floats(n, rng, -12.0f, 12.0f);
      if (n > 3) g[1] = -100.0f, g[2] = 100.0f;
      const Floats u = random_floats(n, rng), g0 = g.copy();
      Floats separate(n);
      float* out = in_place ? g.data() : separate.data();
      k.swiglu(out, g.data(), u.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        const double want = g0[i] / (1.0 + std::exp(-double(g0[i]))) * u[i];
        ASSERT_TRUE(close(out[i], want, std::fabs(want), 1e-5, 1e-40)) << "n=" << n << " i=" << i;
      }
    }
}

TEST_P(Vector, Add) {
  const KernelTable& k = table(GetParam());
  std::mt19937 rng(15);
  for (int64_t n : kSizes) {
    Floats a = random_floats(n, rng);
    const Floats b = random_floats(n, rng), a0 = a.copy();
    k.add(a.data(), a.data(), b.data(), n);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(a[i], a0[i] + b[i]);
  }
}

TEST_P(Vector, Rope) {
  const KernelTable& k = table(GetParam());
  std::mt19937 rng(16);
  struct Case {
    int64_t heads, head_size, rope_dim;
  };
  for (Case c : {Case{4, 64, 64}, Case{3, 48, 32}, Case{2, 6, 6}, Case{5, 100, 34}, Case{1, 2, 2},
                 Case{2, 40, 0}}) {
    const int64_t width = c.heads * c.head_size;
    Floats v = random_floats(width, rng);
    const Floats v0 = v.copy();
    Floats cs(c.rope_dim);
    for (int64_t i = 0; i + 1 < c.rope_dim; i += 2) {
      const double angle = 0.1 * (i + 1) * (1 + c.heads);
      cs[i] = float(std::cos(angle));
      cs[i + 1] = float(std::sin(angle));
    }
    k.rope(v.data(), width, c.head_size, c.rope_dim, cs.data());
    for (int64_t h = 0; h < width; h += c.head_size)
      for (int64_t j = 0; j < c.head_size; j += 2) {
        const double a = v0[h + j], b = v0[h + j + 1];
        double want0 = a, want1 = b;
        if (j < c.rope_dim) {
          want0 = a * cs[j] - b * cs[j + 1];
          want1 = a * cs[j + 1] + b * cs[j];
        }
        const double scale = std::fabs(a) + std::fabs(b);
        ASSERT_TRUE(close(v[h + j], want0, scale, 1e-6)) << "head at " << h << ", j=" << j;
        ASSERT_TRUE(close(v[h + j + 1], want1, scale, 1e-6)) << "head at " << h << ", j=" << j;
      }
  }
}

// y[r * ldy + j] for r < rows is the sum over t < inner of term(r, j, t) for j < cols (within
// 1e-5 of the sum of the terms' magnitudes), and still the 7 it was filled with for
// cols <= j < ldy: the kernel wrote its outputs and nothing past them.
template <class Term>
::testing::AssertionResult sums_of_products(const Floats& y, int64_t ldy, int64_t rows, int64_t cols, int64_t inner, Term term) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < ldy; ++j) {
      const float got = y[r * ldy + j];
      if (j >= cols) {
        if (got != 7.0f) return ::testing::AssertionFailure() << "wrote " << got << " past the outputs at " << r << "," << j;
        continue;
      }
      double want = 0, scale = 0;
      for (int64_t t = 0; t < inner; ++t) {
        want += term(r, j, t);
        scale += std::fabs(term(r, j, t));
      }
      if (!close(got, want, scale, 1e-5)) return ::testing::AssertionFailure() << got << " instead of " << want << " at " << r << "," << j;
    }
  return ::testing::AssertionSuccess();
}

TEST_P(Vector, GemmNN) {
  const KernelTable& k = table(GetParam());
  std::mt19937 rng(18);
  // Every count of rows per pass, blocks of 1-4 column vectors with a partial last one, and
  // loops over t with and without a remainder after their partial sums.
  for (int64_t rows : {1, 2, 3, 4, 5, 8, 9, 17})
    for (int64_t inner : {1, 3, 5, 64, 130})
      for (int64_t cols : {1, 15, 16, 17, 48, 63, 64, 70}) {
        // Leading dimensions past the data: the kernel must use them and touch nothing else.
        const int64_t ldx = inner + 3, ldw = cols + 5, ldy = cols + 2;
        const Floats x = random_floats(rows * ldx, rng), w = random_floats(inner * ldw, rng);
        Floats y(rows * ldy, 7.0f);
        k.gemm_nn(x.data(), ldx, w.data(), ldw, y.data(), ldy, rows, inner, cols);
        ASSERT_TRUE(sums_of_products(y, ldy, rows, cols, inner,
                                     [&](int64_t r, int64_t j, int64_t t) { return double(x[r * ldx + t]) * w[t * ldw + j]; }))
            << "rows=" << rows << " inner=" << inner << " cols=" << cols;
      }
}

TEST_P(Vector, KeyScores) {
  const KernelTable& k = table(GetParam());
  std::mt19937 rng(19);
  // 300 positions: 19 tiles, several at a time for few rows, then fewer.
  for (int64_t rows : {1, 2, 3, 8, 9, 17})
    for (int64_t head_size : {1, 8, 48, 64})
      for (int64_t positions : {1, 15, 16, 17, 100, 300}) {
        const int64_t tiles = (positions + kKeyTile - 1) / kKeyTile;
        // Keys in tiles; the tile lanes past `positions` hold values that must not matter.
        const Floats natural = random_floats(positions * head_size, rng);
        Floats keys = random_floats(tiles * kKeyTile * head_size, rng);
        for (int64_t t = 0; t < positions; ++t)
          for (int64_t d = 0; d < head_size; ++d) keys[key_tile_offset(t, d, head_size)] = natural[t * head_size + d];
        const int64_t ldq = head_size + 3, lds = positions + 2;
        const Floats q = random_floats(rows * ldq, rng), next = random_floats(256, rng);
        Floats s(rows * lds, 7.0f);
        k.key_scores(q.data(), ldq, rows, keys.data(), head_size, positions, s.data(), lds, next.data(), 1024);
        ASSERT_TRUE(sums_of_products(s, lds, rows, positions, head_size,
                                     [&](int64_t r, int64_t t, int64_t d) { return double(q[r * ldq + d]) * natural[t * head_size + d]; }))
            << "rows=" << rows << " head_size=" << head_size << " positions=" << positions;
      }
}

TEST_P(Vector, ReadSum) {
  const KernelTable& k = table(GetParam());
  std::mt19937 rng(17);
  for (int64_t n : kSizes) {
    const Floats x = random_floats(n, rng);
    double want = 0, scale = 0;
    for (int64_t i = 0; i < n; ++i) want += x[i], scale += std::fabs(x[i]);
    EXPECT_TRUE(close(k.read_sum(x.data(), n), want, scale, 1e-5)) << "n=" << n;
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, Vector, ::testing::ValuesIn(available_isas()), isa_param_name);

}  // namespace
}  // namespace accelab::cpu::test
