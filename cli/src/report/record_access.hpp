// Reading a results.json record that may be cut short (a crash mid-run leaves null or missing
// fields): every accessor returns null/empty instead of throwing. Shared by the report views
// and `accelab compare`.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace accelab::report {

/// The value at a '/'-separated key path, or null when any step is missing or not an object.
/// Returning a reference to a shared null keeps every caller free of existence checks.
inline const nlohmann::json& at(const nlohmann::json& j, std::string_view path) {
  static const nlohmann::json null_value;
  const nlohmann::json* cur = &j;
  while (!path.empty()) {
    const size_t slash = path.find('/');
    const std::string key(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    if (!cur->is_object()) return null_value;
    const auto it = cur->find(key);
    if (it == cur->end()) return null_value;
    cur = &*it;
  }
  return *cur;
}

inline std::optional<double> number(const nlohmann::json& v) {
  if (!v.is_number()) return std::nullopt;
  return v.get<double>();
}

inline std::string text(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : std::string(); }

/// Integers as integers, other numbers as the shortest text that reads back the same.
inline std::string number_text(const nlohmann::json& v) {
  if (v.is_number_unsigned()) return fmt::format("{}", v.get<uint64_t>());
  if (v.is_number_integer()) return fmt::format("{}", v.get<int64_t>());
  if (v.is_number_float()) return fmt::format("{}", v.get<double>());
  return {};
}

inline const nlohmann::json& array_at(const nlohmann::json& j, std::string_view path) {
  static const nlohmann::json empty = nlohmann::json::array();
  const nlohmann::json& v = at(j, path);
  return v.is_array() ? v : empty;
}

inline const nlohmann::json& rows_of(const nlohmann::json& results) { return array_at(results, "rows"); }

/// "pp128+tg128 b1" ("?" for a missing part, "-" for no workload); with `with_model`, led by the
/// row's model.
inline std::string workload_label(const nlohmann::json& row, bool with_model = false) {
  const std::string model = with_model ? text(at(row, "model")) : std::string();
  if (!model.empty()) return model + " " + workload_label(row, false);
  const nlohmann::json& w = at(row, "workload");
  const std::string pp = number_text(at(w, "prompt_tokens"));
  const std::string tg = number_text(at(w, "generate_tokens"));
  const std::string batch = number_text(at(w, "batch"));
  if (pp.empty() && tg.empty() && batch.empty()) return "-";
  const auto part = [](const std::string& x) { return x.empty() ? std::string("?") : x; };
  return fmt::format("pp{}+tg{} b{}", part(pp), part(tg), part(batch));
}

inline bool is_failed(const nlohmann::json& row) { return at(row, "status") == "failed"; }

}  // namespace accelab::report
