// Which tensors a quantization transform rewrites: f32 matrices whose name matches `include`
// and not `exclude` (norm weights are vectors and always stay f32).
#pragma once

#include <accelab/tensor.h>

#include <regex>
#include <stdexcept>
#include <string>
#include <string_view>

namespace accelab::quant {

class TensorFilter {
 public:
  /// Throws std::invalid_argument naming the parameter when a pattern is not a valid regex.
  /// An empty `exclude` excludes nothing.
  TensorFilter(const std::string& include, const std::string& exclude)
      : include_(compile(include, "include")),
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
  std::regex include_, exclude_;
  bool exclude_empty_;
};

}  // namespace accelab::quant
