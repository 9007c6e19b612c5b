// Appends one JSON object per line and flushes it at once, so an interrupted or crashed run
// keeps every line written before.
#pragma once

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

namespace accelab {

class JsonlWriter {
 public:
  /// Creates (truncates) `path`; throws FileError.
  explicit JsonlWriter(const std::string& path);
  ~JsonlWriter();
  JsonlWriter(const JsonlWriter&) = delete;
  JsonlWriter& operator=(const JsonlWriter&) = delete;

  /// Writes `record` as one line and flushes it to the kernel.
  void write(const nlohmann::json& record);
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::FILE* file_;
};

/// Writes `text` to `path` (replacing it) via a temporary file; throws FileError.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace accelab
