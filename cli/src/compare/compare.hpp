// `accelab compare BASE NEW`: two results.json records, rows matched by model, pipeline text and
// workload point, every metric's change with a Mann–Whitney U test on the repetition samples,
// and a verdict a CI job can gate on.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/error.hpp"

namespace accelab {

struct CompareOptions {
  /// What gates: the speed-up against each record's own baseline pipeline (survives different or
  /// noisy machines), or absolute tokens/s, TTFT and memory. Quality metrics gate in both.
  enum class Mode { speedup, absolute } mode = Mode::speedup;
  double threshold = 0.05;                    ///< relative change that counts (0.05 = 5%)
  std::map<std::string, double> thresholds;   ///< per metric name (see MetricChange::metric)
  /// Per row (a pipeline's name in the experiment) and metric: wins over both of the above. For a
  /// row that the machine itself moves more than the others (a 2-thread row on a shared 2-core
  /// runner), so that its noise does not set the threshold of every row.
  std::map<std::string, std::map<std::string, double>> row_thresholds;
  double alpha = 0.05;                        ///< significance level of the test
};

struct MetricChange {
  std::string metric;  ///< pp, tg, ttft_ms, peak_rss, pp_speedup, tg_speedup, perplexity, kld_mean, top1
  bool higher_is_better = true;
  double base = 0, now = 0;   ///< medians (or the single value)
  double change = 0;          ///< (now - base) / base
  double threshold = 0;       ///< the threshold this metric of this row was judged by
  std::optional<double> p;    ///< the test's two-sided p-value, when both sides have samples
  bool gating = false;        ///< counts toward the verdict in this mode
  bool worse = false;         ///< changed in the bad direction by more than the threshold
  bool significant = false;   ///< p < alpha, or no samples to test (a single deterministic value)
  bool regression = false;    ///< gating && worse && significant (and confirmed, see confirm_regressions)
  bool unconfirmed = false;   ///< gating && worse && significant in NEW, but a confirmation run did not reproduce it
  std::string note;
};

struct RowComparison {
  std::string model, name, pipeline, workload;
  std::string status;  ///< "ok", or why the row is a regression by itself ("failed in NEW: …")
  bool failed_in_new = false;  ///< the row failed in NEW but ran in BASE: a regression by itself
  bool regression = false;
  std::vector<MetricChange> metrics;
};

struct Comparison {
  std::vector<RowComparison> rows;
  std::vector<std::string> only_base, only_new;  ///< unmatched rows ("model pipeline workload")
  std::vector<std::string> warnings;
  bool regression = false;
};

/// An unusable input (unreadable, not a results record, nothing to match): exit code 2.
class CompareInputError : public Error {
 public:
  explicit CompareInputError(const std::string& message) : Error(message, 2) {}
};

/// Compares two parsed results.json records. Throws CompareInputError when they hold no rows in
/// common or are not results records.
Comparison compare_results(const nlohmann::json& base, const nlohmann::json& now, const CompareOptions& options);

/// Keeps as regressions of `c` only those that `again` — the same BASE compared with a later run
/// of the same experiment — reproduces: a metric that regressed in both, a row that failed in
/// both. On a shared machine a whole run can be slowed by a neighbour for minutes; a code
/// regression slows every run, so rerunning what failed and gating on what reproduces keeps the
/// gate's power and drops most false alarms. A regression whose row `again` lacks stays one. The
/// dropped ones are marked unconfirmed, with a note naming `label` (the confirmation run).
void confirm_regressions(Comparison& c, const Comparison& again, const std::string& label);

/// Views of a comparison: an aligned console table with notes, GitHub Markdown (a pull-request
/// comment) and JSON.
std::string compare_console(const Comparison& c, const CompareOptions& options);
std::string compare_markdown(const Comparison& c, const CompareOptions& options);
nlohmann::json compare_json(const Comparison& c, const CompareOptions& options);

}  // namespace accelab
