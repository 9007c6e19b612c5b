// Host logging to stderr, filtered by a process-wide verbosity.
#pragma once

#include <fmt/core.h>

#include <string_view>

namespace accelab::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

/// Messages below this level are dropped (default: info).
void set_threshold(Level level);
[[nodiscard]] Level threshold();
/// Writes "accelab: <level>: <message>" (debug/info without the level word) to stderr.
void write(Level level, std::string_view message);

template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (threshold() <= Level::info) write(Level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (threshold() <= Level::debug) write(Level::debug, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::warn, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace accelab::log
