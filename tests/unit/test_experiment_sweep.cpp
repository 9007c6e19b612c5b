// Sweeps in experiment files: lists and ranges of stage parameters (table form and the text
// form's `sweep` table) and of workload values expand to one pipeline per combination, named by
// its pipeline text; `run --filter` keeps a subset and the baseline. Errors keep their position.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/temp_dir.hpp"
#include "experiment/experiment.hpp"
#include "experiment/sweep.hpp"

namespace accelab {
namespace {

using test_support::TempDir;

const std::string kHead = std::string("[model]\n") +                                                  // 1
                          "synth = \"dim=16,hidden=32,layers=2,heads=4,kv-heads=2,vocab=64,seq=32\"\n" +  // 2
                          "[workload]\n" +                                                              // 3
                          "prompt_tokens = 8\n" +                                                       // 4
                          "generate_tokens = 4\n" +                                                     // 5
                          "[[pipeline]]\nname = \"ref\"\nstages = \"cpu-ref\"\n";                       // 6-8

Experiment parse(const std::string& toml) {
  TempDir dir;
  return parse_experiment(dir.write("exp.toml", toml));
}

std::string error_of(const std::string& toml) {
  try {
    parse(toml);
  } catch (const ExperimentError& e) {
    const std::string msg = e.what();
    return msg.substr(msg.find("exp.toml"));
  }
  return "(no error)";
}

std::vector<std::string> names(const Experiment& e) {
  std::vector<std::string> out;
  for (const auto& p : e.pipelines) out.push_back(p.name);
  return out;
}

TEST(Sweep, RangeValuesAreInclusiveAndFreeOfFloatNoise) {
  EXPECT_EQ(range_values(0.1, 0.9, 0.1),
            (std::vector<std::string>{"0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9"}));
  EXPECT_EQ(range_values(1, 8, 2), (std::vector<std::string>{"1", "3", "5", "7"}));
  EXPECT_EQ(range_values(64, 256, 64), (std::vector<std::string>{"64", "128", "192", "256"}));
  EXPECT_EQ(range_values(0.5, 0.5, 0.25), (std::vector<std::string>{"0.5"}));
  EXPECT_THROW(range_values(1, 2, 0), ConfigError);
  EXPECT_THROW(range_values(2, 1, 1), ConfigError);
  EXPECT_THROW(range_values(0, 1e9, 1), ConfigError);
}

TEST(Sweep, TableStageListsAndRangesExpandToTheCartesianProduct) {
  const Experiment e = parse(kHead +
                             "[[pipeline]]\nname = \"tbb\"\n"
                             "[[pipeline.stage]]\nuse = \"hello\"\ntimes = { from = 1, to = 3, step = 1 }\n"
                             "[[pipeline.stage]]\nuse = \"cpu-tbb\"\nthreads = [1, 2]\n");
  ASSERT_EQ(e.pipelines.size(), 7u);
  EXPECT_EQ(e.pipelines[0].name, "ref");
  EXPECT_EQ(e.pipelines[1].name, "hello<times=1>,cpu-tbb<threads=1>");
  EXPECT_EQ(e.pipelines[2].name, "hello<times=1>,cpu-tbb<threads=2>");
  EXPECT_EQ(e.pipelines[6].name, "hello<times=3>,cpu-tbb<threads=2>");
  EXPECT_EQ(e.pipelines[6].text, e.pipelines[6].name);
  EXPECT_EQ(e.pipelines[6].sweep_of, "tbb");
  ASSERT_EQ(e.pipelines[6].sweep_point.size(), 2u);
  EXPECT_EQ(e.pipelines[6].sweep_point[0], (std::pair<std::string, std::string>{"hello.times", "3"}));
  EXPECT_EQ(e.pipelines[6].sweep_point[1], (std::pair<std::string, std::string>{"cpu-tbb.threads", "2"}));
  EXPECT_TRUE(e.pipelines[0].sweep_of.empty());
  EXPECT_EQ(e.baseline, 0u);
}

TEST(Sweep, TextStagesTakeASweepTable) {
  const Experiment e = parse(kHead +
                             "[[pipeline]]\nname = \"tbb\"\nstages = \"hello<times=5>,cpu-tbb<threads=1>\"\n"
                             "sweep = { \"hello.times\" = [2, 4], \"cpu-tbb.grain\" = [8] }\n");
  ASSERT_EQ(e.pipelines.size(), 3u);
  EXPECT_EQ(e.pipelines[1].name, "hello<times=2>,cpu-tbb<threads=1,grain=8>");
  EXPECT_EQ(e.pipelines[2].name, "hello<times=4>,cpu-tbb<threads=1,grain=8>");
}

TEST(Sweep, BaselineSweepKeepsItsFirstVariantAsBaseline) {
  const Experiment e = parse(kHead +
                             "[[pipeline]]\nname = \"tbb\"\nbaseline = true\nstages = \"cpu-tbb\"\n"
                             "sweep = { \"cpu-tbb.threads\" = [2, 1] }\n");
  ASSERT_EQ(e.pipelines.size(), 3u);
  EXPECT_EQ(e.baseline, 1u);
  EXPECT_TRUE(e.pipelines[1].baseline);
  EXPECT_FALSE(e.pipelines[2].baseline);
  EXPECT_EQ(e.pipelines[1].name, "cpu-tbb<threads=2>");
}

TEST(Sweep, WorkloadRangesBecomeWorkloadPoints) {
  const Experiment e = parse(std::string("[model]\nsynth = \"dim=16,hidden=32,layers=2,heads=4,kv-heads=2,vocab=64,seq=32\"\n") +
                             "[workload]\nprompt_tokens = { from = 4, to = 16, step = 4 }\ngenerate_tokens = [0, 4]\n"
                             "[[pipeline]]\nname = \"ref\"\nstages = \"cpu-ref\"\n");
  EXPECT_EQ(e.workload.prompt_tokens, (std::vector<int32_t>{4, 8, 12, 16}));
  EXPECT_EQ(e.workload.generate_tokens, (std::vector<int32_t>{0, 4}));
}

TEST(Sweep, BadSweepsAreOneLineErrorsWithPositions) {
  // Line 9 onwards: the swept pipeline.
  const std::string pipe = "[[pipeline]]\nname = \"tbb\"\nstages = \"cpu-tbb\"\n";  // 9-11
  EXPECT_NE(error_of(kHead + pipe + "sweep = { threads = [1] }\n").find("exp.toml:12:"), std::string::npos);
  EXPECT_NE(error_of(kHead + pipe + "sweep = { threads = [1] }\n").find("must be \"strategy.parameter\""), std::string::npos);
  EXPECT_NE(error_of(kHead + pipe + "sweep = { \"cpu-tbbb.threads\" = [1] }\n").find("names no stage of the pipeline (did you mean 'cpu-tbb'?)"),
            std::string::npos);
  EXPECT_NE(error_of(kHead + pipe + "sweep = { \"cpu-tbb.threads\" = [] }\n").find("must be a non-empty list or a range"), std::string::npos);
  EXPECT_NE(error_of(kHead + pipe + "sweep = { \"cpu-tbb.threads\" = [1, 1] }\n").find("lists '1' twice"), std::string::npos);
  EXPECT_NE(error_of(kHead + pipe + "sweep = { \"cpu-tbb.threads\" = { from = 1, to = 4 } }\n").find("missing 'step'"), std::string::npos);
  EXPECT_NE(error_of(kHead + pipe + "sweep = { \"cpu-tbb.threads\" = { from = 4, to = 1, step = 1 } }\n").find("below 'from'"),
            std::string::npos);
  // A variant named like another pipeline would make two rows of one name.
  EXPECT_NE(error_of(kHead + "[[pipeline]]\nname = \"cpu-tbb<threads=1>\"\nstages = \"cpu-ref\"\n" + pipe +
                     "sweep = { \"cpu-tbb.threads\" = [1, 2] }\n")
                .find("its variant 'cpu-tbb<threads=1>' is also pipeline 'cpu-tbb<threads=1>'"),
            std::string::npos);
  // Workload ranges must be integral.
  EXPECT_NE(error_of("[model]\nsynth = \"dim=16,hidden=32,layers=2,heads=4,kv-heads=2,vocab=64,seq=32\"\n"
                     "[workload]\nbatch = { from = 1, to = 2, step = 0.5 }\n[[pipeline]]\nname = \"r\"\nstages = \"cpu-ref\"\n")
                .find("exp.toml:4:9: [workload] batch range must be of integers"),
            std::string::npos);
}

TEST(Sweep, FilterKeepsMatchesAndTheBaseline) {
  Experiment e = parse(kHead + "[[pipeline]]\nname = \"tbb\"\nstages = \"cpu-tbb\"\nsweep = { \"cpu-tbb.threads\" = [1, 2, 4] }\n");
  filter_pipelines(e, "threads=[24]");
  EXPECT_EQ(names(e), (std::vector<std::string>{"ref", "cpu-tbb<threads=2>", "cpu-tbb<threads=4>"}));
  EXPECT_EQ(e.baseline, 0u);
  EXPECT_THROW(filter_pipelines(e, "nothing-matches"), ConfigError);
  EXPECT_THROW(filter_pipelines(e, "(unclosed"), ConfigError);
}

}  // namespace
}  // namespace accelab
