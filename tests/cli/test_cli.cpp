// End-to-end tests of the accelab executable. Each test runs bin/accelab as a child process
// under `timeout` (so a hang fails the test instead of stalling it) and checks the exit code,
// the output, and that every error is exactly one "accelab: error: ..." line on stderr.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using Args = std::vector<std::string>;

constexpr int kTimeoutExit = 124;  // what timeout(1) returns when it had to stop the command

std::string data_dir() {
  const char* d = std::getenv("ACCELAB_DATA");
  return fs::absolute(d && *d ? d : std::string(ACCELAB_SOURCE_DIR) + "/../shared")
      .lexically_normal()
      .string();
}

// Declares `var` as the path of a shared data file, or skips the test when the file is missing.
#define REQUIRE_DATA_FILE(var, relative)                                \
  const std::string var = data_dir() + "/" + (relative);                \
  if (!fs::is_regular_file(var)) {                                      \
    GTEST_SKIP() << "missing data file " << var                         \
                 << " (set ACCELAB_DATA to the shared data directory)"; \
  }

/// `s` as one single-quoted shell word.
std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct RunResult {
  std::string command;
  int exit_code = -1;  ///< -1 when the shell did not exit normally
  std::string out;     ///< stdout
  std::string err;     ///< stderr

  /// Everything a failed expectation should show.
  [[nodiscard]] std::string describe() const {
    return "command: " + command + "\nexit code: " + std::to_string(exit_code) + "\nstdout:\n" +
           out.substr(0, 4000) + "\nstderr:\n" + err.substr(0, 4000);
  }
};

/// Lines of `s` (a final line without '\n' counts too).
size_t line_count(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')) +
         (!s.empty() && s.back() != '\n' ? 1 : 0);
}

/// Expects a failure that printed exactly one "accelab: error: " line on stderr containing each
/// of `needles`, and nothing that looks like a crash. Reports every problem in one failure.
void expect_one_line_error(const RunResult& r, const std::vector<std::string>& needles) {
  std::vector<std::string> problems;
  if (r.exit_code == 0) problems.emplace_back("exit code 0 instead of an error");
  if (r.exit_code == kTimeoutExit) problems.emplace_back("timed out (hang?)");
  if (r.exit_code < 0 || r.exit_code >= 128) problems.emplace_back("killed or crashed");
  if (line_count(r.err) != 1)
    problems.push_back(std::to_string(line_count(r.err)) + " lines on stderr instead of 1");
  if (r.err.rfind("accelab: error: ", 0) != 0)
    problems.emplace_back("stderr does not start with 'accelab: error: '");
  for (const char* crash :
       {"internal error", "terminate", "Segmentation", "Aborted", "core dumped"})
    if (r.err.find(crash) != std::string::npos)
      problems.push_back(std::string("stderr mentions '") + crash + "'");
  for (const auto& needle : needles)
    if (r.err.find(needle) == std::string::npos)
      problems.push_back("'" + needle + "' not in stderr");
  if (!problems.empty()) {
    std::string list;
    for (const auto& p : problems) list += "  - " + p + "\n";
    ADD_FAILURE() << "expected a one-line error:\n" << list << r.describe();
  }
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "_" + info->name();
    std::replace(name.begin(), name.end(), '/', '_');
    dir_ =
        fs::temp_directory_path() / ("accelab_test_cli_" + std::to_string(::getpid()) + "_" + name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  /// Runs bin/accelab with `args` (no shell interpretation), ACCELAB_DATA set to the data
  /// directory, no ACCELAB_PLUGIN_PATH (plugins come from the default directory), and at most
  /// `timeout_s` seconds (60 by default) before timeout(1) stops it.
  RunResult run(const Args& args, int timeout_s = 60) {
    const fs::path out = dir_ / "stdout.txt", err = dir_ / "stderr.txt";
    RunResult r;
    // Built with += only: GCC 12 gives a false -Wrestrict on "literal" + std::string&&.
    r.command = "env -u ACCELAB_PLUGIN_PATH ACCELAB_DATA=";
    r.command += quote(data_dir());
    r.command += " timeout -k 5 ";
    r.command += std::to_string(timeout_s);
    r.command += ' ';
    r.command += quote(ACCELAB_EXE);
    for (const auto& a : args) {
      r.command += ' ';
      r.command += quote(a);
    }
    std::string full = r.command;
    full += " </dev/null >";
    full += quote(out.string());
    full += " 2>";
    full += quote(err.string());
    const int status = std::system(full.c_str());
    if (status != -1 && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    r.out = read_file(out);
    r.err = read_file(err);
    fs::remove(out);
    fs::remove(err);
    return r;
  }

  /// Writes `bytes` to `name` in the test directory; returns the path.
  std::string write(const std::string& name, const std::string& bytes) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  /// The commands `accelab --help` lists (lines "  NAME  summary" after "commands:").
  std::vector<std::string> listed_commands() {
    const RunResult r = run({"--help"});
    std::vector<std::string> names;
    std::istringstream in(r.out.substr(std::min(r.out.size(), r.out.find("commands:"))));
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line))
      if (line.rfind("  ", 0) == 0 && line.size() > 2 && line[2] != ' ')
        names.push_back(line.substr(2, line.find(' ', 2) - 2));
    return names;
  }

  /// Files in the test directory.
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_))
      names.push_back(entry.path().filename().string());
    return names;
  }

  fs::path dir_;
};

/// Commands that must exist; --help may list more.
const std::vector<std::string> kCommands = {"generate", "perplexity", "inspect", "plugins",
                                            "synth"};

// ---------------------------------------------------------------------------------------------
// Usage

TEST_F(CliTest, EveryCommandHasHelp) {
  for (const auto& command : listed_commands()) {
    for (const char* flag : {"--help", "-h"}) {
      SCOPED_TRACE(command + " " + flag);
      const RunResult r = run({command, flag});
      EXPECT_EQ(r.exit_code, 0) << r.describe();
      EXPECT_EQ(r.out.rfind("usage: accelab " + command, 0), 0U) << r.describe();
      EXPECT_EQ(r.err, "") << r.describe();
    }
  }
}

TEST_F(CliTest, TopLevelHelpListsCommands) {
  const RunResult r = run({"--help"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out.rfind("usage: accelab COMMAND", 0), 0U) << r.describe();
  const auto listed = listed_commands();
  for (const auto& command : kCommands)
    EXPECT_NE(std::find(listed.begin(), listed.end(), command), listed.end())
        << command << " not in\n"
        << r.out;
}

TEST_F(CliTest, NoArgumentsPrintsUsageAndFails) {
  const RunResult r = run({});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(r.out.rfind("usage: accelab COMMAND", 0), 0U) << r.describe();
}

TEST_F(CliTest, Version) {
  const RunResult r = run({"--version"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out.rfind("accelab ", 0), 0U) << r.describe();
  EXPECT_NE(r.out.find("plugin ABI"), std::string::npos) << r.describe();
}

TEST_F(CliTest, UnknownCommandSuggestsTheClosest) {
  RunResult r = run({"generat"});
  expect_one_line_error(r, {"unknown command 'generat' (did you mean 'generate'?)"});
  EXPECT_EQ(r.exit_code, 2);
  r = run({"inspekt", "x.bin"});
  expect_one_line_error(r, {"(did you mean 'inspect'?)"});
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(CliTest, UnknownFlagIsAOneLineUsageError) {
  for (const auto& command : listed_commands()) {
    SCOPED_TRACE(command);
    const RunResult r = run({command, "--no-such-flag"});
    expect_one_line_error(r, {"no-such-flag", "accelab " + command + " --help"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.out, "") << r.describe();
  }
}

TEST_F(CliTest, MissingRequiredOptionIsAOneLineUsageError) {
  RunResult r = run({"generate"});
  expect_one_line_error(r, {"model"});
  EXPECT_EQ(r.exit_code, 2);
  r = run({"inspect"});
  expect_one_line_error(r, {"model"});
  EXPECT_EQ(r.exit_code, 2);
  r = run({"synth", "--shape", "stories15M"});
  expect_one_line_error(r, {"output"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(listing().empty());
}

TEST_F(CliTest, BadOptionValuesAreOneLineUsageErrors) {
  REQUIRE_DATA_FILE(model, "models/stories260K.bin");
  REQUIRE_DATA_FILE(tok, "models/tok512.bin");
  const Args base = {"generate", "--model", model, "--tokenizer", tok};
  // Each message names the option and the accepted range.
  const std::vector<std::pair<Args, std::vector<std::string>>> cases = {
      {{"--steps", "abc"}, {"--steps", "abc"}},
      {{"--temperature=-1"}, {"--temperature", ">= 0"}},
      {{"--top-p", "1.5"}, {"--top-p", "[0, 1]"}},
      {{"--steps=-3"}, {"--steps", ">= 0"}},
  };
  for (const auto& [extra, needles] : cases) {
    SCOPED_TRACE(extra.front());
    Args args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    const RunResult r = run(args);
    expect_one_line_error(r, needles);
    EXPECT_EQ(r.exit_code, 2);
  }
}

TEST_F(CliTest, NonFiniteSamplingParametersAreUsageErrors) {
  // NaN passes "< 0" and "> 1" range checks; sampling with it gives nonsense.
  REQUIRE_DATA_FILE(model, "models/stories260K.bin");
  REQUIRE_DATA_FILE(tok, "models/tok512.bin");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--temperature=nan", "--temperature"},
      {"--temperature=inf", "--temperature"},
      {"--top-p=nan", "--top-p"}};
  for (const auto& [flag, needle] : cases) {
    SCOPED_TRACE(flag);
    const RunResult r =
        run({"generate", "--model", model, "--tokenizer", tok, "--steps", "8", flag});
    expect_one_line_error(r, {needle});
    EXPECT_EQ(r.exit_code, 2);
  }
}

// ---------------------------------------------------------------------------------------------
// Malformed model files: one line on stderr naming the file and the problem, for every command
// that loads a model.

using Header = std::array<int32_t, 7>;  // dim, hidden, layers, heads, kv_heads, vocab, seq
constexpr Header kTiny = {16, 32, 2, 4, 2, 40, 8};
constexpr int32_t kInt32Min = std::numeric_limits<int32_t>::min();
constexpr int32_t kInt32Max = std::numeric_limits<int32_t>::max();

/// Bytes of a correct llama2.c file for kTiny (all weights zero).
constexpr size_t kTinyBytes =
    28 + 4 * (40 * 16 + 2 * (16 + 2 * 16 * 16 + 2 * 8 * 16 + 16 + 3 * 32 * 16) + 16 + 8 * 4);

/// A header followed by zeros up to `size` bytes (or the header cut to `size`).
std::string model_bytes(const Header& h, size_t size) {
  std::string bytes(std::max<size_t>(size, 28), '\0');
  std::memcpy(bytes.data(), h.data(), 28);
  bytes.resize(size);
  return bytes;
}

/// kTiny with field `i` set to `v`, at the size of a correct kTiny file.
std::string tiny_with(size_t i, int32_t v) {
  Header h = kTiny;
  h[i] = v;
  return model_bytes(h, kTinyBytes);
}

struct BadModel {
  const char* name;
  std::string (*bytes)();
  const char* problem;  ///< a piece of the expected message, besides the path
};

const BadModel kBadModels[] = {
    {"EmptyFile", [] { return std::string(); }, "too short"},
    {"TruncatedHeader", [] { return model_bytes(kTiny, 27); }, "too short"},
    {"TruncatedBody", [] { return model_bytes(kTiny, kTinyBytes - 4); }, "(truncated?)"},
    {"HeaderOnly", [] { return model_bytes(kTiny, 28); }, "(truncated?)"},
    {"TrailingBytes", [] { return model_bytes(kTiny, kTinyBytes + 1); }, "(trailing data?)"},
    {"ZeroDim", [] { return tiny_with(0, 0); }, "dim = 0 must be positive"},
    {"NegativeHidden", [] { return tiny_with(1, -32); }, "hidden_dim = -32 must be positive"},
    {"HugeLayers", [] { return tiny_with(2, kInt32Max); },
     "n_layers = 2147483647 exceeds the limit"},
    {"ZeroHeads", [] { return tiny_with(3, 0); }, "n_heads = 0 must be positive"},
    {"NegativeKvHeads", [] { return tiny_with(4, kInt32Min); },
     "n_kv_heads = -2147483648 must be positive"},
    {"HugeVocab", [] { return tiny_with(5, kInt32Max); },
     "vocab_size = 2147483647 exceeds the limit"},
    {"HugeNegativeVocab", [] { return tiny_with(5, -kInt32Max); },
     "vocab_size = 2147483647 exceeds the limit"},
    {"VocabInt32Min", [] { return tiny_with(5, kInt32Min); }, "vocab_size"},
    {"ZeroSeq", [] { return tiny_with(6, 0); }, "seq_len = 0 must be positive"},
    {"HugeSeq", [] { return tiny_with(6, kInt32Max); }, "seq_len = 2147483647 exceeds the limit"},
    {"HeadsNotDividingDim", [] { return tiny_with(3, 3); }, "n_heads = 3 does not divide dim = 16"},
    {"KvHeadsNotDividingHeads", [] { return tiny_with(4, 3); },
     "n_kv_heads = 3 does not divide n_heads = 4"},
    {"OddHeadSize", [] { return tiny_with(0, 12); }, "is odd"},
    // The largest values the loader accepts: sizes must be computed without overflow.
    {"MaximalHeader",
     [] {
       return model_bytes({1 << 16, 1 << 18, 1 << 10, 2, 1, 1 << 22, 1 << 20}, 1000);
     },
     "(truncated?)"},
    {"Gguf", [] { return std::string("GGUF\x03\0\0\0", 8) + std::string(100, '\0'); }, "metadata 'general.architecture' is missing"},
};

class CliBadModelTest : public CliTest, public ::testing::WithParamInterface<BadModel> {
 protected:
  /// Runs `args` with "BAD" replaced by the path of the malformed file; expects a one-line
  /// FileError (exit code 3) naming the file and the problem, and nothing on stdout.
  void expect_rejected(Args args) {
    const BadModel& bad = GetParam();
    const std::string path = write(std::string(bad.name) + ".bin", bad.bytes());
    std::replace(args.begin(), args.end(), std::string("BAD"), path);
    const RunResult r = run(args);
    expect_one_line_error(r, {path, bad.problem});
    EXPECT_EQ(r.exit_code, 3) << r.describe();
    EXPECT_EQ(r.out, "") << r.describe();
  }
};

TEST_P(CliBadModelTest, Generate) {
  REQUIRE_DATA_FILE(tok, "models/tok512.bin");
  expect_rejected({"generate", "--model", "BAD", "--tokenizer", tok, "--steps", "4"});
}

TEST_P(CliBadModelTest, GenerateWithoutTokenizer) {
  expect_rejected({"generate", "--model", "BAD"});
}

TEST_P(CliBadModelTest, Inspect) {
  expect_rejected({"inspect", "BAD"});
}

TEST_P(CliBadModelTest, InspectJson) {
  expect_rejected({"inspect", "BAD", "--json"});
}

TEST_P(CliBadModelTest, Perplexity) {
  REQUIRE_DATA_FILE(tok, "models/tok512.bin");
  REQUIRE_DATA_FILE(text, "data/tinystories_valid_first1000.txt");
  expect_rejected(
      {"perplexity", "--model", "BAD", "--tokenizer", tok, "--text", text, "--stories", "1"});
}

INSTANTIATE_TEST_SUITE_P(Kinds, CliBadModelTest, ::testing::ValuesIn(kBadModels),
                         [](const ::testing::TestParamInfo<BadModel>& info) {
                           return std::string(info.param.name);
                         });

TEST_F(CliTest, MissingModelFile) {
  const std::string path = (dir_ / "no_such_model.bin").string();
  RunResult r = run({"inspect", path});
  expect_one_line_error(r, {path});
  EXPECT_EQ(r.exit_code, 3);
  r = run({"generate", "--model", path});
  expect_one_line_error(r, {path});
  EXPECT_EQ(r.exit_code, 3);
}

TEST_F(CliTest, FifoAsModelIsRejectedWithoutBlocking) {
  // Nothing ever writes to the FIFO: opening it for reading blocks unless the loader checks
  // the file type first (as the tokenizer loader does). A prompt answer takes milliseconds.
  const std::string path = (dir_ / "model.fifo").string();
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  RunResult r = run({"inspect", path}, 3);
  expect_one_line_error(r, {path});
  r = run({"generate", "--model", path}, 3);
  expect_one_line_error(r, {path});
}

TEST_F(CliTest, DirectoryAsModel) {
  const RunResult r = run({"inspect", dir_.string()});
  expect_one_line_error(r, {dir_.string()});
  EXPECT_EQ(r.exit_code, 3);
}

// ---------------------------------------------------------------------------------------------
// Tokenizer files

TEST_F(CliTest, MissingTokenizerFile) {
  REQUIRE_DATA_FILE(model, "models/stories260K.bin");
  const std::string tok = (dir_ / "no_such_tokenizer.bin").string();
  const RunResult r = run({"generate", "--model", model, "--tokenizer", tok, "--steps", "4"});
  expect_one_line_error(r, {tok});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "") << r.describe();
}

TEST_F(CliTest, TruncatedTokenizerFile) {
  REQUIRE_DATA_FILE(model, "models/stories260K.bin");
  REQUIRE_DATA_FILE(tok512, "models/tok512.bin");
  const std::string tok = write("tok_truncated.bin", read_file(tok512).substr(0, 1000));
  const RunResult r = run({"generate", "--model", model, "--tokenizer", tok, "--steps", "4"});
  expect_one_line_error(r, {tok, "truncated"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "") << r.describe();
}

TEST_F(CliTest, TokenizerOfAnotherVocabulary) {
  REQUIRE_DATA_FILE(model, "models/stories260K.bin");
  REQUIRE_DATA_FILE(tok, "models/tokenizer.bin");  // 32000 tokens for a 512-token model
  const RunResult r = run({"generate", "--model", model, "--tokenizer", tok, "--steps", "4"});
  expect_one_line_error(r, {tok});
  EXPECT_EQ(r.exit_code, 3);
}

TEST_F(CliTest, DirectoryAsEvaluationText) {
  REQUIRE_DATA_FILE(model, "models/stories260K.bin");
  REQUIRE_DATA_FILE(tok, "models/tok512.bin");
  const RunResult r =
      run({"perplexity", "--model", model, "--tokenizer", tok, "--text", dir_.string()});
  expect_one_line_error(r, {dir_.string(), "directory"});
  EXPECT_EQ(r.exit_code, 3);
}

TEST_F(CliTest, TokenizerRequiredUnlessVocabIs32000) {
  REQUIRE_DATA_FILE(model, "models/stories260K.bin");
  const RunResult r = run({"generate", "--model", model, "--steps", "4"});
  expect_one_line_error(r, {model, "--tokenizer is required", "512"});
  EXPECT_EQ(r.exit_code, 2);
}

// ---------------------------------------------------------------------------------------------
// Pipelines

TEST_F(CliTest, UnknownStrategySuggestsTheClosest) {
  REQUIRE_DATA_FILE(model, "models/stories260K.bin");
  REQUIRE_DATA_FILE(tok, "models/tok512.bin");
  const RunResult r =
      run({"generate", "--model", model, "--tokenizer", tok, "--pipeline", "cpu-reff"});
  expect_one_line_error(r, {"unknown strategy 'cpu-reff'", "did you mean 'cpu-ref'"});
  EXPECT_EQ(r.exit_code, 5);
}

TEST_F(CliTest, PipelineSyntaxErrorNamesTheColumn) {
  REQUIRE_DATA_FILE(model, "models/stories260K.bin");
  REQUIRE_DATA_FILE(tok, "models/tok512.bin");
  const RunResult r =
      run({"generate", "--model", model, "--tokenizer", tok, "--pipeline", "cpu-ref<"});
  expect_one_line_error(r, {"pipeline 'cpu-ref<'", "column"});
  EXPECT_EQ(r.exit_code, 5);
}

TEST_F(CliTest, PipelineIsCheckedBeforeTheModelIsLoaded) {
  // A typo in the pipeline is reported even when the model is also wrong: it is cheap to check.
  const std::string path = (dir_ / "no_such_model.bin").string();
  const RunResult r = run({"generate", "--model", path, "--pipeline", "cpu-reff"});
  expect_one_line_error(r, {"did you mean 'cpu-ref'"});
}

// ---------------------------------------------------------------------------------------------
// synth

TEST_F(CliTest, SynthUnknownShapeSuggestsTheClosest) {
  const std::string out = (dir_ / "x.bin").string();
  const RunResult r = run({"synth", "--shape", "stories15Mx", "-o", out});
  expect_one_line_error(r, {"unknown shape 'stories15Mx'", "did you mean 'stories15M'"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(listing().empty()) << "synth left a file behind";
}

TEST_F(CliTest, SynthInvalidCustomShape) {
  const std::string out = (dir_ / "x.bin").string();
  const RunResult r =
      run({"synth", "--shape", "dim=16,hidden=32,layers=2,heads=3,vocab=40,seq=8", "-o", out});
  expect_one_line_error(r, {"n_heads = 3 does not divide dim = 16"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(listing().empty()) << "synth left a file behind";
}

TEST_F(CliTest, SynthThenGenerateWithTheDefaultTokenizer) {
  REQUIRE_DATA_FILE(tokenizer, "models/tokenizer.bin");
  const std::string model = (dir_ / "synth.bin").string();
  RunResult r =
      run({"synth", "--shape", "dim=16,hidden=32,layers=2,heads=4,kv-heads=2,vocab=32000,seq=16",
           "--seed", "5", "-o", model});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  ASSERT_TRUE(fs::is_regular_file(model)) << r.describe();
  EXPECT_FALSE(fs::exists(model + ".partial"));

  r = run({"generate", "--model", model, "--steps", "8", "--temperature", "0", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto j = nlohmann::json::parse(r.out);
  const auto tokens = j.at("tokens").get<std::vector<int32_t>>();
  ASSERT_EQ(tokens.size(), 9U) << r.describe();
  EXPECT_EQ(tokens[0], 1);
  for (int32_t t : tokens) {
    EXPECT_GE(t, 0);
    EXPECT_LT(t, 32000);
  }
  EXPECT_TRUE(j.at("text").is_string());
}

// ---------------------------------------------------------------------------------------------
// inspect, generate and perplexity on the real model

TEST_F(CliTest, InspectJsonDescribesStories260K) {
  REQUIRE_DATA_FILE(model, "models/stories260K.bin");
  const RunResult r = run({"inspect", model, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.err, "");
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("path"), model);
  EXPECT_EQ(j.at("format"), "llama2.c");
  const auto& c = j.at("config");
  EXPECT_EQ(c.at("dim"), 64);
  EXPECT_EQ(c.at("hidden_dim"), 172);
  EXPECT_EQ(c.at("n_layers"), 5);
  EXPECT_EQ(c.at("n_heads"), 8);
  EXPECT_EQ(c.at("n_kv_heads"), 4);
  EXPECT_EQ(c.at("head_size"), 8);
  EXPECT_EQ(c.at("vocab_size"), 512);
  EXPECT_EQ(c.at("seq_len"), 512);
  EXPECT_EQ(c.at("shared_classifier"), true);
  EXPECT_EQ(j.at("parameters"), 260032);
  EXPECT_EQ(j.at("weight_bytes"), 1040128);
  EXPECT_EQ(j.at("tensors").size(), 47U);
}

TEST_F(CliTest, InspectText) {
  REQUIRE_DATA_FILE(model, "models/stories260K.bin");
  const RunResult r = run({"inspect", model});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("dim 64  hidden 172  layers 5  heads 8  kv-heads 4"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("parameters 260032"), std::string::npos) << r.out;
}

/// The cases of golden/stories260K-greedy.jsonl.
std::vector<nlohmann::json> golden_cases(const std::string& path) {
  std::vector<nlohmann::json> cases;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) cases.push_back(nlohmann::json::parse(line));
  return cases;
}

TEST_F(CliTest, GreedyGenerationMatchesGolden) {
  REQUIRE_DATA_FILE(golden, "golden/stories260K-greedy.jsonl");
  const auto cases = golden_cases(golden);
  ASSERT_EQ(cases.size(), 4U);
  for (const auto& g : cases) {
    const auto prompt = g.at("prompt").get<std::string>();
    SCOPED_TRACE("prompt '" + prompt + "'");
    REQUIRE_DATA_FILE(model, g.at("model").get<std::string>());
    REQUIRE_DATA_FILE(tok, g.at("tokenizer").get<std::string>());
    ASSERT_EQ(g.at("temperature").get<double>(), 0.0);
    const RunResult r =
        run({"generate", "--model", model, "--tokenizer", tok, "--temperature", "0", "--steps",
             std::to_string(g.at("steps").get<int>()), "--prompt", prompt, "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.at("tokens"), g.at("tokens"));
    EXPECT_EQ(j.at("text"), g.at("text"));
  }
}

TEST_F(CliTest, StreamedGenerationMatchesGolden) {
  REQUIRE_DATA_FILE(golden, "golden/stories260K-greedy.jsonl");
  const auto g = golden_cases(golden).at(1);
  REQUIRE_DATA_FILE(model, g.at("model").get<std::string>());
  REQUIRE_DATA_FILE(tok, g.at("tokenizer").get<std::string>());
  const RunResult r = run({"generate", "--model", model, "--tokenizer", tok, "--temperature", "0",
                           "--steps", std::to_string(g.at("steps").get<int>()), "--prompt",
                           g.at("prompt").get<std::string>()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out, g.at("text").get<std::string>() + "\n");
  // The timing summary goes to stderr, on one line.
  EXPECT_EQ(line_count(r.err), 1U) << r.describe();
  EXPECT_EQ(r.err.rfind("accelab: ", 0), 0U) << r.describe();
  EXPECT_NE(r.err.find("tok/s"), std::string::npos) << r.describe();
}

TEST_F(CliTest, BackendProfileSaysWhereTheDecodeProductsSpentTheirTime) {
  REQUIRE_DATA_FILE(model, "models/stories260K.bin");
  REQUIRE_DATA_FILE(tok, "models/tok512.bin");
  // "Once upon" is 3 tokens with BOS: one prefill, then 9 decode steps to reach 12 positions.
  // Of stories260K's products only the logits (512 x 64) are large enough to split over the
  // threads, one per call that wants logits for one row: the prefill's last row and each step.
  const RunResult r = run({"generate", "--model", model, "--tokenizer", tok, "--temperature", "0",
                           "--steps", "12", "--prompt", "Once upon", "--json", "--pipeline",
                           "cpu-tbb<threads=2,profile=true>"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.err.find("cpu-tbb profile: 10 execute calls"), std::string::npos) << r.describe();
  EXPECT_NE(r.err.find("\n  decode products: 10 on 2 threads, 0.13 MB of weights and "), std::string::npos)
      << r.describe();
  EXPECT_NE(r.err.find("\n    thread 0: starts "), std::string::npos) << r.describe();
  EXPECT_NE(r.err.find("\n    thread 1: "), std::string::npos) << r.describe();
}

TEST_F(CliTest, PerplexityOfFirst100StoriesMatchesReference) {
  REQUIRE_DATA_FILE(model, "models/stories260K.bin");
  REQUIRE_DATA_FILE(tok, "models/tok512.bin");
  REQUIRE_DATA_FILE(text, "data/tinystories_valid_first1000.txt");
  const RunResult r =
      run({"perplexity", "--model", model, "--tokenizer", tok, "--stories", "100", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("stories"), 100);
  EXPECT_EQ(j.at("tokens"), 32997);
  EXPECT_NEAR(j.at("mean_nll").get<double>(), 1.275193, 1e-4);
  EXPECT_NEAR(j.at("perplexity").get<double>(), 3.579390, 4e-4);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// compare, report, run --filter/--html

namespace {

// A record with a baseline and one strategy whose tg/pp speed-up samples are `factor` × 3.
std::string compare_record(double factor) {
  using nlohmann::json;
  auto stat = [](std::vector<double> v) {
    std::vector<double> s = v;
    std::sort(s.begin(), s.end());
    return json{{"samples", v}, {"median", s[s.size() / 2]}};
  };
  std::vector<double> speedup{3.0, 3.04, 2.97, 3.02, 3.01};
  for (double& x : speedup) x *= factor;
  auto row = [&](const std::string& name, bool baseline) {
    json r = {{"name", name}, {"written", name}, {"model", "m"}, {"baseline", baseline}, {"status", "ok"},
              {"workload", {{"prompt_tokens", 16}, {"generate_tokens", 8}, {"batch", 1}}},
              {"metrics", {{"tg_tokens_per_s", stat({10, 10.1, 9.9, 10.2, 10})}}}};
    if (!baseline) r["speedup_vs_baseline"] = {{"tg", stat(speedup)}, {"pp", stat(speedup)}};
    return r;
  };
  return json{{"rows", {row("cpu-ref", true), row("cpu-tbb", false)}}}.dump();
}

}  // namespace

TEST_F(CliTest, CompareExitCodesSayWhetherNewRegressed) {
  const std::string base = write("base.json", compare_record(1.0));
  const std::string same = write("same.json", compare_record(1.0));
  const std::string slow = write("slow.json", compare_record(0.8));
  RunResult r = run({"compare", base, same});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("no significant regression"), std::string::npos) << r.describe();
  r = run({"compare", base, slow, "--markdown", (dir_ / "c.md").string()});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE(r.out.find("REGRESSION in 1 of 2 rows"), std::string::npos) << r.describe();
  EXPECT_NE(r.out.find("tg_speedup"), std::string::npos) << r.describe();
  EXPECT_NE(read_file(dir_ / "c.md").find("**REGRESSION**"), std::string::npos);
  r = run({"compare", base, slow, "--threshold", "25%"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  // A looser threshold for the one row that regressed, on both its speed-ups: it passes, and the
  // table says which threshold judged it.
  r = run({"compare", base, slow, "--threshold", "cpu-tbb:tg_speedup=25%", "--threshold", "cpu-tbb:pp_speedup=25%"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("[threshold 25%]"), std::string::npos) << r.describe();
  r = run({"compare", base, slow, "--threshold", "cpu-tbb:tg_speedup=25%"});
  EXPECT_EQ(r.exit_code, 1) << "pp_speedup still gates at 5%: " << r.describe();
  r = run({"compare", base, slow, "--threshold", "cpu-tbbb:tg_speedup=25%", "--threshold", "cpu-tbbb:pp_speedup=25%"});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE(r.out.find("--threshold for row 'cpu-tbbb': no compared row has that name"), std::string::npos) << r.describe();
  r = run({"compare", base, slow, "--format", "json"});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_EQ(nlohmann::json::parse(r.out)["regression"], true);
  // A directory stands for the results.json in it.
  fs::create_directories(dir_ / "run");
  fs::copy_file(slow, dir_ / "run" / "results.json");
  EXPECT_EQ(run({"compare", base, (dir_ / "run").string()}).exit_code, 1);
}

TEST_F(CliTest, CompareConfirmGatesOnlyOnRegressionsEveryRunReproduces) {
  const std::string base = write("base.json", compare_record(1.0));
  const std::string slow = write("slow.json", compare_record(0.8));
  const std::string slow_again = write("slow2.json", compare_record(0.79));
  const std::string same = write("same.json", compare_record(1.0));
  RunResult r = run({"compare", base, slow, "--confirm", slow_again});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE(r.out.find("REGRESSION in 1 of 2 rows"), std::string::npos) << r.describe();
  r = run({"compare", base, slow, "--confirm", slow_again, "--confirm", same});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("not reproduced"), std::string::npos) << r.describe();
  EXPECT_NE(r.out.find("same.json"), std::string::npos) << "the note names the run that did not reproduce it: " << r.describe();
  r = run({"compare", base, slow, "--confirm", (dir_ / "missing").string()});
  expect_one_line_error(r, {"--confirm '", "missing", "no such results file"});
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(CliTest, CompareUnusableInputIsExitCodeTwo) {
  const std::string base = write("base.json", compare_record(1.0));
  const std::string junk = write("junk.json", "{\"rows\": [");
  RunResult r = run({"compare", base, junk});
  expect_one_line_error(r, {"NEW '", "junk.json", "not JSON"});
  EXPECT_EQ(r.exit_code, 2);
  r = run({"compare", (dir_ / "missing.json").string(), base});
  expect_one_line_error(r, {"BASE '", "no such results file"});
  EXPECT_EQ(r.exit_code, 2);
  r = run({"compare", base, write("other.json", "{\"rows\": []}")});
  expect_one_line_error(r, {"no row in common"});
  EXPECT_EQ(r.exit_code, 2);
  r = run({"compare", base, base, "--threshold", "tgg=5%"});
  expect_one_line_error(r, {"unknown metric 'tgg'"});
  EXPECT_EQ(r.exit_code, 2);
  r = run({"compare", base, base, "--threshold", "cpu-tbb:tgg=5%"});
  expect_one_line_error(r, {"unknown metric 'tgg'"});
  r = run({"compare", base, base, "--threshold", "cpu-tbb=35%"});
  expect_one_line_error(r, {"unknown metric 'cpu-tbb'", "ROW:METRIC=VALUE"});
  r = run({"compare", base, base, "--threshold", ":tg=5%"});
  expect_one_line_error(r, {"--threshold ':tg=5%'", "row name before ':'"});
  EXPECT_EQ(r.exit_code, 2);
  r = run({"compare", base, base, "--metric", "speed"});
  expect_one_line_error(r, {"--metric 'speed'"});
}

TEST_F(CliTest, ReportWritesTheHtmlOfARecord) {
  const std::string record = write("results.json", compare_record(1.0));
  const std::string html = (dir_ / "r.html").string();
  RunResult r = run({"report", record, "--html", html});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  const std::string page = read_file(html);
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(page.find("<figure class=\"chart\" id=\"speedup-0\" data-marks=\"2\">"), std::string::npos);
  r = run({"report", write("bad.json", "[1, 2]")});
  expect_one_line_error(r, {"bad.json", "not an accelab results record"});
}

TEST_F(CliTest, RunFilterKeepsTheBaselineAndHtmlIsWritten) {
  const std::string exp = write("exp.toml",
                                "[model]\nsynth = \"dim=32,hidden=64,layers=2,heads=4,kv-heads=2,vocab=64,seq=64\"\n"
                                "[workload]\nprompt_tokens = 8\ngenerate_tokens = 2\n[measure]\nwarmup = 0\nrepetitions = 2\n"
                                "[[pipeline]]\nname = \"ref\"\nstages = \"cpu-ref\"\n"
                                "[[pipeline]]\nname = \"tbb\"\nstages = \"cpu-tbb\"\nsweep = { \"cpu-tbb.threads\" = [1, 2] }\n");
  const std::string out = (dir_ / "out").string();
  RunResult r = run({"run", exp, "--out", out, "--filter", "threads=2>", "--html", "--no-color"}, 120);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const nlohmann::json results = nlohmann::json::parse(read_file(dir_ / "out" / "results.json"));
  std::vector<std::string> names;
  for (const auto& row : results["rows"]) names.push_back(row["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"ref", "cpu-tbb<threads=2>"}));
  EXPECT_EQ(results["pipelines"][1]["sweep"]["of"], "tbb");
  EXPECT_EQ(results["pipelines"][1]["sweep"]["point"]["cpu-tbb.threads"], "2");
  EXPECT_NE(read_file(dir_ / "out" / "results.html").find("id=\"sweep-0\""), std::string::npos);
  r = run({"run", exp, "--out", out, "--filter", "nomatch"});
  expect_one_line_error(r, {"--filter 'nomatch' matches no pipeline", "cpu-tbb<threads=1>"});
}

// ---------------------------------------------------------------------------------------------
// GGUF: the shared stories260K GGUF, conversions, inspect

TEST_F(CliTest, GgufGreedyGenerationMatchesGoldenWithItsOwnVocabulary) {
  REQUIRE_DATA_FILE(golden, "golden/stories260K-greedy.jsonl");
  REQUIRE_DATA_FILE(gguf, "models/stories260K-f32.gguf");
  for (const auto& g : golden_cases(golden)) {
    const auto prompt = g.at("prompt").get<std::string>();
    SCOPED_TRACE("prompt '" + prompt + "'");
    const RunResult r = run({"generate", "--model", gguf, "--temperature", "0", "--steps", std::to_string(g.at("steps").get<int>()),
                             "--prompt", prompt, "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.at("tokens"), g.at("tokens"));
    EXPECT_EQ(j.at("text"), g.at("text"));
  }
  const RunResult p = run({"perplexity", "--model", gguf, "--stories", "100", "--json"});
  ASSERT_EQ(p.exit_code, 0) << p.describe();
  EXPECT_NEAR(nlohmann::json::parse(p.out).at("mean_nll").get<double>(), 1.275193, 1e-4);
}

TEST_F(CliTest, ConvertLlama2cToGgufAndBackIsByteIdentical) {
  REQUIRE_DATA_FILE(model, "models/stories260K.bin");
  REQUIRE_DATA_FILE(tok, "models/tok512.bin");
  const std::string gguf = (dir_ / "s.gguf").string(), back = (dir_ / "s.bin").string();
  RunResult r = run({"convert", model, gguf, "--tokenizer", tok});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  r = run({"convert", gguf, back});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(read_file(back) == read_file(model)) << "llama2.c -> GGUF -> llama2.c changed bytes";
  r = run({"inspect", gguf});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("GGUF v3, alignment 32"), std::string::npos) << r.describe();
  EXPECT_NE(r.out.find("tokenizer.ggml.tokens"), std::string::npos) << r.describe();
  r = run({"inspect", gguf, "--json"});
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("format"), "gguf");
  EXPECT_EQ(j.at("gguf").at("metadata").at("llama.block_count"), 5);
  EXPECT_EQ(j.at("gguf").at("tensor_types").at("F32"), 47);  // the classifier is tied: no output.weight
}

TEST_F(CliTest, QuantizedGgufReloadsWithTheInMemoryOutputs) {
  REQUIRE_DATA_FILE(model, "models/stories260K.bin");
  REQUIRE_DATA_FILE(tok, "models/tok512.bin");
  // ffn_down's rows (172) are not a multiple of 32: GGUF's blocks cannot hold them.
  for (const char* q : {"quant-int8<exclude=\".*ffn_down.*\">", "quant-int4<block=32,exclude=\".*ffn_down.*\">",
                        "quant-int4<block=32,scheme=asym,exclude=\".*ffn_down.*\">"}) {
    SCOPED_TRACE(q);
    const std::string gguf = (dir_ / "q.gguf").string();
    RunResult r = run({"convert", model, gguf, "--tokenizer", tok, "--pipeline", q});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    const RunResult file = run({"generate", "--model", gguf, "--pipeline", "cpu-tbb", "--temperature", "0", "--steps", "150", "--json"});
    const RunResult mem = run({"generate", "--model", model, "--tokenizer", tok, "--pipeline", std::string(q) + ",cpu-tbb",
                               "--temperature", "0", "--steps", "150", "--json"});
    ASSERT_EQ(file.exit_code, 0) << file.describe();
    ASSERT_EQ(mem.exit_code, 0) << mem.describe();
    EXPECT_EQ(nlohmann::json::parse(file.out).at("tokens"), nlohmann::json::parse(mem.out).at("tokens"));
  }
  const RunResult bad = run({"convert", model, (dir_ / "x.gguf").string(), "--tokenizer", tok, "--pipeline", "quant-int8"});
  // The quantizer's own summary line comes first; the error is the last line.
  EXPECT_EQ(bad.exit_code, 5) << bad.describe();
  EXPECT_NE(bad.err.find("\naccelab: error: tensor 'blk.0.ffn_down.weight': GGUF's Q8_0/Q4_0/Q4_1 need blocks of 32"), std::string::npos)
      << bad.describe();
  EXPECT_FALSE(fs::exists(dir_ / "x.gguf")) << "a failed conversion leaves no file";
  EXPECT_FALSE(fs::exists(dir_ / "x.gguf.partial"));
  // Two-level scales have no GGUF type of the three: refused, naming the scales.
  const RunResult two_level = run({"convert", model, (dir_ / "y.gguf").string(), "--tokenizer", tok, "--pipeline",
                                   "quant-int4<block=32,scales=u8,exclude=\".*ffn_down.*\">"});
  EXPECT_EQ(two_level.exit_code, 5) << two_level.describe();
  EXPECT_NE(two_level.err.find("GGUF's Q8_0/Q4_0/Q4_1 need blocks of 32 with f16 scales along rows that are a multiple of 32 "
                               "(this one: block 32, u8 scales"),
            std::string::npos)
      << two_level.describe();
  EXPECT_FALSE(fs::exists(dir_ / "y.gguf"));
}
