#include "pipeline/pipeline_text.hpp"

#include <fmt/format.h>

#include "plugin/validate.hpp"

namespace accelab {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  std::vector<StageSpec> parse() {
    skip_ws();
    if (at_end()) fail("the pipeline is empty; expected a strategy name such as 'cpu-ref'");
    auto stages = pipeline();
    skip_ws();
    if (!at_end()) {
      if (peek() == ')') fail("unbalanced ')'");
      fail(fmt::format("unexpected '{}' after a stage; stages are separated by ','", peek()));
    }
    return stages;
  }

 private:
  std::vector<StageSpec> pipeline() {
    std::vector<StageSpec> stages;
    while (true) {
      stages.push_back(stage());
      skip_ws();
      if (at_end() || peek() != ',') break;
      ++pos_;
      skip_ws();
      if (at_end() || peek() == ')') fail("expected a stage after ','");
    }
    return stages;
  }

  StageSpec stage() {
    StageSpec s;
    s.column = pos_;
    s.name = word("strategy name");
    skip_ws();
    if (!at_end() && peek() == '<') {
      ++pos_;
      skip_ws();
      if (at_end()) fail(fmt::format("missing '>' to close the parameters of '{}'", s.name));
      if (peek() == '>') {
        ++pos_;
      } else {
        while (true) {
          s.params.push_back(param());
          skip_ws();
          if (at_end()) fail(fmt::format("missing '>' to close the parameters of '{}'", s.name));
          if (peek() == '>') {
            ++pos_;
            break;
          }
          if (peek() != ',') fail(fmt::format("expected ',' or '>' in the parameters of '{}', found '{}'", s.name, peek()));
          ++pos_;
        }
      }
      skip_ws();
    }
    if (!at_end() && peek() == '(') {
      size_t open = pos_;
      ++pos_;
      skip_ws();
      if (!at_end() && peek() == ')') fail(fmt::format("'{}' has an empty nested pipeline '()'", s.name));
      if (at_end()) fail_at(open, "unbalanced '('");
      s.children = pipeline();
      skip_ws();
      if (at_end() || peek() != ')') fail_at(open, "unbalanced '(': missing ')'");
      ++pos_;
    }
    return s;
  }

  ParamSetting param() {
    skip_ws();
    ParamSetting p;
    p.name = word("parameter name");
    skip_ws();
    if (at_end() || peek() != '=')
      fail(fmt::format("expected '=' after parameter name '{}'", p.name));
    ++pos_;
    skip_ws();
    if (at_end()) fail(fmt::format("missing value for parameter '{}'", p.name));
    char c = peek();
    if (c == '"' || c == '\'') {
      p.text = quoted(c);
    } else {
      size_t start = pos_;
      while (!at_end() && is_bare_value_char(peek())) ++pos_;
      if (pos_ == start) {
        if (!is_delimiter(peek()))
          fail(fmt::format("'{}' cannot appear in an unquoted value; quote the value of '{}'", peek(), p.name));
        fail(fmt::format("missing value for parameter '{}'", p.name));
      }
      p.text = std::string(text_.substr(start, pos_ - start));
    }
    return p;
  }

  std::string quoted(char quote) {
    size_t open = pos_++;
    std::string out;
    while (true) {
      if (at_end()) fail_at(open, "unterminated quoted value");
      char c = text_[pos_++];
      if (c == quote) return out;
      if (c == '\\') {
        if (at_end()) fail_at(open, "unterminated quoted value");
        char e = text_[pos_++];
        if (e != '"' && e != '\'' && e != '\\') fail_at(pos_ - 2, fmt::format("unknown escape '\\{}'", e));
        out += e;
      } else {
        out += c;
      }
    }
  }

  std::string word(const char* what) {
    size_t start = pos_;
    while (!at_end() && !is_delimiter(peek()) && peek() != '=') ++pos_;
    if (pos_ == start)
      fail(at_end() ? fmt::format("expected a {} at the end", what)
                    : fmt::format("expected a {}, found '{}'", what, peek()));
    std::string w(text_.substr(start, pos_ - start));
    if (!is_kebab_case(w))
      fail_at(start, fmt::format("'{}' is not a valid {} (lowercase letters, digits and single dashes)", w, what));
    return w;
  }

  // Unquoted values are numbers, words and simple patterns; anything else needs quotes.
  static bool is_bare_value_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-' || c == '+' || c == '*' || c == ':' || c == '/' ||
           c == '@' || c == '%';
  }
  static bool is_delimiter(char c) {
    return c == ',' || c == '<' || c == '>' || c == '(' || c == ')' || c == '"' || c == '\'' ||
           c == ' ' || c == '\t' || c == '\n' || c == '\r';
  }
  void skip_ws() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) ++pos_;
  }
  [[nodiscard]] bool at_end() const { return pos_ >= text_.size(); }
  [[nodiscard]] char peek() const { return text_[pos_]; }
  [[noreturn]] void fail(const std::string& why) const { fail_at(pos_, why); }
  [[noreturn]] void fail_at(size_t at, const std::string& why) const {
    throw PipelineSyntaxError(fmt::format("pipeline '{}': column {}: {}", text_, at + 1, why), at);
  }

  std::string_view text_;
  size_t pos_ = 0;
};

bool needs_quotes(const std::string& v) {
  if (v.empty()) return true;
  for (char c : v) {
    bool bare = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-' || c == '+' || c == '*' || c == ':' ||
                c == '/' || c == '@' || c == '%';
    if (!bare) return true;
  }
  return false;
}

void write_stages(std::string& out, const std::vector<StageSpec>& stages) {
  for (size_t i = 0; i < stages.size(); ++i) {
    if (i) out += ',';
    const StageSpec& s = stages[i];
    out += s.name;
    if (!s.params.empty()) {
      out += '<';
      for (size_t j = 0; j < s.params.size(); ++j) {
        if (j) out += ',';
        out += s.params[j].name;
        out += '=';
        if (!needs_quotes(s.params[j].text)) {
          out += s.params[j].text;
        } else {
          out += '"';
          for (char c : s.params[j].text) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
          }
          out += '"';
        }
      }
      out += '>';
    }
    if (!s.children.empty()) {
      out += '(';
      write_stages(out, s.children);
      out += ')';
    }
  }
}

}  // namespace

std::vector<StageSpec> parse_pipeline_text(std::string_view text) { return Parser(text).parse(); }

std::string to_pipeline_text(const std::vector<StageSpec>& stages) {
  std::string out;
  write_stages(out, stages);
  return out;
}

}  // namespace accelab
