#include <gtest/gtest.h>
#include <sys/mman.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "env/environment.hpp"
#include "env/resources.hpp"

namespace accelab {
namespace {

using nlohmann::json;

constexpr size_t kTouchBytes = 64u << 20;
// RSS counters are maintained lazily (per-CPU batches), so allow some slack below the
// allocation size when checking that it shows up.
constexpr uint64_t kSeenBytes = kTouchBytes * 3 / 4;

/// An anonymous mapping with every page written, so it is resident until unmapped. mmap
/// rather than new: the compiler cannot drop the memset as a dead store before munmap.
class TouchedMapping {
 public:
  TouchedMapping() {
    void* p =
        mmap(nullptr, kTouchBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
      data_ = p;
      std::memset(data_, 0x5a, kTouchBytes);
    }
  }
  ~TouchedMapping() { release(); }
  TouchedMapping(const TouchedMapping&) = delete;
  TouchedMapping& operator=(const TouchedMapping&) = delete;
  [[nodiscard]] bool ok() const { return data_ != nullptr; }
  void release() {
    if (data_ != nullptr) munmap(data_, kTouchBytes);
    data_ = nullptr;
  }

 private:
  void* data_ = nullptr;
};

TEST(EnvironmentCpu, DescribesThisMachine) {
  const CpuInfo cpu = read_cpu_info();
  EXPECT_FALSE(cpu.model.empty());
  EXPECT_GE(cpu.logical_cores, 1);
  EXPECT_GE(cpu.physical_cores, 1);
  EXPECT_LE(cpu.physical_cores, cpu.logical_cores);
#if defined(__x86_64__)
  EXPECT_NE(std::find(cpu.flags.begin(), cpu.flags.end(), "sse2"), cpu.flags.end());
#else
  GTEST_SKIP() << "the sse2 flag check applies to x86-64 only";
#endif
}

TEST(EnvironmentJson, HasEveryDocumentedKeyWithItsType) {
  const json env = environment_json();
  ASSERT_TRUE(env.is_object());

  const json& cpu = env.at("cpu");
  EXPECT_TRUE(cpu.at("model").is_string());
  ASSERT_TRUE(cpu.at("flags").is_array());
  for (const json& flag : cpu.at("flags")) EXPECT_TRUE(flag.is_string());
  EXPECT_TRUE(cpu.at("logical_cores").is_number_integer());
  EXPECT_TRUE(cpu.at("physical_cores").is_number_integer());
  EXPECT_TRUE(cpu.at("caches").is_string());

  ASSERT_TRUE(env.at("memory_bytes").is_number_unsigned());
  EXPECT_GT(env.at("memory_bytes").get<uint64_t>(), 0u);

  for (const char* key : {"kernel", "system", "machine", "hostname"}) {
    EXPECT_TRUE(env.at("os").at(key).is_string()) << key;
  }
  EXPECT_EQ(env.at("os").at("system"), "Linux");
  // The mode in brackets in /sys/kernel/mm/transparent_hugepage/enabled, or null without it.
  const auto& thp = env.at("os").at("transparent_hugepages");
  if (!thp.is_null()) {
    EXPECT_TRUE(thp == "always" || thp == "madvise" || thp == "never") << thp;
  }

  for (const char* key : {"id", "version", "flags"}) {
    EXPECT_TRUE(env.at("compiler").at(key).is_string()) << key;
  }
  EXPECT_NE(env.at("compiler").at("id"), "unknown");
  EXPECT_TRUE(env.at("build_type").is_string());

  const json& git = env.at("git");
  EXPECT_TRUE(git.at("commit").is_string() || git.at("commit").is_null());
  EXPECT_TRUE(git.at("dirty").is_boolean() || git.at("dirty").is_null());

  const json& libs = env.at("libraries");
  for (const char* key : {"boost", "fmt", "nlohmann_json"}) {
    ASSERT_TRUE(libs.at(key).is_string()) << key;
    EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(libs.at(key).get<std::string>()[0])))
        << key;
  }
  for (const char* key : {"tomlplusplus", "eigen", "tbb"}) {
    if (libs.contains(key)) {
      EXPECT_TRUE(libs.at(key).is_string()) << key;
    }
  }
  EXPECT_FALSE(libs.contains("gtest"));

  EXPECT_TRUE(env.at("accelab_version").is_string());
  EXPECT_TRUE(env.at("plugin_abi").at("major").is_number_integer());
  EXPECT_TRUE(env.at("plugin_abi").at("minor").is_number_integer());
  EXPECT_TRUE(env.at("gpu").is_null());
}

TEST(EnvironmentJson, GitCommitIsAnObjectIdOrNull) {
  const json git = environment_json().at("git");
  if (git.at("commit").is_null()) {
    EXPECT_TRUE(git.at("dirty").is_null());
    return;
  }
  const std::string commit = git.at("commit").get<std::string>();
  // 40 hex digits for SHA-1 repositories, 64 for SHA-256 ones.
  EXPECT_TRUE(commit.size() == 40 || commit.size() == 64) << commit;
  EXPECT_TRUE(std::all_of(commit.begin(), commit.end(), [](unsigned char c) {
    return std::isxdigit(c);
  })) << commit;
}

TEST(EnvironmentResources, PeakGrowsWithTouchedMemory) {
  const uint64_t current_before = current_rss_bytes();
  const uint64_t peak_before = peak_rss_bytes();
  ASSERT_GT(current_before, 0u);
  ASSERT_GT(peak_before, 0u);

  TouchedMapping mapping;
  ASSERT_TRUE(mapping.ok());
  const uint64_t current_after = current_rss_bytes();
  const uint64_t peak_after = peak_rss_bytes();
  EXPECT_GE(current_after, current_before + kSeenBytes);
  EXPECT_GE(peak_after, current_after);
  EXPECT_GE(peak_after, std::max(peak_before, current_before + kSeenBytes));
}

TEST(EnvironmentResources, ResetForgetsFreedMemory) {
  TouchedMapping mapping;
  ASSERT_TRUE(mapping.ok());
  const uint64_t peak_with = peak_rss_bytes();
  mapping.release();
  if (!reset_peak_rss()) GTEST_SKIP() << "/proc/self/clear_refs is not writable here";

  const uint64_t current = current_rss_bytes();
  const uint64_t peak_after = peak_rss_bytes();
  EXPECT_LE(peak_after + kSeenBytes, peak_with);
  EXPECT_GE(peak_after, current);
}

}  // namespace
}  // namespace accelab
