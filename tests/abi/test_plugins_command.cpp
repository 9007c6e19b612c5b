// `accelab plugins` on the fixture directory: it succeeds, names every rejected file with the
// same reason the registry gives, and its JSON output carries the same information.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "fixture_registry.hpp"

namespace accelab {
namespace {

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

// Runs bin/accelab with `args` (shell syntax) and captures its standard output.
CommandResult run_accelab(const std::string& args) {
  ::unsetenv("ACCELAB_PLUGIN_PATH");  // only the fixture and default directories
  std::string command = std::string("'") + ACCELAB_EXE + "' " + args;
  CommandResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.output.append(buffer.data(), n);
  int status = ::pclose(pipe);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

const std::string kFixtureArg = std::string("--plugin-path '") + ACCELAB_FIXTURE_DIR + "'";

TEST(PluginsCommand, VerboseListsEveryRejectedFileWithItsReason) {
  CommandResult r = run_accelab("plugins -v " + kFixtureArg + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (std::string_view file : test::kBrokenFixtures) {
    const Rejection* rejection = test::fixture_rejection(file);
    ASSERT_NE(rejection, nullptr) << file;
    EXPECT_NE(r.output.find(file), std::string::npos) << file << " missing from:\n" << r.output;
    EXPECT_NE(r.output.find(rejection->reason), std::string::npos)
        << "reason for " << file << " (" << rejection->reason << ") missing from:\n"
        << r.output;
  }
  EXPECT_NE(r.output.find("c-fixture"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("create-throws"), std::string::npos) << r.output;
}

TEST(PluginsCommand, PlainListingOnlyCountsRejectedFiles) {
  CommandResult r = run_accelab("plugins " + kFixtureArg + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (std::string_view file : test::kBrokenFixtures) {
    const Rejection* rejection = test::fixture_rejection(file);
    ASSERT_NE(rejection, nullptr) << file;
    EXPECT_EQ(r.output.find(rejection->reason), std::string::npos) << r.output;
  }
}

TEST(PluginsCommand, JsonListsPluginsAndRejections) {
  CommandResult r = run_accelab("plugins --json " + kFixtureArg);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  nlohmann::json doc = nlohmann::json::parse(r.output);

  ASSERT_TRUE(doc.contains("rejected") && doc["rejected"].is_array()) << r.output;
  for (std::string_view file : test::kBrokenFixtures) {
    const Rejection* rejection = test::fixture_rejection(file);
    ASSERT_NE(rejection, nullptr) << file;
    bool found = false;
    for (const auto& entry : doc["rejected"])
      if (entry.at("path").get<std::string>() == rejection->path.string()) {
        found = true;
        EXPECT_EQ(entry.at("reason").get<std::string>(), rejection->reason);
      }
    EXPECT_TRUE(found) << file << " missing from \"rejected\"";
  }

  ASSERT_TRUE(doc.contains("plugins") && doc["plugins"].is_array()) << r.output;
  const nlohmann::json* c_fixture = nullptr;
  for (const auto& plugin : doc["plugins"])
    for (const auto& strategy : plugin.at("strategies"))
      if (strategy.at("name") == "c-fixture") {
        c_fixture = &strategy;
        EXPECT_EQ(plugin.at("name"), "c-plugin");
        EXPECT_EQ(plugin.at("abi").at("major"), ACCELAB_ABI_MAJOR);
        EXPECT_EQ(plugin.at("sha256").get<std::string>().size(), 64U);
      }
  ASSERT_NE(c_fixture, nullptr) << r.output;
  EXPECT_EQ(c_fixture->at("available"), true);
  const auto& params = c_fixture->at("params");
  ASSERT_EQ(params.size(), 2U);
  EXPECT_EQ(params[0].at("name"), "threads");
  EXPECT_EQ(params[0].at("default"), 1);
  EXPECT_EQ(params[0].at("min"), 1);
  EXPECT_EQ(params[0].at("max"), 64);
  EXPECT_EQ(params[1].at("name"), "mode");
  EXPECT_EQ(params[1].at("default"), "fast");
}

}  // namespace
}  // namespace accelab
