// The one-line pipeline text, in the spirit of LLVM's -passes=:
//
//   pipeline := stage ("," stage)*
//   stage    := name ["<" [param ("," param)*] ">"] ["(" pipeline ")"]
//   param    := key "=" value
//   value    := bare | "double-quoted" | 'single-quoted'      (\" \' \\ escapes inside quotes)
//
// e.g. `quant-int8<group=32>,cpu-tbb<threads=2>` or `data-parallel<workers=2>(cpu-ref)`.
// Names and keys are kebab-case; unquoted values may hold letters, digits and . _ - + * : / @ %.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "plugin/instance.hpp"
#include "util/error.hpp"

namespace accelab {

/// One stage as written: a strategy name, its parameters, and an optional nested pipeline.
struct StageSpec {
  std::string name;
  std::vector<ParamSetting> params;
  std::vector<StageSpec> children;
  size_t column = 0;  ///< 0-based offset of the name in the text.
};

/// A syntax error, with the 0-based offset in the text where it was found.
class PipelineSyntaxError : public ConfigError {
 public:
  PipelineSyntaxError(const std::string& message, size_t offset)
      : ConfigError(message), offset_(offset) {}
  [[nodiscard]] size_t offset() const { return offset_; }

 private:
  size_t offset_;
};

/// Parses pipeline text. Throws PipelineSyntaxError: "pipeline 'TEXT': column N: what is wrong".
std::vector<StageSpec> parse_pipeline_text(std::string_view text);

/// Writes stages back as canonical text (quoting values that need it); parses to the same stages.
std::string to_pipeline_text(const std::vector<StageSpec>& stages);

}  // namespace accelab
