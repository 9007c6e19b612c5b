// The views of results.json (Markdown, CSV, console) and the JSON Schemas that describe it.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/tables.hpp"
#include "stats/summary.hpp"

namespace accelab {
namespace {

using nlohmann::json;

const std::string kInt8Pipeline =
    R"(quant-int8<group=32,exclude="blk.0.*,output|lm_head">,cpu-ref)";
const std::string kFailure = R"(plugin "quant-int8" failed: group 64, expected one of "32", "128")";
const std::string kSkipped = R"(no "stories" text, so quality was not measured)";

json summary(const std::vector<double>& samples) {
  return stats::to_json(stats::summarize(samples, 42));
}

json ratio_summary(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> r;
  for (size_t i = 0; i < a.size(); ++i) r.push_back(a[i] / b[i]);
  return summary(r);
}

json quality(double ppl, double kld_mean, double top1) {
  return {{"perplexity", ppl},
          {"kld_mean", kld_mean},
          {"kld_p99", kld_mean * 8},
          {"kld_max", kld_mean * 40},
          {"top1_agreement", top1},
          {"tokens", 4096},
          {"stories", 8}};
}

json workload(int pp, int tg, int batch) {
  return {{"prompt_tokens", pp}, {"generate_tokens", tg}, {"batch", batch}};
}

// As the runner computes it, from probes of 20 GB/s and 150 GFLOP/s.
json roofline(const json& work, uint64_t bytes, const std::vector<double>& pp,
              const std::vector<double>& tg) {
  const double bandwidth = 20e9, gemm = 150e9;
  const double flops = static_cast<double>(bytes) / 2;  // as if f32: 2 flops per 4 bytes
  const double batch = work["batch"].get<double>();
  const double tg_roof = std::min(batch * bandwidth / static_cast<double>(bytes), gemm / flops);
  return {{"bandwidth_bytes_per_s", bandwidth},
          {"gemm_flops_per_s", gemm},
          {"bytes_per_decode_step", bytes},
          {"matmul_flops_per_token", static_cast<uint64_t>(flops)},
          {"tg_roofline_tokens_per_s", tg_roof},
          {"tg_fraction", stats::summarize(tg, 42).median / tg_roof},
          {"pp_fraction", stats::summarize(pp, 42).median * flops / gemm}};
}

json measured_row(const std::string& name, const std::string& pipeline, bool baseline,
                  const json& work, const std::vector<double>& pp, const std::vector<double>& tg,
                  const std::vector<double>& base_pp, const std::vector<double>& base_tg) {
  return {{"name", name},
          {"pipeline", pipeline},
          {"baseline", baseline},
          {"workload", work},
          {"status", "ok"},
          {"error", nullptr},
          {"repetitions", pp.size()},
          {"warmup", 1},
          {"deterministic", true},
          {"metrics",
           {{"pp_tokens_per_s", summary(pp)},
            {"tg_tokens_per_s", summary(tg)},
            {"ttft_ms", summary({12.31, 12.52, 12.4, 12.38, 12.45})},
            {"tg_latency_ms_p50", summary({4.01, 4.02, 4.0, 4.03, 4.01})},
            {"tg_latency_ms_p90", summary({4.5, 4.6, 4.4, 4.5, 4.55})},
            {"tg_latency_ms_p99", summary({5.9, 6.1, 6.0, 5.8, 6.3})},
            {"peak_rss_bytes", 1536 * 1024 * 1024ull},
            {"weight_bytes", baseline ? 60816028 : 15204007}}},
          {"speedup_vs_baseline",
           {{"pp", ratio_summary(pp, base_pp)}, {"tg", ratio_summary(tg, base_tg)}}},
          {"quality", baseline ? quality(5.1234, 0, 100) : quality(5.2345, 0.001234, 97.5)},
          {"quality_skipped", nullptr},
          {"roofline", roofline(work, baseline ? 60816028 : 15204007, pp, tg)}};
}

// Two pipelines at two workload points; int8 fails at the second and has no quality at the first.
json results_fixture() {
  const std::vector<double> base_pp1 = {1523.4, 1530.1, 1519.8, 1528.7, 1525.0};
  const std::vector<double> base_tg1 = {55.31, 55.12, 55.48, 55.2, 55.36};
  const std::vector<double> base_pp2 = {2210.0, 2190.5, 2205.2, 2198.7, 2201.3};
  const std::vector<double> base_tg2 = {180.2, 181.5, 179.9, 180.8, 140.0};  // one outlier
  const std::vector<double> int8_pp1 = {2950.2, 2961.7, 2944.0, 2958.3, 2949.9};
  const std::vector<double> int8_tg1 = {106.8, 107.3, 106.5, 107.0, 106.9};

  json base1 = measured_row("cpu-ref", "cpu-ref", true, workload(128, 128, 1), base_pp1, base_tg1,
                            base_pp1, base_tg1);
  json base2 = measured_row("cpu-ref", "cpu-ref", true, workload(512, 32, 4), base_pp2, base_tg2,
                            base_pp2, base_tg2);
  base2["deterministic"] = false;
  json int8_1 = measured_row("int8", kInt8Pipeline, false, workload(128, 128, 1), int8_pp1,
                             int8_tg1, base_pp1, base_tg1);
  int8_1["quality"] = nullptr;
  int8_1["quality_skipped"] = kSkipped;
  json int8_2 = {{"name", "int8"},
                 {"pipeline", kInt8Pipeline},
                 {"baseline", false},
                 {"workload", workload(512, 32, 4)},
                 {"status", "failed"},
                 {"error", kFailure},
                 {"repetitions", 0},
                 {"warmup", 1},
                 {"deterministic", true},
                 {"metrics", nullptr},
                 {"speedup_vs_baseline", nullptr},
                 {"quality", nullptr},
                 {"quality_skipped", nullptr},
                 {"roofline", nullptr}};

  const json probes = {
      {"kernel_isa", "avx512"},
      {"read_bandwidth",
       {{"array_bytes", 60816000},
        {"threads", 2},
        {"bytes_per_s", 20e9},
        {"median_bytes_per_s", 18.5e9},
        {"passes", 12},
        {"sweeps_per_pass", 2},
        {"seconds", 1.52}}},
      {"gemm",
       {{"m", 512},
        {"n", 2048},
        {"k", 2048},
        {"weight_type", "f32"},
        {"threads", 2},
        {"flops_per_s", 150e9},
        {"median_flops_per_s", 141e9},
        {"passes", 52},
        {"seconds", 1.5}}}};
  json env = {
      {"probes", probes},
      {"cpu",
       {{"model", "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz"},
        {"flags", {"avx2", "avx512f"}},
        {"logical_cores", 2},
        {"physical_cores", 1},
        {"caches", "L1d 48K, L2 2048K"}}},
      {"memory_bytes", 8ull << 30},
      {"os", {{"kernel", "6.1.0"}, {"system", "Linux"}, {"machine", "x86_64"}, {"hostname", "ci"}}},
      {"compiler", {{"id", "GNU"}, {"version", "12.2.0"}, {"flags", "-O3"}}},
      {"build_type", "Release"},
      {"git", {{"commit", "abc1234def5678"}, {"dirty", true}}},
      {"libraries", {{"fmt", "9.1.0"}}},
      {"accelab_version", "0.1.0"},
      {"plugin_abi", {{"major", 1}, {"minor", 0}}},
      {"gpu", nullptr},
      {"plugins",
       {{{"name", "cpu_ref"},
         {"version", "0.1.0"},
         {"path", "lib/accelab/plugins/libcpu_ref.so"},
         {"sha256", std::string(64, 'a')},
         {"abi", {{"major", 1}, {"minor", 0}}}}}}};

  return {{"schema_version", 1},
          {"tool", {{"name", "accelab"}, {"version", "0.1.0"}}},
          {"experiment",
           {{"name", "int8-vs-fp32"},
            {"description", "Does int8 pay off?"},
            {"file", "experiments/int8.toml"},
            {"sha256", std::string(64, 'b')},
            {"seed", 7},
            {"text", "[experiment]\nname = \"int8-vs-fp32\"\n"}}},
          {"started_at", "2026-11-21T18:30:00Z"},
          {"finished_at", "2026-11-21T18:42:10Z"},
          {"complete", true},
          {"environment", env},
          {"model",
           {{"source", "synth:stories15M"},
            {"synthetic", true},
            {"config",
             {{"dim", 288},
              {"hidden_dim", 768},
              {"n_layers", 6},
              {"n_heads", 6},
              {"n_kv_heads", 6},
              {"vocab_size", 32000},
              {"seq_len", 256}}},
            {"tokenizer", nullptr}}},
          {"measure",
           {{"warmup", 1},
            {"repetitions", "auto"},
            {"min_time_s", 0.5},
            {"target_ci", 0.02},
            {"max_time_s", 30},
            {"quality", true},
            {"eval_text", nullptr},
            {"stories", 8}}},
          {"pipelines",
           {{{"name", "cpu-ref"},
             {"pipeline", "cpu-ref"},
             {"baseline", true},
             {"status", "ok"},
             {"error", nullptr},
             {"weight_bytes", 60816028},
             {"quality", quality(5.1234, 0, 100)}},
            {{"name", "int8"},
             {"pipeline", kInt8Pipeline},
             {"baseline", false},
             {"status", "ok"},
             {"error", nullptr},
             {"weight_bytes", 15204007},
             {"quality", nullptr}}}},
          {"quality_skipped", nullptr},
          {"rows", {base1, int8_1, base2, int8_2}}};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

size_t code_points(const std::string& s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string strip_ansi(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\x1b') {
      i = s.find('m', i);
      if (i == std::string::npos) break;
      continue;
    }
    out += s[i];
  }
  return out;
}

// GFM table cells: a backslash escapes the next character, an unescaped '|' delimits.
std::vector<std::string> markdown_cells(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  for (size_t i = 1; i < line.size(); ++i) {  // line[0] is the leading '|'
    if (line[i] == '\\' && i + 1 < line.size()) {
      cell += line.substr(i, 2);
      ++i;
    } else if (line[i] == '|') {
      cells.push_back(cell);
      cell.clear();
    } else {
      cell += line[i];
    }
  }
  return cells;
}

// RFC 4180: records of fields; quoted fields may hold commas, doubled quotes and line breaks.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      record.push_back(std::move(field));
      field.clear();
    } else if (c == '\n') {
      record.push_back(std::move(field));
      field.clear();
      records.push_back(std::move(record));
      record.clear();
    } else if (c != '\r') {
      field += c;
    }
  }
  EXPECT_FALSE(quoted) << "unterminated quoted field";
  if (!field.empty() || !record.empty()) {
    record.push_back(field);
    records.push_back(record);
  }
  return records;
}

const std::vector<std::string> kCsvHeader = {"name",
                                             "pipeline",
                                             "prompt_tokens",
                                             "generate_tokens",
                                             "batch",
                                             "status",
                                             "error",
                                             "repetitions",
                                             "pp_median",
                                             "pp_ci95_low",
                                             "pp_ci95_high",
                                             "tg_median",
                                             "tg_ci95_low",
                                             "tg_ci95_high",
                                             "speedup_pp",
                                             "speedup_pp_ci95_low",
                                             "speedup_pp_ci95_high",
                                             "speedup_tg",
                                             "speedup_tg_ci95_low",
                                             "speedup_tg_ci95_high",
                                             "ttft_ms_median",
                                             "tg_latency_ms_p50",
                                             "tg_latency_ms_p90",
                                             "tg_latency_ms_p99",
                                             "peak_rss_bytes",
                                             "weight_bytes",
                                             "perplexity",
                                             "kld_mean",
                                             "kld_p99",
                                             "kld_max",
                                             "top1_agreement",
                                             "deterministic",
                                             "tg_fraction",
                                             "pp_fraction",
                                             "bandwidth_bytes_per_s",
                                             "gemm_flops_per_s",
                                             "model"};

size_t column(const std::string& name) {
  return static_cast<size_t>(std::find(kCsvHeader.begin(), kCsvHeader.end(), name) -
                             kCsvHeader.begin());
}

TEST(ReportMarkdown, TitleEnvironmentAndOneLinePerRow) {
  const std::string md = report::markdown_table(results_fixture());
  EXPECT_EQ(md.rfind("# int8-vs-fp32\n", 0), 0u) << md;
  EXPECT_NE(md.find("Intel(R) Xeon(R) Platinum 8481C"), std::string::npos);
  EXPECT_NE(md.find("1 core / 2 threads"), std::string::npos);
  EXPECT_NE(md.find("GNU 12.2.0"), std::string::npos);
  EXPECT_NE(md.find("commit abc1234-dirty"), std::string::npos);

  std::vector<std::string> table;
  for (const std::string& line : lines_of(md))
    if (!line.empty() && line[0] == '|') table.push_back(line);
  ASSERT_EQ(table.size(), 2u + 4u) << md;
  const size_t n = markdown_cells(table[0]).size();
  EXPECT_EQ(n, 17u);
  for (const std::string& line : table) EXPECT_EQ(markdown_cells(line).size(), n) << line;
  for (const std::string& cell : markdown_cells(table[1]))
    EXPECT_EQ(cell.find_first_not_of(" -:"), std::string::npos) << table[1];
  // The '|' inside the int8 pipeline text is escaped rather than splitting the cell.
  EXPECT_NE(table[3].find(R"(output\|lm\_head)"), std::string::npos) << table[3];
  EXPECT_NE(table[5].find("**FAILED**"), std::string::npos) << table[5];
  EXPECT_NE(table[2].find("1525 ± "), std::string::npos) << table[2];
  EXPECT_NE(table[2].find("55.3 ± "), std::string::npos) << table[2];
  EXPECT_NE(table[3].find("1.93× ["), std::string::npos) << table[3];
  EXPECT_NE(table[2].find("baseline"), std::string::npos) << table[2];
}

TEST(ReportRoofline, PercentColumnsAndCsvFractions) {
  json r = results_fixture();
  r["rows"][0]["roofline"]["tg_fraction"] = 0.41234;
  r["rows"][0]["roofline"]["pp_fraction"] = 0.05678;
  r["rows"][2]["roofline"]["tg_fraction"] = nullptr;  // as when nothing was generated

  std::vector<std::vector<std::string>> table;  // trimmed cells of the Markdown table lines
  for (const std::string& line : lines_of(report::markdown_table(r))) {
    if (line.empty() || line[0] != '|') continue;
    std::vector<std::string> cells = markdown_cells(line);
    for (std::string& c : cells) {
      const size_t first = c.find_first_not_of(' ');
      c = first == std::string::npos ? "" : c.substr(first, c.find_last_not_of(' ') - first + 1);
    }
    table.push_back(std::move(cells));
  }
  ASSERT_EQ(table.size(), 2u + 4u);
  const auto col = [&](const std::string& name) {
    const auto it = std::find(table[0].begin(), table[0].end(), name);
    EXPECT_NE(it, table[0].end()) << name << " is not a column";
    return static_cast<size_t>(it - table[0].begin());
  };
  EXPECT_EQ(table[2][col("roofline tg %")], "41.2");
  EXPECT_EQ(table[2][col("pp % GEMM")], "5.7");
  EXPECT_EQ(table[4][col("roofline tg %")], "-");
  EXPECT_EQ(table[5][col("roofline tg %")], "");  // a failed row leaves its cells empty

  const std::string console = report::console_table(r, false);
  EXPECT_NE(console.find("roofline tg %"), std::string::npos) << console;
  EXPECT_NE(console.find("pp % GEMM"), std::string::npos) << console;
  EXPECT_NE(lines_of(console)[2].find(" 41.2 "), std::string::npos) << console;

  const auto records = parse_csv(report::csv_table(r));
  EXPECT_EQ(std::stod(records[1][column("tg_fraction")]), 0.41234);
  EXPECT_EQ(std::stod(records[1][column("pp_fraction")]), 0.05678);
  EXPECT_EQ(std::stod(records[1][column("bandwidth_bytes_per_s")]), 20e9);
  EXPECT_EQ(std::stod(records[1][column("gemm_flops_per_s")]), 150e9);
  EXPECT_EQ(records[3][column("tg_fraction")], "");
  EXPECT_EQ(records[4][column("pp_fraction")], "");  // failed row: no roofline
}

TEST(ReportMarkdown, NotesGiveSkippedQualityFailuresAndOutliers) {
  const std::string md = report::markdown_table(results_fixture());
  const size_t notes = md.find("## Notes");
  ASSERT_NE(notes, std::string::npos) << md;
  const std::string tail = md.substr(notes);
  EXPECT_NE(tail.find(kSkipped), std::string::npos) << tail;
  EXPECT_NE(tail.find(kFailure), std::string::npos) << tail;
  EXPECT_NE(tail.find("int8 pp512+tg32 b4"), std::string::npos) << tail;
  EXPECT_NE(tail.find("Non-deterministic"), std::string::npos) << tail;
  EXPECT_NE(tail.find("cpu-ref pp512+tg32 b4"), std::string::npos) << tail;
  EXPECT_NE(tail.find("Outliers"), std::string::npos) << tail;
}

TEST(ReportMarkdown, NotesGiveEachPointsRooflineBandwidthWithItsRoundProbes) {
  json r = results_fixture();
  // The first point's two rows share its probes; the second point had one.
  const json three = {22e9, 18e9, 20e9};
  r["rows"][0]["roofline"]["probe_bandwidths_bytes_per_s"] = three;
  r["rows"][1]["roofline"]["probe_bandwidths_bytes_per_s"] = three;
  r["rows"][2]["roofline"]["probe_bandwidths_bytes_per_s"] = json::array({20e9});
  const std::string md = report::markdown_table(r);
  const std::string first =
      "Roofline bandwidth at pp128+tg128 b1: 20.0 GB/s, the median of 3 round probes (18.0–22.0 GB/s).";
  const size_t at = md.find(first);
  ASSERT_NE(at, std::string::npos) << md;
  EXPECT_EQ(md.find(first, at + 1), std::string::npos) << "one note per point\n" << md;
  EXPECT_NE(md.find("Roofline bandwidth at pp512+tg32 b4: 20.0 GB/s (one round probe)."), std::string::npos) << md;

  // Records written before the probes were listed (or with no round probes) get no such note.
  const std::string plain = report::markdown_table(results_fixture());
  EXPECT_EQ(plain.find("Roofline bandwidth"), std::string::npos) << plain;
}

TEST(ReportMarkdown, RunWideSkippedQualityAndIncompleteRun) {
  json r = results_fixture();
  r["quality_skipped"] = "the model is synthetic";
  r["complete"] = false;
  r["finished_at"] = nullptr;
  const std::string md = report::markdown_table(r);
  EXPECT_NE(md.find("Quality not measured: the model is synthetic."), std::string::npos) << md;
  EXPECT_NE(md.find("Incomplete run"), std::string::npos) << md;
}

TEST(ReportCsv, HeaderAndRoundTrip) {
  const json r = results_fixture();
  const std::string csv = report::csv_table(r);
  const auto records = parse_csv(csv);
  ASSERT_EQ(records.size(), 1u + 4u) << csv;
  EXPECT_EQ(records[0], kCsvHeader);
  for (const auto& rec : records) EXPECT_EQ(rec.size(), kCsvHeader.size());

  const auto& int8_ok = records[2];
  const auto& int8_failed = records[4];
  EXPECT_EQ(int8_ok[column("pipeline")], kInt8Pipeline);
  EXPECT_EQ(int8_failed[column("pipeline")], kInt8Pipeline);
  EXPECT_EQ(int8_failed[column("status")], "failed");
  EXPECT_EQ(int8_failed[column("error")], kFailure);
  EXPECT_EQ(int8_failed[column("pp_median")], "");
  EXPECT_EQ(int8_failed[column("speedup_tg")], "");
  EXPECT_EQ(int8_ok[column("perplexity")], "");  // quality null
  EXPECT_EQ(int8_ok[column("error")], "");
  EXPECT_EQ(records[1][column("top1_agreement")], "100");
  EXPECT_EQ(records[1][column("prompt_tokens")], "128");
  EXPECT_EQ(records[3][column("batch")], "4");
  EXPECT_EQ(records[3][column("deterministic")], "false");
  EXPECT_EQ(records[1][column("deterministic")], "true");
  EXPECT_EQ(records[1][column("peak_rss_bytes")], "1610612736");

  // Numbers keep full precision: they parse back to what the record holds.
  const double tg = r["rows"][1]["metrics"]["tg_tokens_per_s"]["median"].get<double>();
  EXPECT_EQ(std::stod(int8_ok[column("tg_median")]), tg);
  EXPECT_EQ(std::stod(int8_ok[column("speedup_tg")]),
            r["rows"][1]["speedup_vs_baseline"]["tg"]["median"].get<double>());
}

TEST(ReportConsole, LinesAreEquallyWideAndFailedRowShowsError) {
  const std::string text = report::console_table(results_fixture(), false);
  const auto lines = lines_of(text);
  ASSERT_GE(lines.size(), 2u + 4u) << text;
  for (const std::string& line : lines)
    EXPECT_EQ(code_points(line), code_points(lines[0])) << "\n" << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_NE(text.find("FAILED: " + kFailure), std::string::npos) << text;
  EXPECT_NE(text.find("pp128+tg128 b1"), std::string::npos) << text;
  EXPECT_NE(text.find("1.93× ["), std::string::npos) << text;
  EXPECT_NE(text.find("1525 ± "), std::string::npos) << text;
}

TEST(ReportConsole, ColorOnlyWhenAskedAndWidthsIgnoreEscapes) {
  const std::string text = report::console_table(results_fixture(), true);
  EXPECT_NE(text.find("\x1b[1m"), std::string::npos);
  EXPECT_NE(text.find("\x1b[31mFAILED"), std::string::npos) << text;
  const auto lines = lines_of(strip_ansi(text));
  for (const std::string& line : lines) EXPECT_EQ(code_points(line), code_points(lines[0]));
}

TEST(ReportConsole, LongErrorsWrapInsideTheTable) {
  json r = results_fixture();
  std::string error;
  for (int i = 0; i < 40; ++i) error += "word" + std::to_string(i) + " ";
  error += std::string(300, 'x');
  r["rows"][3]["error"] = error;
  const auto lines = lines_of(report::console_table(r, false));
  EXPECT_GT(lines.size(), 2u + 4u);
  std::string all;
  for (const std::string& line : lines) {
    EXPECT_EQ(code_points(line), code_points(lines[0])) << line;
    all += line;
  }
  EXPECT_NE(all.find("word39"), std::string::npos);
}

TEST(ReportNumbers, SignificantDigits) {
  json r = results_fixture();
  r["rows"][0]["quality"]["kld_mean"] = 1.23e-05;
  r["rows"][2]["quality"]["kld_mean"] = 0.001234;
  r["rows"][2]["quality"]["perplexity"] = 5.123456;
  r["rows"][2]["quality"]["top1_agreement"] = 97.3456;
  const std::string text = report::console_table(r, false);
  EXPECT_NE(text.find("1.23e-05"), std::string::npos) << text;
  EXPECT_NE(text.find("0.001234"), std::string::npos) << text;
  EXPECT_NE(text.find("5.1235"), std::string::npos) << text;
  EXPECT_NE(text.find("97.35"), std::string::npos) << text;
  EXPECT_NE(text.find("180.2 ± "), std::string::npos) << text;  // below 1000: one decimal
}

TEST(ReportRobustness, MinimalAndPartialRecordsDoNotThrow) {
  const std::vector<json> records = {
      json::object(),
      json(nullptr),
      json::parse(R"({"rows": []})"),
      json::parse(R"({"rows": [{"name": "x"}]})"),
      json::parse(R"({"rows": [{"name": "x", "status": "ok", "metrics": null}]})"),
      json::parse(R"({"rows": [{"name": "x", "status": "failed", "error": null}]})"),
      json::parse(R"({"rows": [42, "x", null], "pipelines": 3, "environment": []})"),
      json::parse(R"({"rows": [{"name": "x", "workload": {"batch": 2},
                      "metrics": {"pp_tokens_per_s": {"median": 10}, "ttft_ms": null,
                                  "tg_tokens_per_s": {"median": "fast"}},
                      "speedup_vs_baseline": {"tg": {"median": 1.5}},
                      "quality": {"kld_mean": null}}]})"),
  };
  for (const json& r : records) {
    std::string md, csv, console;
    EXPECT_NO_THROW(md = report::markdown_table(r)) << r.dump();
    EXPECT_NO_THROW(csv = report::csv_table(r)) << r.dump();
    EXPECT_NO_THROW(console = report::console_table(r, true)) << r.dump();
    EXPECT_EQ(parse_csv(csv)[0], kCsvHeader);
    const auto lines = lines_of(strip_ansi(console));
    for (const std::string& line : lines) EXPECT_EQ(code_points(line), code_points(lines[0]));
  }
  const std::string partial = report::console_table(records[7], false);
  EXPECT_NE(partial.find("pp?+tg? b2"), std::string::npos) << partial;
  EXPECT_NE(partial.find("1.50×"), std::string::npos) << partial;
}

// ---- the JSON Schemas ----

std::filesystem::path reports_dir() {
  return std::filesystem::path(ACCELAB_SOURCE_DIR) / "reports";
}

json read_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  EXPECT_TRUE(in) << p;
  return json::parse(in);
}

TEST(ResultsSchema, LineSchemaSharesTheRecordDefinitions) {
  const json record = read_json(reports_dir() / "results.schema.json");
  const json line = read_json(reports_dir() / "results-line.schema.json");
  for (const auto& [name, def] : record["$defs"].items()) {
    ASSERT_TRUE(line["$defs"].contains(name)) << name;
    EXPECT_EQ(line["$defs"][name], def) << name << " differs between the two schemas";
  }
}

bool python_jsonschema_available() {
  return std::system(
             "/usr/bin/python3 -c 'import jsonschema; jsonschema.Draft202012Validator' "
             ">/dev/null 2>&1") == 0;
}

// Validates `instance` against `schema`: each line when `lines`, else the whole file. Exit 0 when
// valid, 3 when not (so a crash, exit 1, is told apart from a rejection).
int validate(const std::filesystem::path& schema, const std::string& instance, bool lines) {
  const std::filesystem::path dir = testing::TempDir();
  const std::string tag = std::to_string(getpid());
  const std::filesystem::path script = dir / ("accelab_validate_" + tag + ".py");
  const std::filesystem::path data = dir / ("accelab_instance_" + tag + ".json");
  std::ofstream(script) << R"(import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
text = open(sys.argv[2]).read()
docs = [json.loads(l) for l in text.splitlines() if l.strip()] if sys.argv[3] == "lines" else [json.loads(text)]
errors = [e for d in docs for e in validator.iter_errors(d)]
for e in errors:
    print("schema:", list(e.absolute_path), e.message[:300], file=sys.stderr)
sys.exit(3 if errors else 0)
)";
  std::ofstream(data) << instance;
  const std::string cmd = "/usr/bin/python3 '" + script.string() + "' '" + schema.string() + "' '" +
                          data.string() + "' " + (lines ? "lines" : "whole");
  const int status = std::system(cmd.c_str());
  std::filesystem::remove(script);
  std::filesystem::remove(data);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(ResultsSchema, FixtureValidatesAndBrokenCopyDoesNot) {
  if (!python_jsonschema_available()) GTEST_SKIP() << "python3-jsonschema not installed";
  const std::filesystem::path schema = reports_dir() / "results.schema.json";
  const json good = results_fixture();
  EXPECT_EQ(validate(schema, good.dump(2), false), 0);

  json broken = good;
  broken["rows"][0]["status"] = "maybe";
  broken.erase("schema_version");
  EXPECT_EQ(validate(schema, broken.dump(2), false), 3);
}

TEST(ResultsSchema, JsonlLinesValidate) {
  if (!python_jsonschema_available()) GTEST_SKIP() << "python3-jsonschema not installed";
  const json r = results_fixture();
  json start = {{"type", "start"},
                {"schema_version", 1},
                {"experiment", r["experiment"]},
                {"environment", r["environment"]},
                {"model", r["model"]},
                {"measure", r["measure"]},
                {"pipelines", json::array()},
                {"started_at", r["started_at"]}};
  for (const json& p : r["pipelines"])
    start["pipelines"].push_back(
        {{"name", p["name"]}, {"pipeline", p["pipeline"]}, {"baseline", p["baseline"]}});
  const json sample = {{"type", "sample"},          {"name", "int8"},
                       {"pipeline", kInt8Pipeline}, {"workload", workload(128, 128, 1)},
                       {"repetition", -1},          {"warmup", true},
                       {"pp_tokens_per_s", 2950.2}, {"tg_tokens_per_s", 106.8},
                       {"ttft_ms", 12.3},           {"tg_latency_ms_p50", 4.0},
                       {"tg_latency_ms_p90", 4.5},  {"tg_latency_ms_p99", 6.0},
                       {"peak_rss_bytes", 1 << 30}, {"tokens_sha256", std::string(64, 'c')}};
  const json quality_line = {{"type", "quality"},
                             {"name", "cpu-ref"},
                             {"pipeline", "cpu-ref"},
                             {"quality", quality(5.1, 0, 100)}};
  const json failure = {{"type", "failure"},
                        {"name", "int8"},
                        {"pipeline", kInt8Pipeline},
                        {"workload", nullptr},
                        {"error", kFailure}};
  const json row = {{"type", "row"}, {"row", r["rows"][3]}};
  const json end = {{"type", "end"}, {"complete", true}, {"finished_at", r["finished_at"]}};
  std::string jsonl;
  for (const json& line : {start, sample, quality_line, failure, row, end})
    jsonl += line.dump() + "\n";

  const std::filesystem::path schema = reports_dir() / "results-line.schema.json";
  EXPECT_EQ(validate(schema, jsonl, true), 0);
  EXPECT_EQ(validate(schema, json{{"type", "progress"}}.dump() + "\n", true), 3);
  json bad_row = row;
  bad_row["row"]["status"] = "maybe";
  EXPECT_EQ(validate(schema, bad_row.dump() + "\n", true), 3);
}

}  // namespace
}  // namespace accelab
