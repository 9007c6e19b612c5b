#include "util/log.hpp"

#include <atomic>
#include <cstdio>

namespace accelab::log {
namespace {
std::atomic<Level> g_threshold{Level::info};
}

void set_threshold(Level level) { g_threshold = level; }
Level threshold() { return g_threshold; }

void write(Level level, std::string_view message) {
  if (level < g_threshold.load()) return;
  const char* tag = level == Level::warn ? "warning: " : level == Level::error ? "error: " : "";
  fmt::print(stderr, "accelab: {}{}\n", tag, message);
}

}  // namespace accelab::log
