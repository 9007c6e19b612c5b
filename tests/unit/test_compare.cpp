// accelab compare: the Mann-Whitney U test against hand-counted exact values, and the verdicts
// of compare_results on records made here (a 20% slower strategy, a quality loss, a failed row,
// too few repetitions, unmatched rows, unusable input), and confirmation runs.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compare/compare.hpp"
#include "compare/mann_whitney.hpp"

namespace accelab {
namespace {

using json = nlohmann::json;

TEST(MannWhitney, ExactTailsMatchTheCountedDistribution) {
  // n = 5 + 5: 252 arrangements; U = 0, 1, 2, 3 occur 1, 1, 2, 3 times.
  const std::vector<double> low{1, 2, 3, 4, 5}, high{6, 7, 8, 9, 10};
  MannWhitney t = mann_whitney(low, high);
  EXPECT_TRUE(t.exact);
  EXPECT_DOUBLE_EQ(t.u, 0);
  EXPECT_NEAR(t.p, 2.0 / 252, 1e-12);
  EXPECT_NEAR(mann_whitney(high, low).p, 2.0 / 252, 1e-12);  // symmetric
  const std::vector<double> a{1, 2, 3, 7, 5}, b{4, 6, 8, 9, 10};  // pairs a > b: 7>4, 7>6, 5>4 -> U = 3
  t = mann_whitney(a, b);
  EXPECT_DOUBLE_EQ(t.u, 3);
  EXPECT_NEAR(t.p, 2.0 * 7 / 252, 1e-12);
  // 3 + 3: 20 arrangements, the smallest p is 2/20.
  EXPECT_NEAR(mann_whitney(std::vector<double>{1, 2, 3}, std::vector<double>{4, 5, 6}).p, 0.1, 1e-12);
  EXPECT_NEAR(mann_whitney_min_p(3, 3), 0.1, 1e-12);
  EXPECT_NEAR(mann_whitney_min_p(5, 5), 2.0 / 252, 1e-12);
}

TEST(MannWhitney, TiesUseTheNormalApproximation) {
  const std::vector<double> same{1, 1, 1, 1};
  MannWhitney t = mann_whitney(same, same);
  EXPECT_FALSE(t.exact);
  EXPECT_DOUBLE_EQ(t.p, 1.0);
  // Clearly separated with ties inside each sample: small p; interleaved: large p.
  const std::vector<double> a{1, 1, 2, 2, 3, 3, 4, 4}, b{10, 10, 11, 11, 12, 12, 13, 13};
  t = mann_whitney(a, b);
  EXPECT_FALSE(t.exact);
  EXPECT_LT(t.p, 0.002);
  EXPECT_GT(mann_whitney(a, std::vector<double>{1, 2, 2, 3, 3, 4, 4, 4}).p, 0.5);
}

json stat(const std::vector<double>& samples) {
  std::vector<double> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  return {{"samples", samples}, {"median", sorted[sorted.size() / 2]}};
}

std::vector<double> scaled(std::vector<double> v, double f) {
  for (double& x : v) x *= f;
  return v;
}

json row(const std::string& name, bool baseline, const std::vector<double>& tg, const std::vector<double>& speedup,
         json quality = nullptr) {
  json r = {{"name", name}, {"model", "m"}, {"written", name}, {"pipeline", name + "<resolved>"}, {"baseline", baseline},
            {"status", "ok"}, {"error", nullptr},
            {"workload", {{"prompt_tokens", 16}, {"generate_tokens", 8}, {"batch", 1}}},
            {"metrics", {{"tg_tokens_per_s", stat(tg)}, {"pp_tokens_per_s", stat(scaled(tg, 10))}, {"peak_rss_bytes", 1000}}},
            {"quality", quality}};
  if (!speedup.empty()) r["speedup_vs_baseline"] = {{"tg", stat(speedup)}, {"pp", stat(speedup)}};
  return r;
}

const std::vector<double> kBaseTg{10.0, 10.2, 9.9, 10.1, 10.05};
const std::vector<double> kSpeedup{3.0, 3.05, 2.98, 3.02, 3.01};

json record(double strategy_factor, json quality = nullptr) {
  return {{"rows", {row("cpu-ref", true, kBaseTg, {}), row("cpu-tbb", false, scaled(kBaseTg, 3 * strategy_factor),
                                                           scaled(kSpeedup, strategy_factor), quality)}}};
}

const MetricChange* find(const Comparison& c, const std::string& row_name, const std::string& metric) {
  for (const RowComparison& r : c.rows)
    if (r.name == row_name)
      for (const MetricChange& m : r.metrics)
        if (m.metric == metric) return &m;
  return nullptr;
}

TEST(Compare, TwentyPercentSlowerStrategyIsASignificantSpeedupRegression) {
  CompareOptions o;
  const Comparison c = compare_results(record(1.0), record(0.8), o);
  EXPECT_TRUE(c.regression);
  const MetricChange* m = find(c, "cpu-tbb", "tg_speedup");
  ASSERT_NE(m, nullptr);
  EXPECT_NEAR(m->change, -0.2, 0.01);
  ASSERT_TRUE(m->p.has_value());
  EXPECT_LT(*m->p, 0.01);
  EXPECT_TRUE(m->regression);
  EXPECT_EQ(find(c, "cpu-ref", "tg_speedup"), nullptr) << "the baseline's speed-up is 1 by definition";
  // The absolute tokens/s fell too, but only gate with --metric absolute.
  EXPECT_TRUE(find(c, "cpu-tbb", "tg")->worse);
  EXPECT_FALSE(find(c, "cpu-tbb", "tg")->gating);
  const std::string text = compare_console(c, o);
  EXPECT_NE(text.find("REGRESSION"), std::string::npos) << text;
  EXPECT_NE(compare_markdown(c, o).find("**REGRESSION**"), std::string::npos);
  EXPECT_EQ(compare_json(c, o)["regression"], true);
}

TEST(Compare, SameSpeedOrWithinThresholdPasses) {
  CompareOptions o;
  EXPECT_FALSE(compare_results(record(1.0), record(1.0), o).regression);
  EXPECT_FALSE(compare_results(record(1.0), record(0.97), o).regression) << "3% is within the 5% threshold";
  o.threshold = 0.02;
  EXPECT_TRUE(compare_results(record(1.0), record(0.97), o).regression);
  o.threshold = 0.02;
  o.thresholds["tg_speedup"] = 0.1;
  o.thresholds["pp_speedup"] = 0.1;
  EXPECT_FALSE(compare_results(record(1.0), record(0.97), o).regression) << "per-metric thresholds win";
  EXPECT_FALSE(compare_results(record(1.0), record(1.3), CompareOptions{}).regression) << "faster is no regression";
}

TEST(Compare, RowThresholdsWinForTheirRowAndMetricOnly) {
  CompareOptions o;  // 5%: a 20% slower cpu-tbb regresses on both speed-ups
  o.thresholds["tg_speedup"] = 0.1;
  o.row_thresholds["cpu-tbb"]["tg_speedup"] = 0.3;
  Comparison c = compare_results(record(1.0), record(0.8), o);
  EXPECT_FALSE(find(c, "cpu-tbb", "tg_speedup")->regression) << "the row's 30% wins over the metric's 10%";
  EXPECT_DOUBLE_EQ(find(c, "cpu-tbb", "tg_speedup")->threshold, 0.3);
  EXPECT_TRUE(find(c, "cpu-tbb", "pp_speedup")->regression) << "pp_speedup keeps the 5%";
  EXPECT_TRUE(c.regression);
  EXPECT_NE(compare_console(c, o).find("[threshold 30%]"), std::string::npos) << compare_console(c, o);
  EXPECT_DOUBLE_EQ(compare_json(c, o)["row_thresholds"]["cpu-tbb"]["tg_speedup"], 0.3);
  o.row_thresholds["cpu-tbb"]["pp_speedup"] = 0.3;
  EXPECT_FALSE(compare_results(record(1.0), record(0.8), o).regression);
  EXPECT_TRUE(compare_results(record(1.0), record(0.6), o).regression) << "40% slower is beyond the row's 30%";
  EXPECT_TRUE(c.warnings.empty());
  // A row threshold that names no row is a warning: a typo must not pass silently as a setting.
  CompareOptions typo;
  typo.row_thresholds["cpu-tbbb"]["tg_speedup"] = 0.3;
  c = compare_results(record(1.0), record(0.8), typo);
  EXPECT_TRUE(find(c, "cpu-tbb", "tg_speedup")->regression);
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("'cpu-tbbb'"), std::string::npos) << c.warnings[0];
}

TEST(Compare, AbsoluteModeGatesOnTokensPerSecond) {
  CompareOptions o;
  o.mode = CompareOptions::Mode::absolute;
  json now = record(1.0);
  now["rows"][0]["metrics"]["tg_tokens_per_s"] = stat(scaled(kBaseTg, 0.7));  // the baseline got slower
  const Comparison c = compare_results(record(1.0), now, o);
  EXPECT_TRUE(c.regression);
  EXPECT_TRUE(find(c, "cpu-ref", "tg")->regression);
  // The same record under --metric speedup: the strategy's speed-up did not change.
  EXPECT_FALSE(compare_results(record(1.0), now, CompareOptions{}).regression);
}

TEST(Compare, QualityLossIsARegressionInBothModes) {
  const json good = {{"perplexity", 3.60}, {"kld_mean", 0.001}, {"top1_agreement", 98.0}};
  json worse = good;
  worse["perplexity"] = 3.96;  // +10%
  for (auto mode : {CompareOptions::Mode::speedup, CompareOptions::Mode::absolute}) {
    CompareOptions o;
    o.mode = mode;
    const Comparison c = compare_results(record(1.0, good), record(1.0, worse), o);
    EXPECT_TRUE(c.regression);
    EXPECT_TRUE(find(c, "cpu-tbb", "perplexity")->regression);
    EXPECT_FALSE(find(c, "cpu-tbb", "top1")->regression);
  }
  json less_agreement = good;
  less_agreement["top1_agreement"] = 90.0;
  EXPECT_TRUE(compare_results(record(1.0, good), record(1.0, less_agreement), CompareOptions{}).regression);
}

TEST(Compare, FailedRowInNewIsARegression) {
  json now = record(1.0);
  now["rows"][1]["status"] = "failed";
  now["rows"][1]["error"] = "cpu-tbb: boom";
  const Comparison c = compare_results(record(1.0), now, CompareOptions{});
  EXPECT_TRUE(c.regression);
  EXPECT_NE(compare_console(c, CompareOptions{}).find("failed in NEW: cpu-tbb: boom"), std::string::npos);
}

TEST(Compare, TooFewRepetitionsWarnAndCannotGate) {
  auto three = [](double f) {
    json r = record(f);
    for (json& row : r["rows"])
      for (auto* s : {&row["metrics"]["tg_tokens_per_s"], &row["metrics"]["pp_tokens_per_s"]}) {
        std::vector<double> v = (*s)["samples"];
        *s = stat({v[0], v[1], v[2]});
      }
    r["rows"][1]["speedup_vs_baseline"] = {{"tg", stat(scaled({3.0, 3.05, 2.98}, f))}, {"pp", stat(scaled({3.0, 3.05, 2.98}, f))}};
    return r;
  };
  const Comparison c = compare_results(three(1.0), three(0.5), CompareOptions{});
  EXPECT_FALSE(c.regression) << "3 vs 3 repetitions can never give p < 0.05";
  ASSERT_FALSE(c.warnings.empty());
  EXPECT_NE(c.warnings.front().find("3 vs 3"), std::string::npos) << c.warnings.front();
  EXPECT_NE(c.warnings.front().find("never"), std::string::npos) << c.warnings.front();
}

TEST(Compare, UnmatchedRowsAreListedAndNoCommonRowIsUnusable) {
  json now = record(1.0);
  now["rows"][1]["written"] = "cpu-eigen";
  now["rows"][1]["name"] = "cpu-eigen";
  const Comparison c = compare_results(record(1.0), now, CompareOptions{});
  ASSERT_EQ(c.only_base.size(), 1u);
  ASSERT_EQ(c.only_new.size(), 1u);
  EXPECT_NE(c.only_base[0].find("cpu-tbb"), std::string::npos);
  EXPECT_NE(c.only_new[0].find("cpu-eigen"), std::string::npos);
  now["rows"][0]["model"] = "other";
  try {
    compare_results(record(1.0), now, CompareOptions{});
    FAIL() << "expected CompareInputError";
  } catch (const CompareInputError& e) {
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_NE(std::string(e.what()).find("no row in common"), std::string::npos);
  }
  EXPECT_THROW(compare_results(json{{"rows", 3}}, record(1.0), CompareOptions{}), CompareInputError);
}

TEST(Compare, ConfirmationRunKeepsOnlyReproducedRegressions) {
  CompareOptions o;
  // A code regression slows every run: the confirmation run reproduces it and the gate still fails.
  Comparison c = compare_results(record(1.0), record(0.8), o);
  confirm_regressions(c, compare_results(record(1.0), record(0.78), o), "rerun");
  EXPECT_TRUE(c.regression);
  EXPECT_TRUE(find(c, "cpu-tbb", "tg_speedup")->regression);
  EXPECT_FALSE(find(c, "cpu-tbb", "tg_speedup")->unconfirmed);

  // A slow minute: NEW regressed, the confirmation run did not.
  c = compare_results(record(1.0), record(0.8), o);
  confirm_regressions(c, compare_results(record(1.0), record(0.99), o), "rerun");
  EXPECT_FALSE(c.regression);
  const MetricChange* m = find(c, "cpu-tbb", "tg_speedup");
  EXPECT_FALSE(m->regression);
  EXPECT_TRUE(m->unconfirmed);
  EXPECT_NE(m->note.find("in rerun"), std::string::npos) << m->note;
  const std::string text = compare_console(c, o);
  EXPECT_NE(text.find("not reproduced"), std::string::npos) << text;
  EXPECT_NE(text.find("no significant regression"), std::string::npos) << text;
  EXPECT_NE(text.find("not reproduced by the confirmation run"), std::string::npos) << text;
  bool json_marks_it = false;
  const json as_json = compare_json(c, o);
  for (const json& jm : as_json["rows"][1]["metrics"])
    if (jm["metric"] == "tg_speedup") json_marks_it = jm["unconfirmed"] == true && jm["regression"] == false;
  EXPECT_TRUE(json_marks_it);

  // Only what regressed in NEW can count: a regression that only the confirmation run shows does not.
  c = compare_results(record(1.0), record(1.0), o);
  confirm_regressions(c, compare_results(record(1.0), record(0.8), o), "rerun");
  EXPECT_FALSE(c.regression);

  // A failed row stays a regression when it fails again, and is dropped when it ran.
  json failed = record(1.0);
  failed["rows"][1]["status"] = "failed";
  failed["rows"][1]["error"] = "cpu-tbb: boom";
  c = compare_results(record(1.0), failed, o);
  confirm_regressions(c, compare_results(record(1.0), failed, o), "rerun");
  EXPECT_TRUE(c.regression);
  c = compare_results(record(1.0), failed, o);
  confirm_regressions(c, compare_results(record(1.0), record(1.0), o), "rerun");
  EXPECT_FALSE(c.regression);
  EXPECT_NE(compare_console(c, o).find("not reproduced by rerun"), std::string::npos);

  // A row the confirmation run lacks cannot be cleared.
  json other = record(0.8);
  other["rows"][1]["written"] = other["rows"][1]["name"] = "cpu-eigen";
  c = compare_results(record(1.0), record(0.8), o);
  confirm_regressions(c, compare_results(record(1.0), other, o), "rerun");
  EXPECT_TRUE(c.regression);
}

}  // namespace
}  // namespace accelab
