// Planning pipeline text against the plugins built in this tree (cpu-ref, hello).
#include <gtest/gtest.h>

#include "support/default_registry.hpp"
#include "pipeline/planner.hpp"
#include "util/error.hpp"

namespace accelab {
namespace {

const PluginRegistry& registry() { return test_support::default_registry(); }

std::string error_of(const std::string& text) {
  try {
    plan_pipeline(registry(), text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Planner, FindsTheInTreePlugins) {
  ASSERT_NE(registry().find("cpu-ref"), nullptr) << "build the plugins first";
  ASSERT_NE(registry().find("hello"), nullptr);
}

TEST(Planner, BackendOnly) {
  Plan p = plan_pipeline(registry(), "cpu-ref");
  EXPECT_TRUE(p.transforms.empty());
  EXPECT_EQ(p.backend.strategy->name(), "cpu-ref");
  EXPECT_EQ(p.text, "cpu-ref");
}

TEST(Planner, TransformsThenBackendWithDefaultsFilled) {
  Plan p = plan_pipeline(registry(), "hello<times=3>, hello, cpu-ref");
  ASSERT_EQ(p.transforms.size(), 2u);
  EXPECT_EQ(p.transforms[0].params.values.at(0).i, 3);
  EXPECT_EQ(p.transforms[1].params.values.at(0).i, 1);  // the declared default
  EXPECT_EQ(p.text, "hello<times=3>,hello,cpu-ref");
}

TEST(Planner, UnknownStrategyListsAvailableAndSuggests) {
  std::string e = error_of("cpu-reff");
  EXPECT_NE(e.find("unknown strategy 'cpu-reff'"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'cpu-ref'"), std::string::npos) << e;
  EXPECT_NE(e.find("available: "), std::string::npos) << e;
}

TEST(Planner, ParameterErrors) {
  EXPECT_NE(error_of("hello<time=2>,cpu-ref").find("did you mean 'times'"), std::string::npos);
  EXPECT_NE(error_of("hello<times=11>,cpu-ref").find("out of range [1, 10]"), std::string::npos);
  EXPECT_NE(error_of("hello<times=two>,cpu-ref").find("is not an integer"), std::string::npos);
  EXPECT_NE(error_of("hello<times=1,times=2>,cpu-ref").find("given twice"), std::string::npos);
  EXPECT_NE(error_of("cpu-ref<threads=2>").find("its parameters are: (none)"), std::string::npos);
}

TEST(Planner, StageOrderErrors) {
  EXPECT_NE(error_of("hello").find("ends with transform"), std::string::npos);
  EXPECT_NE(error_of("cpu-ref,hello").find("must be the last stage"), std::string::npos);
  EXPECT_NE(error_of("cpu-ref(cpu-ref)").find("takes no nested pipeline"), std::string::npos);
  EXPECT_NE(error_of("hello(cpu-ref),cpu-ref").find("takes no nested pipeline"), std::string::npos);
}

}  // namespace
}  // namespace accelab
