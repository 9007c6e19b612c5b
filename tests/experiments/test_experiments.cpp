// accelab run, end to end: documented examples run, results match the schema, a failing
// pipeline is recorded while the others complete, a killed run leaves valid JSON lines.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;

namespace {

std::string data_dir() {
  const char* env = std::getenv("ACCELAB_DATA");
  return env ? env : ACCELAB_SOURCE_DIR "/../shared";
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Result {
  int exit_code = -1;
  std::string output;
};

class ExperimentRun : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("accelab-exp-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    if (!fs::exists(data_dir() + "/models/stories260K.bin")) GTEST_SKIP() << "missing " << data_dir() << "/models/stories260K.bin";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string env_prefix() const {
    return "env ACCELAB_PROBE_SECONDS=0.2 ACCELAB_DATA='" + data_dir() + "' ACCELAB_CACHE='" + (dir_ / "cache").string() + "' ";
  }

  Result run(const std::string& args) const {
    std::string cmd = env_prefix() + "timeout -k 5 240 '" ACCELAB_EXE "' " + args + " 2>&1";
    Result r;
    FILE* p = popen(cmd.c_str(), "r");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
    int status = pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
  }

  fs::path write(const std::string& name, const std::string& text) const {
    fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p;
  }

  // Validates with Debian's python3-jsonschema when present; returns false with a reason if absent.
  bool schema_valid(const fs::path& results, std::string& why) const {
    if (std::system("/usr/bin/python3 -c 'import jsonschema' >/dev/null 2>&1") != 0) {
      why = "python3-jsonschema not installed";
      return true;
    }
    std::string cmd = "/usr/bin/python3 -c 'import json,sys,jsonschema; "
                      "jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' '" +
                      results.string() + "' '" ACCELAB_SOURCE_DIR "/reports/results.schema.json' 2>&1";
    return std::system(cmd.c_str()) == 0;
  }

  // Starts `accelab run FILE --out OUT` in the background (its stderr in OUT/stderr.log), waits
  // until `ready()` (at most 60 s), then sends `signal` and returns the exit status (SIGKILL's if
  // the run was still going 60 s after the signal). `saw_ready` says whether ready() came true.
  template <class Ready>
  int run_then_signal_when(const fs::path& file, const fs::path& out, Ready ready, int signal, bool& saw_ready) const {
    fs::create_directories(out);
    std::string cmd = "exec " + env_prefix() + "'" ACCELAB_EXE "' run '" + file.string() + "' --out '" +
                      out.string() + "' >/dev/null 2>'" + (out / "stderr.log").string() + "'";
    pid_t pid = fork();
    if (pid == 0) {
      execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    saw_ready = false;
    for (int i = 0; i < 600 && !saw_ready && pid > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      saw_ready = ready();
    }
    int status = 0;
    if (pid <= 0) return status;
    kill(pid, signal);
    // A run that ignores the signal is killed after 60 s (its status then says SIGKILL).
    for (int i = 0; i < 600; ++i) {
      if (waitpid(pid, &status, WNOHANG) == pid) return status;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return status;
  }

  // As above, ready once results.jsonl holds at least `rows` row lines.
  int run_then_signal(const fs::path& file, const fs::path& out, size_t rows, int signal, bool& saw_rows) const {
    return run_then_signal_when(
        file, out,
        [&] {
          std::string text = slurp(out / "results.jsonl");
          size_t n = 0;
          for (size_t at = text.find("\"type\":\"row\""); at != std::string::npos; at = text.find("\"type\":\"row\"", at + 1)) ++n;
          return n >= rows;
        },
        signal, saw_rows);
  }

  fs::path dir_;
};

std::vector<std::string> readme_examples() {
  std::string text = slurp(ACCELAB_SOURCE_DIR "/experiments/README.md");
  std::vector<std::string> out;
  std::regex block("```toml\n([\\s\\S]*?)```");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), block); it != std::sregex_iterator(); ++it)
    out.push_back((*it)[1].str());
  return out;
}

TEST_F(ExperimentRun, EveryReadmeExampleRuns) {
  auto examples = readme_examples();
  ASSERT_GE(examples.size(), 3u);
  for (size_t i = 0; i < examples.size(); ++i) {
    SCOPED_TRACE("example " + std::to_string(i + 1) + ":\n" + examples[i]);
    fs::path file = write("example" + std::to_string(i) + ".toml", examples[i]);
    fs::path out = dir_ / ("out" + std::to_string(i));
    Result r = run("run '" + file.string() + "' --out '" + out.string() + "'");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto results = nlohmann::json::parse(slurp(out / "results.json"));
    EXPECT_TRUE(results["complete"].get<bool>());
    for (const auto& row : results["rows"]) EXPECT_EQ(row["status"], "ok") << row.dump();
    std::string why;
    EXPECT_TRUE(schema_valid(out / "results.json", why)) << "results.json does not match reports/results.schema.json";
    EXPECT_TRUE(fs::exists(out / "results.md"));
    EXPECT_TRUE(fs::exists(out / "results.csv"));
  }
}

TEST_F(ExperimentRun, CommittedExperimentsPassDryRun) {
  for (const auto& entry : fs::directory_iterator(ACCELAB_SOURCE_DIR "/experiments")) {
    if (entry.path().extension() != ".toml") continue;
    Result r = run("run '" + entry.path().string() + "' --dry-run");
    EXPECT_EQ(r.exit_code, 0) << entry.path() << "\n" << r.output;
    EXPECT_NE(r.output.find("plan OK"), std::string::npos) << r.output;
  }
}

// Pipelines quoted in the READMEs and reports (`quant-int8<block=32>,cpu-tbb<threads=2>`, ...):
// code spans of stages with parameters or commas whose first stage is one of ours. Each must
// plan, a transform alone with a backend added, so a renamed parameter cannot live on in the docs.
std::vector<std::string> readme_pipelines() {
  const std::vector<fs::path> docs = {"README.md", "experiments/README.md", "reports/README.md",
                                      "plugin-api/examples/hello/README.md"};
  std::vector<fs::path> files;
  for (const auto& d : docs) files.push_back(fs::path(ACCELAB_SOURCE_DIR) / d);
  for (const auto& e : fs::directory_iterator(fs::path(ACCELAB_SOURCE_DIR) / "plugins"))
    if (fs::exists(e.path() / "README.md")) files.push_back(e.path() / "README.md");
  // The committed reports' write-ups (README.md, history.md) quote pipelines too.
  for (const auto& e : fs::directory_iterator(fs::path(ACCELAB_SOURCE_DIR) / "reports"))
    if (e.is_directory())
      for (const auto& f : fs::directory_iterator(e.path()))
        if (f.path().extension() == ".md" && f.path().filename() != "results.md") files.push_back(f.path());
  const std::regex span("`([^`\n]+)`");
  const std::regex stage_list("(cpu-|quant-|hello)[a-z0-9-]*(<[^<>()]*>)?(,[a-z][a-z0-9-]*(<[^<>()]*>)?)*");
  std::vector<std::string> out;
  for (const auto& f : files) {
    const std::string text = slurp(f);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), span); it != std::sregex_iterator(); ++it) {
      const std::string s = (*it)[1].str();
      if (s.find_first_of("<,") == std::string::npos || !std::regex_match(s, stage_list)) continue;
      if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
    }
  }
  return out;
}

TEST_F(ExperimentRun, EveryReadmePipelinePlans) {
  const auto pipelines = readme_pipelines();
  ASSERT_GE(pipelines.size(), 4u) << "the READMEs quote pipelines; has the span pattern gone stale?";
  std::string toml = R"([model]
synth = "dim=64,hidden=128,layers=1,heads=2,kv-heads=2,vocab=64,seq=64"
[workload]
prompt_tokens = 4
generate_tokens = 2
)";
  const std::regex ends_in_backend("(.*,)?cpu-[a-z]+(<[^<>]*>)?");
  for (size_t i = 0; i < pipelines.size(); ++i) {
    std::string stages = pipelines[i];
    if (!std::regex_match(stages, ends_in_backend)) stages += ",cpu-tbb<threads=1>";
    toml += "[[pipeline]]\nname = \"p" + std::to_string(i) + "\"\nstages = '" + stages + "'\n";
  }
  fs::path file = write("readme-pipelines.toml", toml);
  Result r = run("run '" + file.string() + "' --dry-run");
  EXPECT_EQ(r.exit_code, 0) << toml << "\n" << r.output;
  EXPECT_NE(r.output.find("plan OK"), std::string::npos) << r.output;
}

TEST_F(ExperimentRun, ReferenceAgainstItselfHasZeroKldAndFullAgreement) {
  fs::path out = dir_ / "out";
  Result r = run("run '" ACCELAB_SOURCE_DIR "/experiments/reference-vs-reference.toml' --out '" + out.string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto results = nlohmann::json::parse(slurp(out / "results.json"));
  ASSERT_EQ(results["rows"].size(), 2u);
  for (const auto& row : results["rows"]) {
    ASSERT_TRUE(row["quality"].is_object()) << row.dump();
    EXPECT_EQ(row["quality"]["kld_mean"].get<double>(), 0.0);
    EXPECT_EQ(row["quality"]["kld_max"].get<double>(), 0.0);
    EXPECT_EQ(row["quality"]["top1_agreement"].get<double>(), 100.0);
    EXPECT_TRUE(row["deterministic"].get<bool>());
    // Perplexity of the same model through the same backend is identical.
    EXPECT_EQ(row["quality"]["perplexity"], results["rows"][0]["quality"]["perplexity"]);
  }
  const auto& speedup = results["rows"][1]["speedup_vs_baseline"]["tg"];
  EXPECT_GT(speedup["median"].get<double>(), 0.5);
  EXPECT_LT(speedup["median"].get<double>(), 2.0);
  EXPECT_NE(r.output.find("100.00"), std::string::npos) << "the table shows top-1 agreement:\n" << r.output;
}

// Each workload point probes its own bandwidth; a row's roofline is the median of the probes it
// lists, and the Markdown notes give that bar per point.
TEST_F(ExperimentRun, RooflineListsTheRoundProbesItsBandwidthIsTheMedianOf) {
  fs::path file = write("probes.toml", R"([model]
synth = "dim=64,hidden=128,layers=1,heads=2,kv-heads=2,vocab=64,seq=64"
[workload]
prompt_tokens = [4, 8]
generate_tokens = 2
[measure]
warmup = 0
repetitions = 2
[[pipeline]]
name = "ref"
stages = "cpu-ref"
[[pipeline]]
name = "tbb"
stages = "cpu-tbb<threads=1>"
)");
  fs::path out = dir_ / "out";
  Result r = run("run '" + file.string() + "' --out '" + out.string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto results = nlohmann::json::parse(slurp(out / "results.json"));
  ASSERT_EQ(results["rows"].size(), 4u);
  std::map<int, std::vector<double>> per_point;  // prompt length -> its rows' probe list
  for (const auto& row : results["rows"]) {
    const auto& roof = row["roofline"];
    ASSERT_TRUE(roof.is_object()) << row.dump();
    const auto each = roof.at("probe_bandwidths_bytes_per_s").get<std::vector<double>>();
    ASSERT_EQ(each.size(), roof.at("probes").get<size_t>()) << roof.dump();
    ASSERT_FALSE(each.empty()) << roof.dump();
    std::vector<double> sorted = each;
    std::sort(sorted.begin(), sorted.end());
    const size_t n = sorted.size();
    EXPECT_DOUBLE_EQ(roof.at("bandwidth_bytes_per_s").get<double>(),
                     n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2)
        << roof.dump();
    const int point = row["workload"]["prompt_tokens"].get<int>();
    if (per_point.count(point)) {
      EXPECT_EQ(per_point[point], each) << "rows of one point share its probes";
    }
    per_point[point] = each;
  }
  EXPECT_EQ(per_point.size(), 2u);
  const std::string md = slurp(out / "results.md");
  EXPECT_NE(md.find("Roofline bandwidth at pp4+tg2 b1: "), std::string::npos) << md;
  EXPECT_NE(md.find("Roofline bandwidth at pp8+tg2 b1: "), std::string::npos) << md;
  std::string why;
  EXPECT_TRUE(schema_valid(out / "results.json", why)) << "results.json does not match reports/results.schema.json";
}

TEST_F(ExperimentRun, FailingPipelinesAreRecordedAndOthersComplete) {
  fs::path file = write("fail.toml", R"(
[model]
synth = "dim=32,hidden=64,layers=2,heads=4,kv-heads=2,vocab=64,seq=64"
[workload]
prompt_tokens = 8
generate_tokens = 4
[measure]
warmup = 1
repetitions = 3
[[pipeline]]
name = "good"
stages = "cpu-ref"
[[pipeline]]
name = "breaks-mid-run"
stages = "fails-in-execute"
[[pipeline]]
name = "good-again"
stages = "hello,cpu-ref"
)");
  fs::path out = dir_ / "out";
  Result r = run("run '" + file.string() + "' --out '" + out.string() +
                 "' --plugin-path '" ACCELAB_EXPERIMENT_FIXTURE_DIR "'");
  EXPECT_EQ(r.exit_code, 6) << r.output;
  EXPECT_NE(r.output.find("injected failure in execute"), std::string::npos) << r.output;
  auto results = nlohmann::json::parse(slurp(out / "results.json"));
  ASSERT_EQ(results["rows"].size(), 3u);
  EXPECT_EQ(results["rows"][0]["status"], "ok");
  EXPECT_EQ(results["rows"][0]["repetitions"], 3);
  EXPECT_EQ(results["rows"][1]["status"], "failed");
  EXPECT_NE(results["rows"][1]["error"].get<std::string>().find("injected failure in execute"), std::string::npos);
  EXPECT_EQ(results["rows"][2]["status"], "ok");
  EXPECT_EQ(results["rows"][2]["repetitions"], 3);
  std::string why;
  EXPECT_TRUE(schema_valid(out / "results.json", why));
  // The failure is in the line log too.
  EXPECT_NE(slurp(out / "results.jsonl").find("\"type\":\"failure\""), std::string::npos);
}

// Two pipelines; the first workload point is quick, the second long enough to be stopped in the
// middle.
constexpr const char* kLongRun = R"(
[model]
synth = "dim=128,hidden=256,layers=4,heads=4,kv-heads=2,vocab=256,seq=512"
[workload]
prompt_tokens = [8, 448]
generate_tokens = 64
[measure]
warmup = 0
repetitions = 200
quality = false
[[pipeline]]
name = "a"
stages = "cpu-ref"
[[pipeline]]
name = "b"
stages = "cpu-ref"
)";

TEST_F(ExperimentRun, KilledRunLeavesValidJsonLinesWithFinishedRows) {
  fs::path file = write("long.toml", kLongRun);
  fs::path out = dir_ / "out";
  // Wait for both rows of the first point, then kill without warning.
  bool saw_row = false;
  run_then_signal(file, out, 2, SIGKILL, saw_row);
  ASSERT_TRUE(saw_row) << "no row was written within 60 s";
  std::istringstream lines(slurp(out / "results.jsonl"));
  std::string line;
  int rows = 0, samples = 0;
  while (std::getline(lines, line)) {
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << "not JSON: " << line;
    if (j["type"] == "row") {
      ++rows;
      EXPECT_EQ(j["row"]["status"], "ok");
      EXPECT_EQ(j["row"]["workload"]["prompt_tokens"], 8);
    }
    if (j["type"] == "sample") ++samples;
  }
  EXPECT_EQ(rows, 2);
  EXPECT_GE(samples, 400);
  EXPECT_FALSE(fs::exists(out / "results.json")) << "killed before the end, so no final record";
}

TEST_F(ExperimentRun, InterruptedRunWritesFinishedRowsAndExits130) {
  fs::path file = write("interrupt.toml", kLongRun);
  fs::path out = dir_ / "out";
  bool saw_row = false;
  int status = run_then_signal(file, out, 2, SIGINT, saw_row);
  ASSERT_TRUE(saw_row);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  auto results = nlohmann::json::parse(slurp(out / "results.json"));
  EXPECT_FALSE(results["complete"].get<bool>());
  ASSERT_GE(results["rows"].size(), 1u);
  EXPECT_EQ(results["rows"][0]["status"], "ok");
  EXPECT_NE(slurp(out / "results.jsonl").find("\"type\":\"end\""), std::string::npos);
}

TEST_F(ExperimentRun, InterruptDuringCalibrationStopsItAndExits130) {
  // A billion random calibration tokens would take hours (and, held at once, 4 GB): the interrupt
  // must stop the calibration itself, not wait for it to end.
  fs::path file = write("calibrate.toml", R"(
[model]
synth = "dim=64,hidden=128,layers=2,heads=4,kv-heads=2,vocab=256,seq=64"
[workload]
prompt_tokens = 8
generate_tokens = 8
[measure]
quality = false
[[pipeline]]
name = "f32"
stages = "cpu-tbb"
[[pipeline]]
name = "calibrated"
stages = 'quant-int4-calibrated<calibration-tokens=1000000000>,cpu-tbb'
[[pipeline]]
name = "after"
stages = "cpu-tbb"
)");
  fs::path out = dir_ / "out";
  bool calibrating = false;
  const auto started = std::chrono::steady_clock::now();
  int status = run_then_signal_when(
      file, out, [&] { return slurp(out / "stderr.log").find("calibration: the float model over") != std::string::npos; },
      SIGINT, calibrating);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_TRUE(calibrating) << "calibration did not start within 60 s:\n" << slurp(out / "stderr.log");
  ASSERT_TRUE(WIFEXITED(status)) << "killed by a signal: the interrupt was not handled";
  EXPECT_EQ(WEXITSTATUS(status), 130) << slurp(out / "stderr.log");
  EXPECT_LT(seconds, 90.0);
  auto results = nlohmann::json::parse(slurp(out / "results.json"));
  EXPECT_FALSE(results["complete"].get<bool>());
  const auto& pipelines = results["pipelines"];
  ASSERT_EQ(pipelines.size(), 3u);
  EXPECT_EQ(pipelines[0]["status"], "ok");
  EXPECT_NE(pipelines[1]["error"].get<std::string>().find("calibration interrupted after"), std::string::npos)
      << pipelines[1]["error"];
  EXPECT_EQ(pipelines[2]["error"], "not prepared: the run was interrupted");
}

}  // namespace
