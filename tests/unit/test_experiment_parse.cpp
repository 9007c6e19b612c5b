// Experiment files: parse_experiment (syntax, keys, types, ranges, files, pipeline text) and
// plan_experiment (strategies, parameters, stage order, seq_len) against the in-tree plugins.
// Every error must be one line that starts with "file:line:column: "; the expected positions
// below are counted by hand from the TOML text of each test (lines and columns are 1-based).
#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include <unistd.h>

#include "support/default_registry.hpp"
#include "support/temp_dir.hpp"
#include "experiment/experiment.hpp"
#include "experiment/plan.hpp"
#include "pipeline/pipeline_text.hpp"
#include "pipeline/planner.hpp"
#include "util/error.hpp"

namespace fs = std::filesystem;

namespace accelab {
namespace {

// The synthetic shape used wherever the model does not matter: parsed, never written.
constexpr const char* kShape = "dim=16,hidden=32,layers=2,heads=4,kv-heads=2,vocab=64,seq=32";

// Lines 1-5 of most files below: a synthetic model and a workload that fits its seq_len 32.
const std::string kHead = std::string("[model]\n") +                    // line 1
                          "synth = \"" + kShape + "\"\n" +              // line 2
                          "[workload]\n" +                               // line 3
                          "prompt_tokens = 8\n" +                        // line 4
                          "generate_tokens = 4\n";                       // line 5

const PluginRegistry& registry() { return test_support::default_registry(); }

std::string shared_data_dir() {
  const char* d = std::getenv("ACCELAB_DATA");
  return d && *d ? d : std::string(ACCELAB_SOURCE_DIR) + "/../shared";
}

#define REQUIRE_SHARED_FILE(rel)                                                            \
  do {                                                                                      \
    if (!fs::is_regular_file(shared_data_dir() + "/" + (rel)))                              \
      GTEST_SKIP() << shared_data_dir() << "/" << (rel)                                      \
                   << " not found (set ACCELAB_DATA to the shared data directory)";       \
  } while (0)

using test_support::TempDir;

// Sets an environment variable for one scope, restoring the previous value afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// The error an experiment file causes, with the file's path replaced by "FILE", or
// "(no error)". `plan` also runs plan_experiment against the in-tree plugins.
std::string error_of(const std::string& toml, bool plan = false) {
  TempDir dir;
  std::string file = dir.write("exp.toml", toml);
  try {
    Experiment e = parse_experiment(file);
    if (plan) plan_experiment(std::move(e), registry());
  } catch (const ExperimentError& err) {
    std::string msg = err.what();
    for (size_t at = msg.find(file); at != std::string::npos; at = msg.find(file, at + 4))
      msg.replace(at, file.size(), "FILE");
    return msg;
  } catch (const std::exception& err) {
    return std::string("(not an ExperimentError) ") + err.what();
  }
  return "(no error)";
}

std::string plan_error_of(const std::string& toml) { return error_of(toml, true); }

// Checks that `msg` is one line, starts with "FILE:line:column: " and contains `fragment`.
::testing::AssertionResult IsErrorAt(const std::string& msg, int line, int column,
                                     std::string_view fragment) {
  std::string prefix = "FILE:" + std::to_string(line) + ":" + std::to_string(column) + ": ";
  if (msg.rfind(prefix, 0) != 0)
    return ::testing::AssertionFailure() << "expected the position " << prefix << "in: " << msg;
  if (msg.find('\n') != std::string::npos)
    return ::testing::AssertionFailure() << "the message is not one line: " << msg;
  if (msg.find(fragment) == std::string::npos)
    return ::testing::AssertionFailure() << "expected '" << fragment << "' in: " << msg;
  return ::testing::AssertionSuccess();
}

Experiment parse_text(const TempDir& dir, const std::string& toml, const std::string& name = "exp.toml") {
  return parse_experiment(dir.write(name, toml));
}

// ---------------------------------------------------------------------------------------------
// TOML syntax and unknown keys

TEST(ExperimentSyntax, UnterminatedStringIsReportedAtTomlsPosition) {
  // Line 2 is `name = "unterminated`: the string opens at column 8 and the line ends after
  // column 20, where toml++ finds the end of line inside the string.
  std::string msg = error_of("[experiment]\nname = \"unterminated\n" + kHead);
  EXPECT_TRUE(IsErrorAt(msg, 2, 21, "string"));
}

TEST(ExperimentSyntax, DuplicateKeyIsATomlError) {
  // toml++ reports the redefinition after the second key, where its value starts (column 8).
  std::string msg = error_of("[experiment]\nseed = 1\nseed = 2\n" + kHead);
  EXPECT_TRUE(IsErrorAt(msg, 3, 8, "cannot redefine existing integer 'seed'"));
}

TEST(ExperimentKeys, UnknownTopLevelSectionSuggestsTheClosest) {
  // Line 6 is `[experimnt]`: the key starts at column 2, after the bracket.
  std::string msg = error_of(kHead + "[experimnt]\nname = \"x\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 6, 2, "unknown key 'experimnt' in the experiment file"));
  EXPECT_TRUE(IsErrorAt(msg, 6, 2, "did you mean 'experiment'"));
  EXPECT_TRUE(IsErrorAt(msg, 6, 2, "allowed keys: experiment, model, workload, measure, pipeline"));
}

TEST(ExperimentKeys, UnknownKeyInExperimentSection) {
  std::string msg = error_of("[experiment]\n  nmae = \"x\"\n" + kHead);
  EXPECT_TRUE(IsErrorAt(msg, 2, 3, "unknown key 'nmae' in [experiment] (did you mean 'name'?)"));
}

TEST(ExperimentKeys, UnknownKeyInModelSection) {
  std::string msg = error_of("[model]\nsynth = \"stories15M\"\ntokeniser = \"tok.bin\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 3, 1, "unknown key 'tokeniser' in [model] (did you mean 'tokenizer'?)"));
}

TEST(ExperimentKeys, UnknownKeyInWorkloadSection) {
  std::string msg = error_of(kHead + "prompt_token = 8\n");
  EXPECT_TRUE(IsErrorAt(msg, 6, 1, "unknown key 'prompt_token' in [workload] (did you mean 'prompt_tokens'?)"));
}

TEST(ExperimentKeys, UnknownKeyInMeasureSection) {
  std::string msg = error_of(kHead + "[measure]\nwarmup = 0\n    repetition = 3\n");
  EXPECT_TRUE(IsErrorAt(msg, 8, 5, "unknown key 'repetition' in [measure] (did you mean 'repetitions'?)"));
}

TEST(ExperimentKeys, UnknownKeyInPipeline) {
  std::string msg = error_of(kHead + "[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref\"\nbaseine = true\n");
  EXPECT_TRUE(IsErrorAt(msg, 9, 1, "unknown key 'baseine' in [[pipeline]] (did you mean 'baseline'?)"));
}

// ---------------------------------------------------------------------------------------------
// Types and ranges (each value's own position)

TEST(ExperimentTypes, SeedAsString) {
  std::string msg = error_of("[experiment]\nseed = \"42\"\n" + kHead);
  EXPECT_TRUE(IsErrorAt(msg, 2, 8, "[experiment] seed must be an integer"));
}

TEST(ExperimentTypes, NegativeSeed) {
  std::string msg = error_of("[experiment]\nseed = -1\n" + kHead);
  EXPECT_TRUE(IsErrorAt(msg, 2, 8, "[experiment] seed = -1 is out of range"));
}

TEST(ExperimentTypes, PromptTokensAsString) {
  std::string msg = error_of("[model]\nsynth = \"stories15M\"\n[workload]\nprompt_tokens = \"8\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 4, 17, "[workload] prompt_tokens must be an integer"));
}

TEST(ExperimentTypes, WrongTypeInsideAListIsReportedAtTheElement) {
  // `generate_tokens = [4, "8"]`: the bad element starts at column 23.
  std::string msg = error_of("[model]\nsynth = \"stories15M\"\n[workload]\ngenerate_tokens = [4, \"8\"]\n");
  EXPECT_TRUE(IsErrorAt(msg, 4, 23, "[workload] generate_tokens must be an integer"));
}

TEST(ExperimentTypes, EmptyList) {
  std::string msg = error_of("[model]\nsynth = \"stories15M\"\n[workload]\nbatch = []\n");
  EXPECT_TRUE(IsErrorAt(msg, 4, 9, "[workload] batch must not be an empty list"));
}

TEST(ExperimentTypes, PromptTokensZeroIsOutOfRange) {
  std::string msg = error_of("[model]\nsynth = \"stories15M\"\n[workload]\nprompt_tokens = 0\n");
  EXPECT_TRUE(IsErrorAt(msg, 4, 17, "[workload] prompt_tokens = 0 is out of range [1, 1048576]"));
}

TEST(ExperimentTypes, BatchTooLargeIsOutOfRange) {
  std::string msg = error_of("[model]\nsynth = \"stories15M\"\n[workload]\nbatch = [1, 5000]\n");
  EXPECT_TRUE(IsErrorAt(msg, 4, 13, "[workload] batch = 5000 is out of range [1, 4096]"));
}

TEST(ExperimentTypes, NegativeWarmupIsOutOfRange) {
  std::string msg = error_of(kHead + "[measure]\nwarmup = -1\n");
  EXPECT_TRUE(IsErrorAt(msg, 7, 10, "[measure] warmup = -1 is out of range [0, 100]"));
}

TEST(ExperimentTypes, RepetitionsMustBeAnIntegerOrAuto) {
  std::string msg = error_of(kHead + "[measure]\nrepetitions = \"sometimes\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 7, 15, "[measure] repetitions must be a positive integer or \"auto\""));
}

TEST(ExperimentTypes, RepetitionsZeroIsOutOfRange) {
  std::string msg = error_of(kHead + "[measure]\nrepetitions = 0\n");
  EXPECT_TRUE(IsErrorAt(msg, 7, 15, "[measure] repetitions = 0 is out of range"));
}

TEST(ExperimentTypes, QualityMustBeABoolean) {
  std::string msg = error_of(kHead + "[measure]\nquality = \"yes\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 7, 11, "[measure] quality must be true or false"));
}

TEST(ExperimentTypes, TargetCiZeroIsOutOfRange) {
  std::string msg = error_of(kHead + "[measure]\ntarget_ci = 0\n");
  EXPECT_TRUE(IsErrorAt(msg, 7, 13, "[measure] target_ci = 0 is out of range"));
}

TEST(ExperimentTypes, BaselineMustBeABoolean) {
  std::string msg = error_of(kHead + "[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref\"\nbaseline = \"yes\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 9, 12, "[[pipeline]] baseline must be true or false"));
}

// ---------------------------------------------------------------------------------------------
// [model]

TEST(ExperimentModel, NeitherPathNorSynthIsReportedAtTheTable) {
  std::string msg = error_of("[experiment]\nname = \"x\"\n[model]\n[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 3, 1, "[model] needs exactly one of 'path' (a checkpoint) or 'synth'"));
}

TEST(ExperimentModel, BothPathAndSynthIsReportedAtTheTable) {
  std::string msg = error_of("\n[model]\npath = \"m.bin\"\nsynth = \"stories15M\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 2, 1, "[model] needs exactly one of 'path'"));
}

TEST(ExperimentModel, MissingModelSectionIsReportedAtTheStart) {
  std::string msg = error_of("[experiment]\nname = \"x\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 1, 1, "missing section [model]"));
}

TEST(ExperimentModel, MissingModelFileNamesTheResolvedPath) {
  TempDir dir;
  std::string file = dir.write("exp.toml", "[model]\npath = \"no-such-model.bin\"\n");
  try {
    parse_experiment(file);
    FAIL() << "no error";
  } catch (const ExperimentError& e) {
    std::string msg = e.what();
    std::string resolved = (dir.path() / "no-such-model.bin").lexically_normal().string();
    EXPECT_EQ(msg.rfind(file + ":2:8: ", 0), 0u) << msg;
    EXPECT_NE(msg.find("model file '" + resolved + "' does not exist"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_EQ(e.pos().line, 2u);
    EXPECT_EQ(e.pos().column, 8u);
    EXPECT_EQ(e.pos().file, file);
  }
}

TEST(ExperimentModel, UnknownSynthShapeSuggestsAPreset) {
  std::string msg = error_of("[model]\nsynth = \"stories15m\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 2, 9, "unknown shape 'stories15m' (did you mean 'stories15M'?)"));
}

TEST(ExperimentModel, InvalidCustomSynthShape) {
  std::string msg = error_of("[model]\nsynth = \"dim=16,hiden=32\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 2, 9, "unknown key 'hiden' (did you mean 'hidden'?)"));
}

TEST(ExperimentModel, SeedOnlyAppliesToSynth) {
  TempDir dir;
  dir.write("model.bin", "not read by parse_experiment");
  std::string file = dir.write("exp.toml", "[model]\npath = \"model.bin\"\nseed = 7\n");
  try {
    parse_experiment(file);
    FAIL() << "no error";
  } catch (const ExperimentError& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind(file + ":3:8: ", 0), 0u) << msg;
    EXPECT_NE(msg.find("[model] seed applies only to synthetic models"), std::string::npos) << msg;
  }
}

TEST(ExperimentModel, MissingTokenizerFile) {
  std::string msg = error_of("[model]\nsynth = \"stories15M\"\ntokenizer = \"no-such-tok.bin\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 3, 13, "no-such-tok.bin' does not exist"));
}

// ---------------------------------------------------------------------------------------------
// [[pipeline]]

TEST(ExperimentPipeline, MissingPipelineIsReportedAtTheStart) {
  std::string msg = error_of(kHead);
  EXPECT_TRUE(IsErrorAt(msg, 1, 1, "no [[pipeline]] entries; add at least one"));
}

TEST(ExperimentPipeline, PipelineMustBeAnArrayOfTables) {
  std::string msg = error_of(kHead + "[pipeline]\nname = \"a\"\nstages = \"cpu-ref\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 6, 1, "'pipeline' must be [[pipeline]] tables"));
}

TEST(ExperimentPipeline, PipelineWithoutNameIsReportedAtItsTable) {
  std::string msg = error_of(kHead + "[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref\"\n"
                                     "\n[[pipeline]]\nstages = \"cpu-ref\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 10, 1, "[[pipeline]] needs a 'name'"));
}

TEST(ExperimentPipeline, DuplicateNamesAreReportedAtTheSecondName) {
  std::string msg = error_of(kHead + "[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref\"\n"
                                     "[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 10, 8, "pipeline name 'a' is used twice (first at FILE:6:1)"));
}

TEST(ExperimentPipeline, NeitherStagesNorStageTables) {
  std::string msg = error_of(kHead + "[[pipeline]]\nname = \"a\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 6, 1, "pipeline 'a' needs exactly one of 'stages'"));
}

TEST(ExperimentPipeline, BothStagesAndStageTables) {
  std::string msg = error_of(kHead + "[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref\"\n"
                                     "[[pipeline.stage]]\nuse = \"cpu-ref\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 6, 1, "pipeline 'a' needs exactly one of 'stages'"));
}

TEST(ExperimentPipeline, TwoBaselinesAreReportedAtTheSecond) {
  std::string msg = error_of(kHead + "[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref\"\nbaseline = true\n"
                                     "[[pipeline]]\nname = \"b\"\nstages = \"cpu-ref\"\n"
                                     "[[pipeline]]\nname = \"c\"\nstages = \"cpu-ref\"\nbaseline = true\n");
  EXPECT_TRUE(IsErrorAt(msg, 13, 1, "pipeline 'c' is a second baseline; mark only one"));
}

TEST(ExperimentPipeline, TextSyntaxErrorPointsInsideTheString) {
  // Line 8 is `stages = "cpu-ref<"`: the string starts at column 10 and its text at column 11.
  const std::string text = "cpu-ref<";
  size_t offset = 0;
  try {
    parse_pipeline_text(text);
    FAIL() << "'" << text << "' parsed";
  } catch (const PipelineSyntaxError& e) {
    offset = e.offset();
  }
  ASSERT_LE(offset, text.size());
  std::string msg = error_of(kHead + "[[pipeline]]\nname = \"a\"\nstages = \"" + text + "\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 8, static_cast<int>(10 + 1 + offset), "pipeline 'a': "));
  EXPECT_EQ(msg.find("column "), std::string::npos) << "the parser's own column is not repeated: " << msg;
  // The text ends at offset 8, which is where the closing quote stands: column 19.
  EXPECT_EQ(offset, 8u);
  EXPECT_TRUE(IsErrorAt(msg, 8, 19, "pipeline 'a': missing '>' to close the parameters of 'cpu-ref'"));
}

TEST(ExperimentPipeline, TextSyntaxErrorInTheMiddleOfTheString) {
  // `  stages = "hello<times 2>,cpu-ref"`: the string starts at column 12; the parser stops at
  // offset 12 (the "2" where "=" should be), i.e. column 12 + 1 + 12 = 25.
  std::string msg = error_of(kHead + "[[pipeline]]\nname = \"a\"\n  stages = \"hello<times 2>,cpu-ref\"\n");
  try {
    parse_pipeline_text("hello<times 2>,cpu-ref");
    FAIL() << "parsed";
  } catch (const PipelineSyntaxError& e) {
    EXPECT_TRUE(IsErrorAt(msg, 8, static_cast<int>(12 + 1 + e.offset()), "pipeline 'a': "));
    EXPECT_EQ(e.offset(), 12u);
    EXPECT_TRUE(IsErrorAt(msg, 8, 25, "pipeline 'a': "));
  }
}

TEST(ExperimentPipeline, StageTableWithoutUseIsReportedAtTheStageTable) {
  std::string msg = error_of(kHead + "[[pipeline]]\nname = \"a\"\n"
                                     "[[pipeline.stage]]\nuse = \"hello\"\n"
                                     "[[pipeline.stage]]\ntimes = 2\n");
  EXPECT_TRUE(IsErrorAt(msg, 10, 1, "pipeline 'a': a [[pipeline.stage]] needs 'use = \"<strategy>\"'"));
}

TEST(ExperimentPipeline, UseWithParametersIsRejected) {
  std::string msg = error_of(kHead + "[[pipeline]]\nname = \"a\"\n"
                                     "[[pipeline.stage]]\nuse = \"hello<times=2>\"\n"
                                     "[[pipeline.stage]]\nuse = \"cpu-ref\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 9, 7, "'use' takes a single strategy name; give parameters as keys"));
}

TEST(ExperimentPipeline, UseThatIsNotANameIsRejected) {
  std::string msg = error_of(kHead + "[[pipeline]]\nname = \"a\"\n[[pipeline.stage]]\nuse = \"cpu ref!\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 9, 7, "'use' = 'cpu ref!' is not a strategy name"));
}

TEST(ExperimentPipeline, StageParameterOfAnUnsupportedType) {
  std::string msg = error_of(kHead + "[[pipeline]]\nname = \"a\"\n"
                                     "[[pipeline.stage]]\nuse = \"hello\"\ntimes = 1979-05-27\n"
                                     "[[pipeline.stage]]\nuse = \"cpu-ref\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 10, 9, "parameter 'times' must be a string, integer, float or boolean"));
}

// ---------------------------------------------------------------------------------------------
// plan_experiment: strategies, parameters, stage order and the model's seq_len

TEST(ExperimentPlan, FindsTheInTreePlugins) {
  ASSERT_NE(registry().find("cpu-ref"), nullptr) << "build the plugins first";
  ASSERT_NE(registry().find("hello"), nullptr);
}

TEST(ExperimentPlan, UnknownStrategyInTextFormIsReportedAtThatStage) {
  // `stages = "hello,cpu-reff"`: string at column 10, "cpu-reff" at offset 6 → column 17.
  std::string msg = plan_error_of(kHead + "[[pipeline]]\nname = \"a\"\nstages = \"hello,cpu-reff\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 8, 17, "pipeline 'a': unknown strategy 'cpu-reff' (did you mean 'cpu-ref'?)"));
  EXPECT_TRUE(IsErrorAt(msg, 8, 17, "available: "));
  EXPECT_TRUE(IsErrorAt(msg, 8, 17, "cpu-ref"));
  EXPECT_TRUE(IsErrorAt(msg, 8, 17, "hello"));
}

TEST(ExperimentPlan, UnknownStrategyInStageTablesIsReportedAtThatTable) {
  std::string msg = plan_error_of(kHead + "[[pipeline]]\nname = \"a\"\n"
                                          "[[pipeline.stage]]\nuse = \"hello\"\n"
                                          "\n[[pipeline.stage]]\nuse = \"cpu-reff\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 11, 1, "pipeline 'a': unknown strategy 'cpu-reff' (did you mean 'cpu-ref'?)"));
}

TEST(ExperimentPlan, ParameterOutOfRangeIsReportedAtThatStage) {
  // The second pipeline's `stages = "hello<times=11>,cpu-ref"` (line 11): hello at column 11.
  std::string msg = plan_error_of(kHead + "[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref\"\n"
                                          "[[pipeline]]\nname = \"b\"\nstages = \"hello<times=11>,cpu-ref\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 11, 11, "pipeline 'b': "));
  EXPECT_TRUE(IsErrorAt(msg, 11, 11, "out of range [1, 10]"));
}

TEST(ExperimentPlan, ParameterOfTheWrongTypeInTextForm) {
  // `stages = "hello,hello<times=two>,cpu-ref"`: the second hello is at offset 6 → column 17.
  std::string msg = plan_error_of(kHead + "[[pipeline]]\nname = \"a\"\nstages = \"hello,hello<times=two>,cpu-ref\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 8, 17, "is not an integer"));
}

TEST(ExperimentPlan, ParameterOfTheWrongTypeInStageTables) {
  std::string msg = plan_error_of(kHead + "[[pipeline]]\nname = \"a\"\n"
                                          "[[pipeline.stage]]\nuse = \"hello\"\ntimes = true\n"
                                          "[[pipeline.stage]]\nuse = \"cpu-ref\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 8, 1, "is not an integer"));
}

TEST(ExperimentPlan, UnknownParameterSuggestsTheDeclaredOne) {
  std::string msg = plan_error_of(kHead + "[[pipeline]]\nname = \"a\"\nstages = \"hello<time=2>,cpu-ref\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 8, 11, "did you mean 'times'"));
}

TEST(ExperimentPlan, TransformLastIsReportedAtThePipeline) {
  std::string msg = plan_error_of(kHead + "\n[[pipeline]]\nname = \"a\"\nstages = \"hello\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 7, 1, "pipeline 'a': "));
  EXPECT_TRUE(IsErrorAt(msg, 7, 1, "ends with transform"));
}

TEST(ExperimentPlan, BackendNotLastIsReportedAtThePipeline) {
  std::string msg = plan_error_of(kHead + "[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref,hello\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 6, 1, "must be the last stage"));
}

TEST(ExperimentPlan, WorkloadBeyondSeqLenOfARealModelIsReportedAtTheWorkload) {
  REQUIRE_SHARED_FILE("models/stories260K.bin");
  std::string toml = "[model]\npath = \"" + shared_data_dir() + "/models/stories260K.bin\"\n"
                     "\n[workload]\nprompt_tokens = [16, 500]\ngenerate_tokens = 16\n"
                     "[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref\"\n";
  std::string msg = plan_error_of(toml);
  EXPECT_TRUE(IsErrorAt(msg, 4, 1, "prompt_tokens + generate_tokens reaches 516 positions, beyond the model's seq_len 512"));
}

TEST(ExperimentPlan, WorkloadBeyondSeqLenOfASyntheticModel) {
  // [workload] is line 3; the longest point is 30 + 3 = 33 positions.
  std::string msg = plan_error_of(std::string("[model]\nsynth = \"") + kShape + "\"\n[workload]\n"
                                  "prompt_tokens = 30\ngenerate_tokens = [0, 3]\n"
                                  "[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 3, 1, "reaches 33 positions, beyond the model's seq_len 32"));
}

// ---------------------------------------------------------------------------------------------
// Valid files

TEST(ExperimentValid, DefaultsWithoutWorkloadOrMeasure) {
  TempDir dir;
  Experiment e = parse_text(dir, "[model]\nsynth = \"stories15M\"\n[[pipeline]]\nname = \"ref\"\nstages = \"cpu-ref\"\n",
                            "my-experiment.toml");
  EXPECT_EQ(e.name, "my-experiment");
  EXPECT_EQ(e.description, "");
  EXPECT_EQ(e.seed, 42u);
  EXPECT_EQ(e.model.synth, "stories15M");
  EXPECT_EQ(e.model.synth_seed, 0u);
  EXPECT_EQ(e.model.path, "");
  EXPECT_EQ(e.workload.prompt_tokens, std::vector<int32_t>{128});
  EXPECT_EQ(e.workload.generate_tokens, std::vector<int32_t>{128});
  EXPECT_EQ(e.workload.batch, std::vector<int32_t>{1});
  EXPECT_EQ(e.workload.prompt_text, "");
  EXPECT_EQ(e.measure.warmup, 1);
  EXPECT_EQ(e.measure.repetitions, 5);
  EXPECT_FALSE(e.measure.auto_repetitions);
  EXPECT_DOUBLE_EQ(e.measure.target_ci, 0.05);
  EXPECT_DOUBLE_EQ(e.measure.min_time_s, 0);
  EXPECT_TRUE(e.measure.quality);
  EXPECT_EQ(e.measure.stories, 50);
  ASSERT_EQ(e.pipelines.size(), 1u);
  EXPECT_EQ(e.pipelines[0].name, "ref");
  EXPECT_EQ(e.pipelines[0].text, "cpu-ref");
  EXPECT_TRUE(e.pipelines[0].baseline);
  EXPECT_EQ(e.baseline, 0u);
}

TEST(ExperimentValid, ExperimentSectionValues) {
  TempDir dir;
  Experiment e = parse_text(dir, "[experiment]\nname = \"run-1.a_b\"\nseed = 7\ndescription = \"text\"\n" + kHead +
                                     "[[pipeline]]\nname = \"ref\"\nstages = \"cpu-ref\"\n");
  EXPECT_EQ(e.name, "run-1.a_b");
  EXPECT_EQ(e.seed, 7u);
  EXPECT_EQ(e.description, "text");
}

TEST(ExperimentValid, InvalidExperimentNameIsReportedAtTheName) {
  std::string msg = error_of("[experiment]\nname = \"a b\"\n" + kHead);
  EXPECT_TRUE(IsErrorAt(msg, 2, 8, "[experiment] name must be non-empty"));
}

TEST(ExperimentValid, ListsInWorkload) {
  TempDir dir;
  Experiment e = parse_text(dir, "[model]\nsynth = \"stories15M\"\n[workload]\nprompt_tokens = [8, 16, 32]\n"
                                 "generate_tokens = [0, 4]\nbatch = [1, 2]\n"
                                 "[[pipeline]]\nname = \"ref\"\nstages = \"cpu-ref\"\n");
  EXPECT_EQ(e.workload.prompt_tokens, (std::vector<int32_t>{8, 16, 32}));
  EXPECT_EQ(e.workload.generate_tokens, (std::vector<int32_t>{0, 4}));
  EXPECT_EQ(e.workload.batch, (std::vector<int32_t>{1, 2}));
}

TEST(ExperimentValid, RepetitionsAuto) {
  TempDir dir;
  Experiment e = parse_text(dir, kHead + "[measure]\nrepetitions = \"auto\"\ntarget_ci = 0.1\nmax_repetitions = 6\n"
                                         "[[pipeline]]\nname = \"ref\"\nstages = \"cpu-ref\"\n");
  EXPECT_TRUE(e.measure.auto_repetitions);
  EXPECT_EQ(e.measure.repetitions, 3);
  EXPECT_DOUBLE_EQ(e.measure.target_ci, 0.1);
  EXPECT_EQ(e.measure.max_repetitions, 6);
}

TEST(ExperimentValid, FirstPipelineIsTheBaselineWhenNoneIsMarked) {
  TempDir dir;
  Experiment e = parse_text(dir, kHead + "[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref\"\n"
                                         "[[pipeline]]\nname = \"b\"\nstages = \"hello,cpu-ref\"\n");
  ASSERT_EQ(e.pipelines.size(), 2u);
  EXPECT_EQ(e.baseline, 0u);
  EXPECT_TRUE(e.pipelines[0].baseline);
  EXPECT_FALSE(e.pipelines[1].baseline);
}

TEST(ExperimentValid, MarkedPipelineIsTheBaseline) {
  TempDir dir;
  Experiment e = parse_text(dir, kHead + "[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref\"\n"
                                         "[[pipeline]]\nname = \"b\"\nstages = \"hello,cpu-ref\"\nbaseline = true\n"
                                         "[[pipeline]]\nname = \"c\"\nstages = \"cpu-ref\"\nbaseline = false\n");
  ASSERT_EQ(e.pipelines.size(), 3u);
  EXPECT_EQ(e.baseline, 1u);
  EXPECT_FALSE(e.pipelines[0].baseline);
  EXPECT_TRUE(e.pipelines[1].baseline);
  EXPECT_FALSE(e.pipelines[2].baseline);
}

TEST(ExperimentValid, StageTablesBecomeTheCanonicalText) {
  TempDir dir;
  Experiment e = parse_text(dir, kHead + "[[pipeline]]\nname = \"tables\"\n"
                                         "[[pipeline.stage]]\nuse = \"hello\"\ntimes = 3\n"
                                         "[[pipeline.stage]]\nuse = \"cpu-ref\"\n"
                                         "[[pipeline]]\nname = \"text\"\nstages = \"hello<times=3>, cpu-ref\"\n");
  ASSERT_EQ(e.pipelines.size(), 2u);
  EXPECT_EQ(e.pipelines[0].text, "hello<times=3>,cpu-ref");
  EXPECT_EQ(e.pipelines[0].text, e.pipelines[1].text);
  ASSERT_EQ(e.pipelines[0].stage_pos.size(), 2u);
  EXPECT_EQ(e.pipelines[0].stage_pos[0].line, 8u);
  EXPECT_EQ(e.pipelines[0].stage_pos[1].line, 11u);
  ASSERT_EQ(e.pipelines[1].stage_pos.size(), 2u);
  EXPECT_EQ(e.pipelines[1].stage_pos[0].line, 15u);
  EXPECT_EQ(e.pipelines[1].stage_pos[0].column, 11u);
  EXPECT_EQ(e.pipelines[1].stage_pos[1].column, 27u);  // ", " before cpu-ref: offset 16
}

TEST(ExperimentValid, StageTableParametersOfEveryTypeMatchTheOneLineForm) {
  // Keys in alphabetical order, so that the comparison does not depend on key order.
  TempDir dir;
  Experiment e = parse_text(dir, kHead + "[[pipeline]]\nname = \"tables\"\n"
                                         "[[pipeline.stage]]\nuse = \"fancy\"\n"
                                         "a-flag = true\nb-rate = 0.5\nc-mode = \"two words\"\nd-count = 4\n"
                                         "e-off = false\nf-path = \"x/y.bin\"\n"
                                         "[[pipeline.stage]]\nuse = \"cpu-ref\"\n");
  std::string one_line = to_pipeline_text(parse_pipeline_text(
      "fancy<a-flag=true,b-rate=0.5,c-mode=\"two words\",d-count=4,e-off=false,f-path=x/y.bin>,cpu-ref"));
  ASSERT_EQ(e.pipelines.size(), 1u);
  EXPECT_EQ(e.pipelines[0].text, one_line);
  EXPECT_EQ(e.pipelines[0].text,
            "fancy<a-flag=true,b-rate=0.5,c-mode=\"two words\",d-count=4,e-off=false,f-path=x/y.bin>,cpu-ref");
}

TEST(ExperimentValid, StageTablesPlanLikeTheTextForm) {
  TempDir dir;
  Experiment e = parse_text(dir, kHead + "[[pipeline]]\nname = \"tables\"\n"
                                         "[[pipeline.stage]]\nuse = \"hello\"\ntimes = 3\n"
                                         "[[pipeline.stage]]\nuse = \"cpu-ref\"\n");
  ExperimentPlan plan = plan_experiment(std::move(e), registry());
  ASSERT_EQ(plan.plans.size(), 1u);
  EXPECT_EQ(resolved_pipeline_text(plan.plans[0]), "hello<times=3>,cpu-ref");
}

TEST(ExperimentValid, DataDirectoryIsExpandedInPaths) {
  TempDir dir;
  TempDir data;
  std::string model = data.write("models/m.bin", "fake");
  ScopedEnv env("ACCELAB_DATA", data.path().string());
  Experiment e = parse_text(dir, "[model]\npath = \"${ACCELAB_DATA}/models/m.bin\"\n"
                                 "[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref\"\n");
  EXPECT_EQ(e.model.path, fs::path(model).lexically_normal().string());
  EXPECT_EQ(resolve_experiment_path("$ACCELAB_DATA/models/m.bin", "/elsewhere"),
            fs::path(model).lexically_normal().string());
}

// The data directory means the same in an experiment file as on the command line: a relative
// $ACCELAB_DATA is relative to the working directory, not to the experiment file.
TEST(ExperimentValid, RelativeDataDirectoryIsRelativeToTheWorkingDirectory) {
  ScopedEnv env("ACCELAB_DATA", "relative-data");
  EXPECT_EQ(resolve_experiment_path("${ACCELAB_DATA}/models/m.bin", "/some/experiments"),
            (fs::current_path() / "relative-data/models/m.bin").lexically_normal().string());
}

TEST(ExperimentValid, RelativePathsAreResolvedAgainstTheFilesDirectory) {
  TempDir dir;
  dir.write("models/m.bin", "fake");
  dir.write("models/t.bin", "fake");
  dir.write("texts/stories.txt", "Once upon a time.");
  Experiment e = parse_text(dir, "[model]\npath = \"../models/m.bin\"\ntokenizer = \"../models/./t.bin\"\n"
                                 "[workload]\nprompt_text = \"../texts/stories.txt\"\n"
                                 "[measure]\neval_text = \"../texts/stories.txt\"\n"
                                 "[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref\"\n",
                            "sub/exp.toml");
  EXPECT_EQ(e.model.path, (dir.path() / "models/m.bin").lexically_normal().string());
  EXPECT_EQ(e.model.tokenizer, (dir.path() / "models/t.bin").lexically_normal().string());
  EXPECT_EQ(e.workload.prompt_text, (dir.path() / "texts/stories.txt").lexically_normal().string());
  EXPECT_EQ(e.measure.eval_text, (dir.path() / "texts/stories.txt").lexically_normal().string());
}

TEST(ExperimentValid, AbsolutePathsAreKept) {
  EXPECT_EQ(resolve_experiment_path("/a/b/../c.bin", "/base"), "/a/c.bin");
  EXPECT_EQ(resolve_experiment_path("c.bin", "/base/dir"), "/base/dir/c.bin");
}

TEST(ExperimentValid, PromptTextRandomIsKeptAsIs) {
  TempDir dir;
  Experiment e = parse_text(dir, kHead + "prompt_text = \"random\"\n[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref\"\n");
  EXPECT_EQ(e.workload.prompt_text, "random");
}

TEST(ExperimentValid, Sha256IsOfTheFileAndChangesWithIt) {
  TempDir dir;
  const std::string text = kHead + "[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref\"\n";
  Experiment a = parse_text(dir, text);
  ASSERT_EQ(a.sha256.size(), 64u);
  for (char c : a.sha256) EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(c)) && !std::isupper(static_cast<unsigned char>(c))) << a.sha256;
  EXPECT_EQ(a.text, text);
  Experiment same = parse_text(dir, text);
  EXPECT_EQ(same.sha256, a.sha256);
  Experiment changed = parse_text(dir, text + "# a comment changes the file\n");
  EXPECT_EQ(changed.sha256.size(), 64u);
  EXPECT_NE(changed.sha256, a.sha256);
}

TEST(ExperimentValid, Sha256DependsOnlyOnTheBytes) {
  // The same bytes under another name in another directory hash the same.
  TempDir one, two;
  const std::string text = "[model]\nsynth = \"stories15M\"\n[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref\"\n";
  EXPECT_EQ(parse_text(one, text, "x.toml").sha256, parse_text(two, text, "y.toml").sha256);
}

TEST(ExperimentValid, SyntheticModelPlanSkipsQuality) {
  TempDir dir;
  TempDir cache;
  ScopedEnv env("ACCELAB_CACHE", cache.path().string());
  Experiment e = parse_text(dir, kHead + "[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref\"\n"
                                         "[[pipeline]]\nname = \"b\"\nstages = \"hello<times=2>,cpu-ref\"\n");
  ExperimentPlan plan = plan_experiment(std::move(e), registry());
  EXPECT_TRUE(plan.synthetic);
  EXPECT_NE(plan.quality_skipped.find("synthetic"), std::string::npos) << plan.quality_skipped;
  EXPECT_EQ(plan.eval_text_path, "");
  EXPECT_EQ(plan.config.dim, 16);
  EXPECT_EQ(plan.config.hidden_dim, 32);
  EXPECT_EQ(plan.config.n_layers, 2);
  EXPECT_EQ(plan.config.n_heads, 4);
  EXPECT_EQ(plan.config.n_kv_heads, 2);
  EXPECT_EQ(plan.config.vocab_size, 64);
  EXPECT_EQ(plan.config.seq_len, 32);
  EXPECT_EQ(plan.model_path.rfind(cache.path().string() + "/", 0), 0u) << plan.model_path;
  EXPECT_FALSE(fs::exists(plan.model_path)) << "planning must not write the model";
  ASSERT_EQ(plan.plans.size(), 2u);
  EXPECT_EQ(resolved_pipeline_text(plan.plans[1]), "hello<times=2>,cpu-ref");
  EXPECT_EQ(plan.experiment.pipelines.size(), 2u);
}

TEST(ExperimentValid, QualityFalseIsRecordedAsTheReason) {
  TempDir dir;
  Experiment e = parse_text(dir, kHead + "[measure]\nquality = false\n[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref\"\n");
  ExperimentPlan plan = plan_experiment(std::move(e), registry());
  EXPECT_NE(plan.quality_skipped.find("quality = false"), std::string::npos) << plan.quality_skipped;
}

TEST(ExperimentValid, RealModelPlanMeasuresQuality) {
  REQUIRE_SHARED_FILE("models/stories260K.bin");
  REQUIRE_SHARED_FILE("models/tok512.bin");
  REQUIRE_SHARED_FILE("data/tinystories_valid_first1000.txt");
  TempDir dir;
  const std::string d = shared_data_dir();
  Experiment e = parse_text(dir, "[model]\npath = \"" + d + "/models/stories260K.bin\"\ntokenizer = \"" + d +
                                     "/models/tok512.bin\"\n[workload]\nprompt_tokens = 16\ngenerate_tokens = 8\n"
                                     "[measure]\neval_text = \"" + d + "/data/tinystories_valid_first1000.txt\"\n"
                                     "[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref\"\n");
  ExperimentPlan plan = plan_experiment(std::move(e), registry());
  EXPECT_FALSE(plan.synthetic);
  EXPECT_EQ(plan.config.seq_len, 512);
  EXPECT_EQ(plan.quality_skipped, "");
  EXPECT_FALSE(plan.eval_text_path.empty());
  EXPECT_FALSE(plan.tokenizer_path.empty());
}


// ---- several models ---------------------------------------------------------------------------

const std::string kTwoModels = std::string("[[model]]\n") +                        // line 1
                               "synth = \"" + kShape + "\"\n" +                    // line 2
                               "name = \"small\"\n" +                              // line 3
                               "[[model]]\n" +                                     // line 4
                               "synth = \"" + kShape + "\"\n" +                    // line 5
                               "seed = 3\n" +                                      // line 6
                               "workload = { batch = [2, 4] }\n" +                  // line 7
                               "[workload]\n" +                                    // line 8
                               "prompt_tokens = 8\n" +                             // line 9
                               "generate_tokens = 4\n";                            // line 10

TEST(ExperimentModels, SeveralModelsEachWithItsOwnWorkloadAndPipelines) {
  TempDir dir;
  Experiment e = parse_text(dir, kTwoModels +
                                     "[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref\"\nmodels = [\"small\"]\nbaseline = true\n"
                                     "[[pipeline]]\nname = \"b\"\nstages = \"hello,cpu-ref\"\n");
  ASSERT_EQ(e.models.size(), 2u);
  EXPECT_EQ(e.models[0].name, "small");
  EXPECT_EQ(e.models[1].name, kShape);  // the synth shape when no name is given
  EXPECT_FALSE(e.models[0].workload.has_value());
  ASSERT_TRUE(e.models[1].workload.has_value());
  EXPECT_EQ(e.models[1].workload->batch, (std::vector<int32_t>{2, 4}));
  EXPECT_EQ(e.models[1].workload->prompt_tokens, (std::vector<int32_t>{8}));  // inherited
  auto plans = plan_experiment_models(e, registry());
  ASSERT_EQ(plans.size(), 2u);
  EXPECT_EQ(plans[0].experiment.pipelines.size(), 2u);
  EXPECT_EQ(plans[0].experiment.baseline, 0u);
  EXPECT_EQ(plans[0].experiment.workload.batch, (std::vector<int32_t>{1}));
  // "a" runs on "small" only, so "b" is the baseline of the second model.
  ASSERT_EQ(plans[1].experiment.pipelines.size(), 1u);
  EXPECT_EQ(plans[1].experiment.pipelines[0].name, "b");
  EXPECT_TRUE(plans[1].experiment.pipelines[0].baseline);
  EXPECT_EQ(plans[1].experiment.workload.batch, (std::vector<int32_t>{2, 4}));
  EXPECT_EQ(plans[1].experiment.model.synth_seed, 3u);
  EXPECT_NE(plans[0].model_path, plans[1].model_path);  // different seeds, different cache files
}

TEST(ExperimentModels, DuplicateModelNamesAreRejected) {
  std::string msg = error_of(std::string("[[model]]\nsynth = \"") + kShape + "\"\n[[model]]\nsynth = \"" +
                             kShape + "\"\n[workload]\nprompt_tokens = 8\ngenerate_tokens = 4\n"
                             "[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 3, 1, "is used twice")) << msg;
}

TEST(ExperimentModels, UnknownModelInAPipelineIsRejectedWithSuggestion) {
  std::string msg = error_of(kTwoModels + "[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref\"\nmodels = [\"smal\"]\n");
  EXPECT_TRUE(IsErrorAt(msg, 14, 11, "did you mean 'small'")) << msg;
}

TEST(ExperimentModels, ModelWithoutPipelinesIsRejected) {
  TempDir dir;
  Experiment e = parse_text(dir, kTwoModels + "[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref\"\nmodels = [\"small\"]\n");
  try {
    plan_experiment_models(e, registry());
    FAIL() << "no error";
  } catch (const ExperimentError& err) {
    EXPECT_NE(std::string(err.what()).find("no pipeline runs on model"), std::string::npos) << err.what();
    EXPECT_EQ(err.pos().line, 4u);
  }
}

TEST(ExperimentModels, ModelWorkloadKeysAreChecked) {
  std::string msg = error_of(std::string("[model]\nsynth = \"") + kShape + "\"\nworkload = { batchez = 2 }\n"
                             "[[pipeline]]\nname = \"a\"\nstages = \"cpu-ref\"\n");
  EXPECT_TRUE(IsErrorAt(msg, 3, 14, "did you mean 'batch'")) << msg;
}

}  // namespace
}  // namespace accelab
