// Which tensors a quantization transform rewrites: f32 matrices whose name matches `include`
// and not `exclude` (norm weights are vectors and always stay f32).
#pragma once

#include <accelab/plugin.h>
#include <accelab/tensor.h>

#include <regex>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace accelab::quant {

class TensorFilter {
 public:
  /// Throws std::invalid_argument naming the parameter when a pattern is not a valid regex.
  /// An empty `exclude` excludes nothing.
  TensorFilter(const std::string& include, const std::string& exclude)
      : include_text_(include),
        exclude_text_(exclude),
        include_(compile(include, "include")),
        exclude_(compile(exclude, "exclude")),
        exclude_empty_(exclude.empty()) {}

  /// A 2-D f32 tensor that is not quantized yet.
  [[nodiscard]] static bool is_f32_matrix(const accelab_tensor& t) {
    return t.ndim == 2 && t.dtype == ACCELAB_DTYPE_F32 && t.quant.scheme == ACCELAB_QUANT_SCHEME_NONE;
  }
  [[nodiscard]] bool included(std::string_view name) const {
    return std::regex_match(name.begin(), name.end(), include_);
  }
  [[nodiscard]] bool excluded(std::string_view name) const {
    return !exclude_empty_ && std::regex_match(name.begin(), name.end(), exclude_);
  }
  /// An f32 matrix whose name is included and not excluded (patterns match the whole name).
  [[nodiscard]] bool matches(const accelab_tensor& t) const {
    const std::string_view name = t.name ? t.name : "";
    return is_f32_matrix(t) && included(name) && !excluded(name);
  }

  /// One line saying why `strategy` with these patterns converts no matrix of `model`: include
  /// matches no matrix's name, or each match is excluded or no longer an f32 matrix (converted
  /// by an earlier stage). The transforms throw it rather than run a pipeline that its name
  /// mislabels, as a pattern's typo would.
  [[nodiscard]] std::string nothing_converted(std::string_view strategy, const accelab_model& model) const {
    int64_t matrices = 0, matched = 0, excluded_count = 0, other = 0;
    std::string first_matrix, first_other;
    for (int32_t i = 0; i < model.n_tensors; ++i) {
      const accelab_tensor& t = model.tensors[i];
      if (t.ndim != 2) continue;
      const std::string_view name = t.name ? t.name : "";
      if (matrices++ == 0) first_matrix = name;
      if (!included(name)) continue;
      ++matched;
      if (excluded(name)) {
        ++excluded_count;
      } else if (!is_f32_matrix(t)) {
        if (other++ == 0) first_other = name;
      }
    }
    std::string m(strategy);
    if (matched == 0) {
      m += ": include '" + include_text_ + "' matches none of the model's " + std::to_string(matrices) +
           " matrices (names like '" + first_matrix + "'; patterns match the whole name)";
      return m;
    }
    m += ": no matrix left to convert: include '" + include_text_ + "' matches " + std::to_string(matched);
    if (excluded_count > 0) m += ", exclude '" + exclude_text_ + "' removes " + std::to_string(excluded_count);
    if (other > 0)
      m += ", and " + std::to_string(other) + " are no longer f32 (e.g. '" + first_other + "', converted by an earlier stage)";
    return m;
  }

 private:
  static std::regex compile(const std::string& pattern, const char* what) {
    try {
      return std::regex(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      std::string message = what;
      message += " pattern '";
      message += pattern;
      message += "' is not a valid regular expression: ";
      message += e.what();
      // libstdc++ words a leading '*' as mismatched parentheses; name the likely mistake.
      if (pattern.find_first_of("*?") != std::string::npos)
        message += " (patterns are regular expressions, not globs: '.*' matches any run of characters)";
      throw std::invalid_argument(message);
    }
  }
  std::string include_text_, exclude_text_;
  std::regex include_, exclude_;
  bool exclude_empty_;
};

}  // namespace accelab::quant
