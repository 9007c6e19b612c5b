// Loads the fixture plugins through the registry: every broken file is rejected with a reason
// that names its flaw, the good ones load, and parameters are checked before plugin code runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "fixture_registry.hpp"
#include "plugin/instance.hpp"
#include "util/error.hpp"

namespace accelab {
namespace {

using test::fixture_registry;
using test::fixture_rejection;

testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

struct BrokenFixture {
  const char* file;
  const char* reason_mentions;
};

// Keeps test names readable: gtest would otherwise print the struct's bytes.
void PrintTo(const BrokenFixture& f, std::ostream* os) {
  *os << f.file << " mentions '" << f.reason_mentions << "'";
}

class Rejected : public testing::TestWithParam<BrokenFixture> {};

TEST_P(Rejected, ReasonNamesTheFlaw) {
  const Rejection* r = fixture_rejection(GetParam().file);
  ASSERT_NE(r, nullptr) << GetParam().file << " was not rejected";
  EXPECT_TRUE(contains(r->reason, GetParam().reason_mentions));
  EXPECT_EQ(r->reason.find('\n'), std::string::npos) << "reason is not one line: " << r->reason;
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, Rejected,
    testing::Values(BrokenFixture{"bad_major.so", "major"},
                    BrokenFixture{"newer_minor.so", "minor"},
                    BrokenFixture{"no_entry.so", "accelab_plugin_entry"},
                    BrokenFixture{"entry_throws.so", "threw"},
                    BrokenFixture{"entry_throws.so", "deliberate failure in accelab_plugin_entry"},
                    BrokenFixture{"null_entry.so", "NULL"}, BrokenFixture{"bad_name.so", "kebab"},
                    BrokenFixture{"bad_name.so", "Bad_Name"},
                    BrokenFixture{"small_struct.so", "struct_size"},
                    BrokenFixture{"garbage.so", "ELF header"}),  // dlerror()'s own words
    [](const testing::TestParamInfo<BrokenFixture>& info) {
      std::string name = info.param.file;
      name = name.substr(0, name.find('.')) + "_" + std::to_string(info.index);
      return name;
    });

TEST(FixtureDirectory, RejectsExactlyTheBrokenFiles) {
  std::vector<std::string> rejected;
  for (const auto& r : fixture_registry().rejections())
    rejected.push_back(r.path.filename().string());
  std::sort(rejected.begin(), rejected.end());
  std::vector<std::string> expected(std::begin(test::kBrokenFixtures),
                                    std::end(test::kBrokenFixtures));
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(rejected, expected);
}

TEST(FixtureDirectory, LoadsTheCAndCreateThrowsPlugins) {
  std::vector<std::string> loaded;
  for (const auto& p : fixture_registry().plugins()) loaded.push_back(p->path.filename().string());
  std::sort(loaded.begin(), loaded.end());
  EXPECT_EQ(loaded, (std::vector<std::string>{"c_plugin.so", "create_throws.so"}));
  EXPECT_EQ(fixture_registry().strategy_names(),
            (std::vector<std::string>{"c-fixture", "create-throws"}));
}

TEST(FixtureDirectory, FindsStrategiesByName) {
  const LoadedStrategy* s = fixture_registry().find("create-throws");
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->available());
  EXPECT_EQ(s->table->kind, ACCELAB_STRATEGY_BACKEND);
  EXPECT_EQ(s->plugin->path.filename().string(), "create_throws.so");
  EXPECT_EQ(s->plugin->sha256.size(), 64U);
  EXPECT_EQ(fixture_registry().find("Bad_Name"), nullptr);
  EXPECT_EQ(fixture_registry().find("no-such-strategy"), nullptr);
}

TEST(StrategyInstance, ConstructorExceptionBecomesPluginError) {
  const LoadedStrategy* s = fixture_registry().find("create-throws");
  ASSERT_NE(s, nullptr);
  try {
    StrategyInstance instance(*s, resolve_params(*s, {}));
    FAIL() << "create-throws was created";
  } catch (const PluginError& e) {
    EXPECT_TRUE(contains(e.what(), "deliberate failure in create"));
    EXPECT_TRUE(contains(e.what(), "create-throws"));
  }
}

TEST(StrategyInstance, CPluginReceivesParamsAndReportsStatus) {
  const LoadedStrategy* s = fixture_registry().find("c-fixture");
  ASSERT_NE(s, nullptr);
  StrategyInstance instance(*s, resolve_params(*s, {{"threads", "4"}, {"mode", "exact"}}));
  ASSERT_NE(instance.handle(), nullptr);
  accelab_error err{};
  // c-fixture ignores the graph and node, so none is needed to reach its message.
  accelab_status status =
      instance.table().backend->supports(instance.handle(), nullptr, nullptr, &err);
  EXPECT_EQ(status, ACCELAB_STATUS_UNSUPPORTED);
  try {
    instance.check(status, err, "supports");
    FAIL() << "check accepted UNSUPPORTED";
  } catch (const PluginError& e) {
    EXPECT_TRUE(contains(e.what(), "c-fixture executes no operation (threads=4, mode=exact)"));
  }
}

class CFixtureParams : public testing::Test {
 protected:
  const LoadedStrategy& strategy() {
    const LoadedStrategy* s = fixture_registry().find("c-fixture");
    if (s == nullptr) throw std::runtime_error("c-fixture was not loaded");
    return *s;
  }
  // The ConfigError message for these settings, or "" when none was thrown.
  std::string error_for(const std::vector<ParamSetting>& given) {
    try {
      resolve_params(strategy(), given);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  }
};

TEST_F(CFixtureParams, DefaultsFillDeclarationOrder) {
  ParamValues p = resolve_params(strategy(), {});
  ASSERT_EQ(p.values.size(), 2U);
  EXPECT_EQ(p.values[0].type, ACCELAB_PARAM_INT);
  EXPECT_EQ(p.values[0].i, 1);
  EXPECT_EQ(p.values[1].type, ACCELAB_PARAM_STRING);
  EXPECT_STREQ(p.values[1].s, "fast");
}

TEST_F(CFixtureParams, GivenValuesLandInDeclarationOrder) {
  ParamValues p = resolve_params(strategy(), {{"mode", "exact"}, {"threads", "64"}});
  ASSERT_EQ(p.values.size(), 2U);
  EXPECT_EQ(p.values[0].i, 64);
  EXPECT_STREQ(p.values[1].s, "exact");
}

TEST_F(CFixtureParams, UnknownNameSuggestsTheClosestOne) {
  std::string message = error_for({{"treads", "2"}});
  EXPECT_TRUE(contains(message, "treads"));
  EXPECT_TRUE(contains(message, "threads"));
  EXPECT_TRUE(contains(message, "c-fixture"));
}

TEST_F(CFixtureParams, OutOfRangeIsRejected) {
  EXPECT_TRUE(contains(error_for({{"threads", "0"}}), "threads"));
  EXPECT_TRUE(contains(error_for({{"threads", "65"}}), "threads"));
}

TEST_F(CFixtureParams, WrongTypeIsRejected) {
  EXPECT_TRUE(contains(error_for({{"threads", "many"}}), "threads"));
  EXPECT_TRUE(contains(error_for({{"threads", "2.5"}}), "threads"));
}

TEST_F(CFixtureParams, StringOutsideChoicesIsRejected) {
  EXPECT_TRUE(contains(error_for({{"mode", "slow"}}), "slow"));
}

}  // namespace
}  // namespace accelab
