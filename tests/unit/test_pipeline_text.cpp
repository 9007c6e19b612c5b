// The one-line pipeline grammar: what parses, how it prints back, and where errors point.
#include <gtest/gtest.h>

#include "pipeline/pipeline_text.hpp"

namespace accelab {
namespace {

TEST(PipelineText, SingleStage) {
  auto s = parse_pipeline_text("cpu-ref");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].name, "cpu-ref");
  EXPECT_TRUE(s[0].params.empty());
  EXPECT_TRUE(s[0].children.empty());
}

TEST(PipelineText, StagesWithParameters) {
  auto s = parse_pipeline_text("quant-int8<group=32>,cpu-tbb<threads=2,pin=true>");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].name, "quant-int8");
  ASSERT_EQ(s[0].params.size(), 1u);
  EXPECT_EQ(s[0].params[0].name, "group");
  EXPECT_EQ(s[0].params[0].text, "32");
  ASSERT_EQ(s[1].params.size(), 2u);
  EXPECT_EQ(s[1].params[1].name, "pin");
  EXPECT_EQ(s[1].params[1].text, "true");
  EXPECT_EQ(s[1].column, 21u);
}

TEST(PipelineText, WhitespaceIsIgnoredBetweenTokens) {
  auto s = parse_pipeline_text("  quant-int8 < group = 32 > ,\tcpu-ref  ");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].params[0].text, "32");
  EXPECT_EQ(s[1].name, "cpu-ref");
}

TEST(PipelineText, NegativeAndFloatValues) {
  auto s = parse_pipeline_text("x<a=-1,b=0.25,c=1e-3>");
  EXPECT_EQ(s[0].params[0].text, "-1");
  EXPECT_EQ(s[0].params[1].text, "0.25");
  EXPECT_EQ(s[0].params[2].text, "1e-3");
}

TEST(PipelineText, QuotedValuesKeepDelimitersAndEscapes) {
  auto s = parse_pipeline_text(R"(quant-int8<include="blk.*,output",exclude='a>b',note="say \"hi\" \\ ok">)");
  ASSERT_EQ(s[0].params.size(), 3u);
  EXPECT_EQ(s[0].params[0].text, "blk.*,output");
  EXPECT_EQ(s[0].params[1].text, "a>b");
  EXPECT_EQ(s[0].params[2].text, R"(say "hi" \ ok)");
}

TEST(PipelineText, EmptyParameterList) {
  auto s = parse_pipeline_text("cpu-ref<>");
  EXPECT_TRUE(s[0].params.empty());
}

TEST(PipelineText, Nesting) {
  auto s = parse_pipeline_text("prune-magnitude<sparsity=0.5>,data-parallel<workers=2>(cpu-tbb<threads=1>)");
  ASSERT_EQ(s.size(), 2u);
  ASSERT_EQ(s[1].children.size(), 1u);
  EXPECT_EQ(s[1].children[0].name, "cpu-tbb");
  EXPECT_EQ(s[1].children[0].params[0].text, "1");
}

TEST(PipelineText, DeepNesting) {
  auto s = parse_pipeline_text("a(b(c<x=1>,d),e)");
  ASSERT_EQ(s[0].children.size(), 2u);
  EXPECT_EQ(s[0].children[0].children.size(), 2u);
  EXPECT_EQ(s[0].children[0].children[0].params[0].text, "1");
  EXPECT_EQ(s[0].children[1].name, "e");
}

TEST(PipelineText, RoundTripsThroughCanonicalText) {
  for (const char* text :
       {"cpu-ref", "quant-int8<group=32>,cpu-tbb<threads=2>", "a<x=\"a,b\">(b<y=\"q\\\"\">)",
        "a<v=\"\">", "m<p=\"x=y\">"}) {
    auto once = parse_pipeline_text(text);
    std::string canonical = to_pipeline_text(once);
    auto twice = parse_pipeline_text(canonical);
    EXPECT_EQ(to_pipeline_text(twice), canonical) << text;
    ASSERT_EQ(once.size(), twice.size());
    for (size_t i = 0; i < once.size(); ++i)
      for (size_t j = 0; j < once[i].params.size(); ++j)
        EXPECT_EQ(once[i].params[j].text, twice[i].params[j].text) << text;
  }
  EXPECT_EQ(to_pipeline_text(parse_pipeline_text(" a < x = 1 > , b ")), "a<x=1>,b");
}

struct BadCase {
  const char* text;
  size_t column;      // 1-based column the message must name
  const char* words;  // a fragment the message must contain
};

class PipelineTextErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(PipelineTextErrors, NameColumnAndProblem) {
  const BadCase& c = GetParam();
  try {
    parse_pipeline_text(c.text);
    FAIL() << "no error for '" << c.text << "'";
  } catch (const PipelineSyntaxError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("column " + std::to_string(c.column) + ":"), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.words), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
    EXPECT_EQ(e.offset() + 1, c.column);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Negative, PipelineTextErrors,
    ::testing::Values(BadCase{"", 1, "empty"}, BadCase{"   ", 4, "empty"},
                      BadCase{"cpu-ref<", 9, "'>'"}, BadCase{"cpu-ref<threads=2", 18, "'>'"},
                      BadCase{"cpu-ref<threads>", 16, "expected '='"},
                      BadCase{"cpu-ref<threads=>", 17, "missing value"},
                      BadCase{"cpu-ref<=2>", 9, "parameter name"},
                      BadCase{"cpu-ref<a=1;b=2>", 12, "expected ',' or '>'"},
                      BadCase{"cpu-ref,", 9, "expected a stage after ','"},
                      BadCase{",cpu-ref", 1, "strategy name"},
                      BadCase{"a,,b", 3, "strategy name"},
                      BadCase{"Cpu_Ref", 1, "not a valid strategy name"},
                      BadCase{"cpu-ref<Threads=2>", 9, "not a valid parameter name"},
                      BadCase{"a(b", 2, "missing ')'"}, BadCase{"a()", 3, "empty nested"},
                      BadCase{"a)", 2, "unbalanced ')'"},
                      BadCase{"a<x=\"abc>", 5, "unterminated"},
                      BadCase{"a<x=\"a\\n\">", 7, "unknown escape"},
                      BadCase{"a b", 3, "separated by ','"},
                      BadCase{"a<x=1>b", 7, "separated by ','"}));

}  // namespace
}  // namespace accelab
