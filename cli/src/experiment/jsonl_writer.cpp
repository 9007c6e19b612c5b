#include "experiment/jsonl_writer.hpp"

#include <filesystem>

#include "util/error.hpp"

namespace accelab {

JsonlWriter::JsonlWriter(const std::string& path) : path_(path), file_(std::fopen(path.c_str(), "w")) {
  if (file_ == nullptr) throw FileError(path + ": cannot create");
}

JsonlWriter::~JsonlWriter() {
  if (file_) std::fclose(file_);
}

void JsonlWriter::write(const nlohmann::json& record) {
  std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line += '\n';
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
    throw FileError(path_ + ": write failed (disk full?)");
}

void write_file_atomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".partial";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) throw FileError(tmp + ": cannot create");
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fclose(f) == 0 && ok;
  if (!ok) throw FileError(tmp + ": write failed (disk full?)");
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw FileError(path + ": cannot replace: " + ec.message());
}

}  // namespace accelab
