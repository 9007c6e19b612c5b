// The machine probes: small and short here, so only sanity (positive, finite, within physical
// bounds) is checked, never a speed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>

#include "env/probes.hpp"
#include "util/error.hpp"

namespace accelab {
namespace {

constexpr double kShort = 0.05;  // seconds per probe

// min_rate: 100 MB/s, or 0 for a probe without a time budget (below).
void expect_sane_bandwidth(const BandwidthProbe& p, double min_rate = 100e6) {
  EXPECT_TRUE(std::isfinite(p.bytes_per_s));
  EXPECT_GT(p.bytes_per_s, min_rate);
  EXPECT_LT(p.bytes_per_s, 10e12);  // 10 TB/s
  EXPECT_GT(p.median_bytes_per_s, 0);
  EXPECT_LE(p.median_bytes_per_s, p.bytes_per_s);  // the best pass is the fastest
  EXPECT_GE(p.passes, 3);
  EXPECT_GE(p.sweeps_per_pass, 1);
  EXPECT_GT(p.seconds, 0);
}

void expect_sane_gemm(const GemmProbe& p) {
  EXPECT_TRUE(std::isfinite(p.flops_per_s));
  EXPECT_GT(p.flops_per_s, 100e6);  // 100 MFLOP/s
  EXPECT_LT(p.flops_per_s, 100e12);  // 100 TFLOP/s
  EXPECT_GT(p.median_flops_per_s, 0);
  EXPECT_LE(p.median_flops_per_s, p.flops_per_s);
  EXPECT_GE(p.passes, 3);
  EXPECT_GT(p.seconds, 0);
}

TEST(ProbeBandwidth, SmallArrayGivesASaneRate) {
  const BandwidthProbe p = probe_read_bandwidth(4u << 20, 2, kShort);
  EXPECT_EQ(p.array_bytes, 4u << 20);
  EXPECT_EQ(p.threads, 2);
  expect_sane_bandwidth(p);
}

TEST(ProbeBandwidth, SizeIsClampedAndRoundedAndThreadsAtLeastOne) {
  // A zero budget is three passes of one sweep each, every pass a wake-up of the team's threads:
  // on a loaded 2-core machine each can wait a scheduler quantum (a fresh-clone CI run measured
  // 76 MB/s so, and 6 busy loops here 87 MB/s for 1 MiB), so only a positive rate is asked of
  // these; SmallArrayGivesASaneRate checks the rate with a budget.
  const BandwidthProbe tiny = probe_read_bandwidth(1000, 0, 0);
  EXPECT_EQ(tiny.array_bytes, kMinProbeArrayBytes);
  EXPECT_EQ(tiny.threads, 1);
  {
    SCOPED_TRACE("1 thread, 1 MiB");
    expect_sane_bandwidth(tiny, 0);
  }
  // Slices of three threads that do not fall on cache lines, and a size that is not a multiple
  // of 64: rounded down.
  const BandwidthProbe odd = probe_read_bandwidth((3u << 20) + 100, 3, 0);
  EXPECT_EQ(odd.array_bytes, (3u << 20) + 64);
  SCOPED_TRACE("3 threads, 3 MiB + 64");
  expect_sane_bandwidth(odd, 0);
}

TEST(ProbeGemm, SmallShapeGivesASaneRate) {
  const GemmShape shape{64, 256, 256};
  const GemmProbe p = probe_gemm(2, kShort, shape);
  EXPECT_EQ(p.shape.m, 64);
  EXPECT_EQ(p.shape.n, 256);
  EXPECT_EQ(p.shape.k, 256);
  EXPECT_EQ(p.threads, 2);
  expect_sane_gemm(p);
}

TEST(ProbeGemm, MoreThreadsThanColumnBlocks) {
  // Some threads get no columns. Five threads on a loaded 2-core machine make a 131-kFLOP pass
  // mostly thread synchronisation, so only the result's shape is checked here, not its rate.
  const GemmProbe p = probe_gemm(5, 0, GemmShape{32, 16, 128});
  EXPECT_EQ(p.threads, 5);
  EXPECT_GE(p.passes, 3);
  EXPECT_TRUE(std::isfinite(p.flops_per_s));
  EXPECT_GT(p.flops_per_s, 0);
}

TEST(ProbeGemm, DefaultShapeIsATinyllamaPrefill) {
  EXPECT_EQ(kPrefillGemmShape.m, 512);
  EXPECT_EQ(kPrefillGemmShape.n, 2048);
  EXPECT_EQ(kPrefillGemmShape.k, 2048);
}

TEST(ProbeResults, RunProbesToJson) {
  const ProbeResult r = run_probes(2u << 20, 1, 0.02);
  EXPECT_FALSE(r.kernel_isa.empty());
  expect_sane_bandwidth(r.read_bandwidth);
  expect_sane_gemm(r.gemm);
  EXPECT_EQ(r.gemm.shape.n, kPrefillGemmShape.n);
  const nlohmann::json j = to_json(r);
  EXPECT_EQ(j["kernel_isa"], r.kernel_isa);
  EXPECT_EQ(j["read_bandwidth"]["array_bytes"].get<uint64_t>(), 2u << 20);
  EXPECT_EQ(j["read_bandwidth"]["bytes_per_s"].get<double>(), r.read_bandwidth.bytes_per_s);
  EXPECT_EQ(j["gemm"]["flops_per_s"].get<double>(), r.gemm.flops_per_s);
  EXPECT_EQ(j["gemm"]["weight_type"], "f32");
  for (const char* key : {"threads", "median_bytes_per_s", "passes", "sweeps_per_pass", "seconds"})
    EXPECT_TRUE(j["read_bandwidth"].contains(key)) << key;
  for (const char* key : {"m", "n", "k", "threads", "median_flops_per_s", "passes", "seconds"})
    EXPECT_TRUE(j["gemm"].contains(key)) << key;
}

/// Sets ACCELAB_PROBE_SECONDS for one scope, restoring what was there.
class ProbeSecondsEnv {
 public:
  explicit ProbeSecondsEnv(const char* value) {
    if (const char* old = std::getenv(kName)) old_ = old;
    if (value) setenv(kName, value, 1);
    else unsetenv(kName);
  }
  ~ProbeSecondsEnv() {
    if (old_) setenv(kName, old_->c_str(), 1);
    else unsetenv(kName);
  }
  ProbeSecondsEnv(const ProbeSecondsEnv&) = delete;
  ProbeSecondsEnv& operator=(const ProbeSecondsEnv&) = delete;

 private:
  static constexpr const char* kName = "ACCELAB_PROBE_SECONDS";
  std::optional<std::string> old_;
};

TEST(ProbeSeconds, EnvironmentOverridesTheDefault) {
  {
    ProbeSecondsEnv env(nullptr);
    EXPECT_EQ(probe_seconds_from_env(1.5), 1.5);
  }
  {
    ProbeSecondsEnv env("");
    EXPECT_EQ(probe_seconds_from_env(1.5), 1.5);
  }
  {
    ProbeSecondsEnv env("0.2");
    EXPECT_EQ(probe_seconds_from_env(1.5), 0.2);
  }
  {
    ProbeSecondsEnv env("0");
    EXPECT_EQ(probe_seconds_from_env(1.5), 0.0);
  }
  for (const char* bad : {"fast", "1.5s", "-1", "nan", "inf", "601"}) {
    ProbeSecondsEnv env(bad);
    EXPECT_THROW(probe_seconds_from_env(1.5), UsageError) << bad;
  }
}

}  // namespace
}  // namespace accelab
