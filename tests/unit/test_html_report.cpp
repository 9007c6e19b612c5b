// The HTML report: mark counts per chart derived from the record independently of the
// generator, self-containment (no network), and — when Debian's chromium is installed — the
// page rendered in headless Chromium: the inline check script ran (data-ready="1"), nothing
// reached the console, every chart has the expected number of marks in the live DOM, and a
// screenshot is saved under <build>/artifacts/.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

#include "report/html.hpp"
#include "support/temp_dir.hpp"

namespace accelab::report {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

json stat(double median) {
  return {{"median", median}, {"ci95_low", median * 0.95}, {"ci95_high", median * 1.05}, {"samples", {median}}};
}

json row(const std::string& name, const std::string& model, bool baseline, double tg_speedup, json quality = nullptr,
         double roofline = 0.8) {
  json r = {{"name", name}, {"pipeline", name}, {"written", name}, {"model", model}, {"baseline", baseline}, {"status", "ok"},
            {"error", nullptr}, {"workload", {{"prompt_tokens", 128}, {"generate_tokens", 128}, {"batch", 1}}},
            {"metrics", {{"pp_tokens_per_s", stat(50 * tg_speedup)}, {"tg_tokens_per_s", stat(5 * tg_speedup)}, {"weight_bytes", model == "big" ? 4e9 : 1e6}}},
            {"roofline", {{"tg_fraction", roofline}}}, {"quality", quality}};
  if (!baseline) r["speedup_vs_baseline"] = {{"pp", stat(tg_speedup * 1.1)}, {"tg", stat(tg_speedup)}};
  return r;
}

json quality(double ppl, double kld) { return {{"perplexity", ppl}, {"kld_mean", kld}, {"top1_agreement", 99.0}}; }

// Speed on "big", quality on "real"; int8 and int4 are swept over threads on "big".
json record() {
  json rows = json::array();
  rows.push_back(row("f32", "big", true, 1));
  rows.push_back(row("int8", "big", false, 3.1));
  rows.push_back(row("int4", "big", false, 5.6));
  rows.push_back(row("fp16", "big", false, 1.9));
  rows.push_back(row("f32", "real", true, 1, quality(3.62, 0)));
  rows.push_back(row("int8", "real", false, 1.2, quality(3.63, 0.001)));
  rows.push_back(row("int4", "real", false, 1.3, quality(3.9, 0.1)));
  rows.push_back(row("fp16", "real", false, 1.1, quality(3.62, 0.05)));  // dominated by int8
  json failed = row("broken", "big", false, 1);
  failed["status"] = "failed";
  failed["error"] = "boom <b>";
  rows.push_back(failed);
  json pipelines = json::array();
  for (int t : {1, 2, 4}) {
    const std::string name = "cpu-tbb<threads=" + std::to_string(t) + ">";
    rows.push_back(row(name, "big", false, 1.5 * t, nullptr, 0.3 * t));
    pipelines.push_back({{"name", name}, {"pipeline", name}, {"baseline", false},
                         {"sweep", {{"of", "tbb"}, {"point", {{"cpu-tbb.threads", std::to_string(t)}}}}}});
  }
  return {{"experiment", {{"name", "demo"}, {"description", "a <demo>"}, {"text", "[experiment]\nname = \"demo\"\n"}, {"file", "demo.toml"}, {"sha256", "ab"}}},
          {"environment", {{"cpu", {{"model", "Test CPU"}, {"cores", 2}}}, {"plugins", json::array()}}},
          {"tool", {{"version", "0.0"}}}, {"complete", true}, {"rows", rows}, {"pipelines", pipelines}};
}

// Expected marks per chart id, counted from the record above by hand.
const std::map<std::string, int> kExpectedMarks{
    {"speedup-0", 2 * 6},  // big: int8, int4, fp16 and the 3 sweep variants, pp and tg each (f32 is the baseline, broken failed)
    {"speedup-1", 2 * 3},  // real: int8, int4, fp16
    {"tradeoff", 4},       // f32, int8, int4, fp16 have a speed-up (big) and a KLD (real)
    {"sweep-0", 3},        // threads 1, 2, 4 (no quality: no perplexity marks)
    {"roofline", 11},      // every ok row has a tg fraction
};

std::map<std::string, int> marks_per_chart(const std::string& html) {
  std::map<std::string, int> out;
  const std::regex figure(R"~(<figure class="chart" id="([^"]+)" data-marks="(\d+)">)~");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), figure); it != std::sregex_iterator(); ++it) {
    const size_t start = static_cast<size_t>(it->position(0));
    const size_t end = html.find("</figure>", start);
    const std::string body = html.substr(start, end - start);
    int n = 0;
    for (size_t at = body.find("class=\"mark"); at != std::string::npos; at = body.find("class=\"mark", at + 1)) ++n;
    out[(*it)[1]] = n;
    EXPECT_EQ(std::stoi((*it)[2]), n) << "data-marks of " << (*it)[1];
  }
  return out;
}

TEST(HtmlReport, ChartsHaveTheMarksTheRecordCallsFor) {
  const std::string html = html_report(record());
  EXPECT_EQ(marks_per_chart(html), kExpectedMarks);
  EXPECT_NE(html.find("Pareto front"), std::string::npos);
  EXPECT_NE(html.find("Scaling"), std::string::npos) << "a threads sweep is drawn as scaling";
  EXPECT_NE(html.find("FAILED: boom &lt;b&gt;"), std::string::npos) << "text is escaped";
  EXPECT_NE(html.find("a &lt;demo&gt;"), std::string::npos);
  EXPECT_NE(html.find("Test CPU"), std::string::npos) << "the environment block";
  EXPECT_NE(html.find("name = &quot;demo&quot;"), std::string::npos) << "the experiment file";
}

TEST(HtmlReport, IsSelfContained) {
  const std::string html = html_report(record());
  std::string rest = html;
  for (size_t at = rest.find("xmlns=\"http://www.w3.org/2000/svg\""); at != std::string::npos;
       at = rest.find("xmlns=\"http://www.w3.org/2000/svg\""))
    rest.erase(at, 34);
  EXPECT_EQ(rest.find("http:"), std::string::npos);
  EXPECT_EQ(rest.find("https:"), std::string::npos);
  EXPECT_EQ(rest.find(" src="), std::string::npos);
  EXPECT_EQ(rest.find("<link"), std::string::npos);
}

TEST(HtmlReport, MissingDataLeavesNotesNotCrashes) {
  const std::string html = html_report(json{{"rows", json::array()}});
  EXPECT_NE(html.find("No speed-ups"), std::string::npos);
  EXPECT_NE(html.find("No sweeps"), std::string::npos);
  EXPECT_TRUE(marks_per_chart(html).empty());
  EXPECT_NO_THROW(html_report(json{{"rows", {{{"name", 3}, {"metrics", "x"}}}}}));
}

std::string find_chromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    const std::string cmd = std::string("command -v ") + name + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return name;
  }
  return {};
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(HtmlReportInBrowser, RendersWithoutConsoleErrorsAndWithEveryMark) {
  const std::string chromium = find_chromium();
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (.ci/install-deps installs Debian's chromium): the browser check did not run";
  test_support::TempDir dir("accelab-html");
  const fs::path page = dir.path() / "report.html";
  std::ofstream(page) << html_report(record());
  const std::string flags = " --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --hide-scrollbars"
                            " --enable-logging=stderr --v=0 --user-data-dir=" + (dir.path() / "profile").string();
  const fs::path dom = dir.path() / "dom.html", log = dir.path() / "console.log";
  const std::string cmd = "timeout 120 " + chromium + flags + " --virtual-time-budget=2000 --dump-dom 'file://" + page.string() +
                          "' >'" + dom.string() + "' 2>'" + log.string() + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd << "\n" << read(log);
  const std::string rendered = read(dom), console = read(log);
  EXPECT_NE(rendered.find("data-ready=\"1\""), std::string::npos) << "the page's check script did not finish clean:\n" << console;
  EXPECT_EQ(console.find(":CONSOLE"), std::string::npos) << "console output:\n" << console;
  EXPECT_EQ(console.find("Uncaught"), std::string::npos) << console;
  EXPECT_EQ(marks_per_chart(rendered), kExpectedMarks);

  const fs::path artifacts = fs::path(ACCELAB_BINARY_DIR) / "artifacts";
  fs::create_directories(artifacts);
  const fs::path shot = artifacts / "html-report-screenshot.png";
  fs::remove(shot);
  const std::string snap = "timeout 120 " + chromium + flags + " --window-size=1280,2400 --screenshot='" + shot.string() + "' 'file://" +
                           page.string() + "' >/dev/null 2>&1";
  ASSERT_EQ(std::system(snap.c_str()), 0) << snap;
  ASSERT_TRUE(fs::is_regular_file(shot));
  EXPECT_GT(fs::file_size(shot), 10000u) << "a blank page would be smaller";
}

}  // namespace
}  // namespace accelab::report
