// Views of a results.json record (reports/README.md): the Markdown summary, the CSV export and
// the terminal table. Each is a pure function of the record. A record cut short by a crash
// (null or missing metrics, speed-ups, quality, environment) renders with "-" or empty cells:
// these functions never throw on missing or mistyped optional data.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace accelab::report {

/// The body of results.md: a title with the experiment name, one line each on the
/// environment (CPU model, cores, compiler, build type, git commit with "-dirty") and the model,
/// a GitHub-flavoured Markdown table with one line per row, then notes (why quality was
/// skipped, non-deterministic rows, failed rows and pipelines with their errors, outliers, an
/// incomplete run). '|' and other Markdown punctuation in cells are backslash-escaped.
std::string markdown_table(const nlohmann::json& results);

/// results.csv: a header line, then one line per row with the columns
/// name, pipeline, prompt_tokens, generate_tokens, batch, status, error, repetitions,
/// pp_median, pp_ci95_low, pp_ci95_high, tg_median, tg_ci95_low, tg_ci95_high,
/// speedup_pp, speedup_pp_ci95_low, speedup_pp_ci95_high, speedup_tg, speedup_tg_ci95_low,
/// speedup_tg_ci95_high, ttft_ms_median, tg_latency_ms_p50, tg_latency_ms_p90, tg_latency_ms_p99,
/// peak_rss_bytes, weight_bytes, perplexity, kld_mean, kld_p99, kld_max, top1_agreement,
/// deterministic, tg_fraction, pp_fraction, bandwidth_bytes_per_s, gemm_flops_per_s (the last
/// four from the row's roofline). Numbers are written in full precision (shortest round-trip form), booleans as
/// true/false, null or missing values as empty cells. Fields are quoted per RFC 4180 (when they
/// contain a comma, quote, CR or LF; quotes doubled); lines end with "\n".
std::string csv_table(const nlohmann::json& results);

/// An aligned plain-text table for the terminal, one row per line after a header and a rule:
/// pipeline name, workload ("pp128+tg128 b1"), pp and tg tokens/s as "median ± CI half-width",
/// pp and tg speed-up as "1.93× [1.85, 2.01]", "pp % GEMM" and "roofline tg %" (the row's
/// roofline pp_fraction and tg_fraction × 100, one decimal), TTFT ms, peak memory MiB, weight MiB,
/// perplexity, mean KLD and top-1 agreement %. A failed row shows "FAILED: <error>" across the
/// metric columns, wrapped onto further lines when long. Every line has the same width in code
/// points (the last cell is padded too). With `color`, the header is bold and FAILED red (ANSI
/// escapes, not counted in the width); without it the text holds no escape sequences.
std::string console_table(const nlohmann::json& results, bool color);

}  // namespace accelab::report
