// The host's exception hierarchy. Every error the user can cause is one of these:
// main() prints what() on one line and exits with exit_code().
#pragma once

#include <stdexcept>
#include <string>

namespace accelab {

/// Base of all host errors; the message is a complete one-line sentence.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, int exit_code = 1)
      : std::runtime_error(message), exit_code_(exit_code) {}
  [[nodiscard]] int exit_code() const noexcept { return exit_code_; }

 private:
  int exit_code_;
};

/// Bad command-line usage (unknown flag, missing argument). Exit code 2.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(message, 2) {}
};

/// A file that cannot be read or whose contents are malformed. Exit code 3.
/// The message names the file.
class FileError : public Error {
 public:
  explicit FileError(const std::string& message) : Error(message, 3) {}
};

/// A plugin that cannot be loaded or that reported a failure. Exit code 4.
class PluginError : public Error {
 public:
  explicit PluginError(const std::string& message) : Error(message, 4) {}
};

/// A pipeline or experiment that is invalid (unknown strategy, bad parameter). Exit code 5.
class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& message) : Error(message, 5) {}
};

}  // namespace accelab
