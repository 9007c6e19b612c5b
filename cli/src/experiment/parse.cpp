// Experiment files, read with toml++. Every problem is reported with its file:line:column.
#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <toml++/toml.h>

#include "commands/common.hpp"
#include "experiment/experiment.hpp"
#include "experiment/sweep.hpp"
#include "model/synth.hpp"
#include "util/sha256.hpp"
#include "util/suggest.hpp"

namespace fs = std::filesystem;

namespace accelab {

std::string SourcePos::str() const { return fmt::format("{}:{}:{}", file, line, column); }

std::string resolve_experiment_path(const std::string& value, const std::string& base_dir) {
  std::string out = value;
  for (const char* var : {"${ACCELAB_DATA}", "$ACCELAB_DATA"}) {
    size_t at = out.find(var);
    // Built anew rather than with replace(): GCC 12 reports a false -Wrestrict for that.
    if (at != std::string::npos)
      out = out.substr(0, at) + data_dir() + out.substr(at + std::string_view(var).size());
  }
  fs::path p(out);
  if (p.is_relative()) p = fs::path(base_dir) / p;
  return p.lexically_normal().string();
}

namespace {

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  SourcePos pos(const toml::source_region& r) const { return {file_, r.begin.line, r.begin.column}; }
  SourcePos pos(const toml::node& n) const { return pos(n.source()); }
  [[noreturn]] void fail(const toml::node& n, const std::string& what) const {
    throw ExperimentError(pos(n), what);
  }

  // Rejects keys outside `allowed`, suggesting the closest.
  void check_keys(const toml::table& t, const std::string& section,
                  const std::vector<std::string>& allowed) const {
    for (auto&& [k, v] : t) {
      if (std::find(allowed.begin(), allowed.end(), k.str()) == allowed.end())
        throw ExperimentError(pos(k.source()),
                              fmt::format("unknown key '{}' in {}{}; allowed keys: {}", k.str(),
                                          section, did_you_mean(k.str(), allowed), join(allowed)));
    }
  }

  const toml::table* table(const toml::table& root, const std::string& key, bool required) const {
    const toml::node* n = root.get(key);
    if (n == nullptr) {
      if (required) throw ExperimentError({file_, 1, 1}, fmt::format("missing section [{}]", key));
      return nullptr;
    }
    if (!n->is_table()) fail(*n, fmt::format("'{}' must be a table ([{}])", key, key));
    return n->as_table();
  }

  std::string string(const toml::node& n, const std::string& what) const {
    if (!n.is_string()) fail(n, fmt::format("{} must be a string", what));
    return n.as_string()->get();
  }
  int64_t integer(const toml::node& n, const std::string& what, int64_t min, int64_t max) const {
    if (!n.is_integer()) fail(n, fmt::format("{} must be an integer", what));
    int64_t v = n.as_integer()->get();
    if (v < min || v > max) fail(n, fmt::format("{} = {} is out of range [{}, {}]", what, v, min, max));
    return v;
  }
  double number(const toml::node& n, const std::string& what, double min, double max) const {
    double v = 0;
    if (n.is_integer()) v = static_cast<double>(n.as_integer()->get());
    else if (n.is_floating_point()) v = n.as_floating_point()->get();
    else fail(n, fmt::format("{} must be a number", what));
    if (!(v >= min && v <= max)) fail(n, fmt::format("{} = {} is out of range [{}, {}]", what, v, min, max));
    return v;
  }
  bool boolean(const toml::node& n, const std::string& what) const {
    if (!n.is_boolean()) fail(n, fmt::format("{} must be true or false", what));
    return n.as_boolean()->get();
  }
  // A range table { from = A, to = B, step = C } (numbers; to inclusive) as parameter texts.
  std::vector<std::string> range(const toml::table& t, const std::string& what) const {
    check_keys(t, what + " range", {"from", "to", "step"});
    for (const char* key : {"from", "to", "step"})
      if (t.get(key) == nullptr) fail(t, fmt::format("{} range needs 'from', 'to' and 'step' (missing '{}')", what, key));
    const double lim = 1e15;
    try {
      return range_values(number(*t.get("from"), what + " range 'from'", -lim, lim),
                          number(*t.get("to"), what + " range 'to'", -lim, lim),
                          number(*t.get("step"), what + " range 'step'", -lim, lim));
    } catch (const ConfigError& err) {
      fail(t, fmt::format("{}: {}", what, err.what()));
    }
  }

  // A swept value: a non-empty list of scalars or a range table, as parameter texts.
  std::vector<std::string> sweep_values(const toml::node& n, const std::string& what) const {
    if (const toml::table* t = n.as_table()) return range(*t, what);
    const toml::array* a = n.as_array();
    if (a == nullptr || a->empty()) fail(n, fmt::format("{} must be a non-empty list or a range {{ from, to, step }}", what));
    std::vector<std::string> out;
    for (const toml::node& item : *a) {
      std::string v = param_text(item, what);
      if (std::find(out.begin(), out.end(), v) != out.end()) fail(item, fmt::format("{} lists '{}' twice", what, v));
      out.push_back(std::move(v));
    }
    return out;
  }

  // An integer, a non-empty list of integers or an integer range: every value becomes a
  // workload point.
  std::vector<int32_t> int_list(const toml::node& n, const std::string& what, int64_t min, int64_t max) const {
    std::vector<int32_t> out;
    if (const toml::table* t = n.as_table()) {
      for (const std::string& v : range(*t, what)) {
        if (v.find_first_not_of("-0123456789") != std::string::npos) fail(n, fmt::format("{} range must be of integers", what));
        const int64_t i = std::stoll(v);
        if (i < min || i > max) fail(n, fmt::format("{} = {} (in the range) is out of range [{}, {}]", what, i, min, max));
        out.push_back(static_cast<int32_t>(i));
      }
    } else if (const toml::array* a = n.as_array()) {
      if (a->empty()) fail(n, fmt::format("{} must not be an empty list", what));
      for (const toml::node& item : *a) out.push_back(static_cast<int32_t>(integer(item, what, min, max)));
    } else {
      out.push_back(static_cast<int32_t>(integer(n, what, min, max)));
    }
    return out;
  }

  // A TOML scalar as the text a pipeline parameter would have.
  std::string param_text(const toml::node& n, const std::string& what) const {
    if (n.is_string()) return n.as_string()->get();
    if (n.is_integer()) return std::to_string(n.as_integer()->get());
    if (n.is_boolean()) return n.as_boolean()->get() ? "true" : "false";
    if (n.is_floating_point()) return fmt::format("{}", n.as_floating_point()->get());
    fail(n, fmt::format("{} must be a string, integer, float or boolean", what));
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

std::string missing_file(const char* what, const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return fmt::format("{} '{}' is a directory", what, path);
  if (fs::exists(path, ec)) return fmt::format("{} '{}' is not a regular file", what, path);
  return fmt::format("{} '{}' does not exist", what, path);
}

// Whether the string value at `at` is written as "..." or '...' on one line with exactly the
// characters of `value` (no escapes), so that offsets in the value are columns in the file.
bool plain_one_line_string(const std::string& file_text, const SourcePos& at, const std::string& value) {
  size_t line_start = 0;
  for (uint32_t l = 1; l < at.line && line_start != std::string::npos; ++l) {
    line_start = file_text.find('\n', line_start);
    if (line_start != std::string::npos) ++line_start;
  }
  if (line_start == std::string::npos) return false;
  size_t start = line_start + at.column - 1;
  if (start + value.size() + 2 > file_text.size()) return false;
  char q = file_text[start];
  if (q != '"' && q != '\'') return false;
  if (file_text.compare(start + 1, value.size(), value) != 0) return false;
  return file_text[start + 1 + value.size()] == q && (value.size() > 0 || file_text[start + 2] != q);
}

void read_experiment_section(const Reader& r, const toml::table& t, Experiment& e) {
  r.check_keys(t, "[experiment]", {"name", "seed", "description"});
  if (const auto* n = t.get("name")) e.name = r.string(*n, "[experiment] name");
  if (const auto* n = t.get("seed")) e.seed = static_cast<uint64_t>(r.integer(*n, "[experiment] seed", 0, std::numeric_limits<int64_t>::max()));
  if (const auto* n = t.get("description")) e.description = r.string(*n, "[experiment] description");
  bool ok = !e.name.empty();
  for (char c : e.name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) ok = false;
  if (!ok)
    r.fail(t.get("name") ? *t.get("name") : static_cast<const toml::node&>(t),
           "[experiment] name must be non-empty and use only letters, digits, '-', '_' and '.' (it names the output directory)");
}

void read_workload(const Reader& r, const toml::table& t, const std::string& base, WorkloadSpec& w) {
  r.check_keys(t, "[workload]", {"prompt_tokens", "generate_tokens", "batch", "prompt_text"});
  w.pos = r.pos(t);
  if (const auto* n = t.get("prompt_tokens")) w.prompt_tokens = r.int_list(*n, "[workload] prompt_tokens", 1, 1 << 20);
  if (const auto* n = t.get("generate_tokens")) w.generate_tokens = r.int_list(*n, "[workload] generate_tokens", 0, 1 << 20);
  if (const auto* n = t.get("batch")) w.batch = r.int_list(*n, "[workload] batch", 1, 4096);
  if (const auto* n = t.get("prompt_text")) {
    std::string v = r.string(*n, "[workload] prompt_text");
    if (v == "random") {
      w.prompt_text = v;
    } else {
      w.prompt_text = resolve_experiment_path(v, base);
      if (!fs::is_regular_file(w.prompt_text)) r.fail(*n, missing_file("prompt text file", w.prompt_text) + " (or use \"random\")");
    }
  }
}

ModelSpec read_model(const Reader& r, const toml::table& t, const std::string& base,
                     const WorkloadSpec& workload) {
  r.check_keys(t, "[model]", {"name", "path", "tokenizer", "synth", "seed", "workload"});
  ModelSpec m;
  m.pos = r.pos(t);
  if (const auto* n = t.get("workload")) {
    if (!n->is_table()) r.fail(*n, "[model] workload must be a table of [workload] keys, e.g. { batch = [1] }");
    m.workload = workload;  // the experiment's, with these keys replaced
    read_workload(r, *n->as_table(), base, *m.workload);
  }
  const toml::node* path = t.get("path");
  const toml::node* synth = t.get("synth");
  if ((path == nullptr) == (synth == nullptr))
    throw ExperimentError(m.pos, "[model] needs exactly one of 'path' (a checkpoint) or 'synth' (a synthetic shape)");
  if (path) {
    m.path = resolve_experiment_path(r.string(*path, "[model] path"), base);
    if (!fs::is_regular_file(m.path)) r.fail(*path, missing_file("model file", m.path));
    if (t.get("seed")) r.fail(*t.get("seed"), "[model] seed applies only to synthetic models ('synth')");
  } else {
    m.synth = r.string(*synth, "[model] synth");
    try {
      parse_synth_shape(m.synth);
    } catch (const Error& err) {
      r.fail(*synth, err.what());
    }
    if (const auto* n = t.get("seed")) m.synth_seed = static_cast<uint64_t>(r.integer(*n, "[model] seed", 0, std::numeric_limits<int64_t>::max()));
  }
  if (const auto* n = t.get("tokenizer")) {
    m.tokenizer = resolve_experiment_path(r.string(*n, "[model] tokenizer"), base);
    if (!fs::is_regular_file(m.tokenizer)) r.fail(*n, missing_file("tokenizer file", m.tokenizer));
  }
  m.name = !m.synth.empty() ? m.synth : fs::path(m.path).stem().string();
  if (const auto* n = t.get("name")) {
    m.name = r.string(*n, "[model] name");
    if (m.name.empty()) r.fail(*n, "[model] name must not be empty");
  }
  return m;
}

// [model] (one model) or [[model]] (several: every pipeline and workload point runs on each).
void read_models(const Reader& r, const toml::table& root, const std::string& base, Experiment& e) {
  const toml::node* n = root.get("model");
  if (n == nullptr) throw ExperimentError({r.file(), 1, 1}, "missing section [model]");
  if (const toml::table* t = n->as_table()) {
    e.models.push_back(read_model(r, *t, base, e.workload));
  } else if (const toml::array* a = n->as_array(); a && a->is_array_of_tables() && !a->empty()) {
    for (const toml::node& item : *a) {
      ModelSpec m = read_model(r, *item.as_table(), base, e.workload);
      for (const auto& other : e.models)
        if (other.name == m.name)
          throw ExperimentError(m.pos, fmt::format("model name '{}' is used twice (first at {}); give one a 'name'", m.name, other.pos.str()));
      e.models.push_back(std::move(m));
    }
  } else {
    r.fail(*n, "'model' must be a [model] table or [[model]] tables");
  }
  e.model = e.models.front();
}

void read_measure(const Reader& r, const toml::table& t, const std::string& base, Experiment& e) {
  r.check_keys(t, "[measure]", {"warmup", "repetitions", "min_time", "target_ci", "max_time",
                                "max_repetitions", "quality", "eval_text", "stories"});
  MeasureSpec& m = e.measure;
  m.pos = r.pos(t);
  if (const auto* n = t.get("warmup")) m.warmup = static_cast<int32_t>(r.integer(*n, "[measure] warmup", 0, 100));
  if (const auto* n = t.get("repetitions")) {
    if (n->is_string()) {
      if (n->as_string()->get() != "auto") r.fail(*n, "[measure] repetitions must be a positive integer or \"auto\"");
      m.auto_repetitions = true;
      m.repetitions = 3;
    } else {
      m.repetitions = static_cast<int32_t>(r.integer(*n, "[measure] repetitions", 1, 10000));
    }
  }
  if (const auto* n = t.get("min_time")) m.min_time_s = r.number(*n, "[measure] min_time (seconds)", 0, 86400);
  if (const auto* n = t.get("target_ci")) m.target_ci = r.number(*n, "[measure] target_ci", 1e-6, 10);
  if (const auto* n = t.get("max_time")) m.max_time_s = r.number(*n, "[measure] max_time (seconds)", 0.001, 86400 * 7);
  if (const auto* n = t.get("max_repetitions")) m.max_repetitions = static_cast<int32_t>(r.integer(*n, "[measure] max_repetitions", 1, 100000));
  if (m.max_repetitions < m.repetitions) m.max_repetitions = m.repetitions;
  if (const auto* n = t.get("quality")) m.quality = r.boolean(*n, "[measure] quality");
  if (const auto* n = t.get("stories")) m.stories = static_cast<int32_t>(r.integer(*n, "[measure] stories", 1, 1000000));
  if (const auto* n = t.get("eval_text")) {
    m.eval_text = resolve_experiment_path(r.string(*n, "[measure] eval_text"), base);
    if (!fs::is_regular_file(m.eval_text)) r.fail(*n, missing_file("evaluation text", m.eval_text));
  }
}

// [[pipeline]] sweep = { "strategy.key" = [values] or { from, to, step }, ... } for text stages:
// the first top-level stage of that strategy gets each value (set or replaced).
void read_text_sweep(const Reader& r, const toml::node& sweep, PipelineSpec& p, std::vector<SweepAxis>& axes) {
  const toml::table* t = sweep.as_table();
  if (t == nullptr) r.fail(sweep, fmt::format("pipeline '{}': 'sweep' must be a table such as {{ \"cpu-tbb.threads\" = [1, 2] }}", p.name));
  for (auto&& [k, v] : *t) {
    const std::string key(k.str());
    const size_t dot = key.rfind('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == key.size())
      r.fail(v, fmt::format("pipeline '{}': sweep key '{}' must be \"strategy.parameter\", e.g. \"cpu-tbb.threads\"", p.name, key));
    const std::string strategy = key.substr(0, dot);
    size_t stage = p.stages.size();
    std::vector<std::string> names;
    for (size_t i = 0; i < p.stages.size(); ++i) {
      names.push_back(p.stages[i].name);
      if (stage == p.stages.size() && p.stages[i].name == strategy) stage = i;
    }
    if (stage == p.stages.size())
      r.fail(v, fmt::format("pipeline '{}': sweep key '{}' names no stage of the pipeline{}; stages: {}", p.name, key,
                            did_you_mean(strategy, names), join(names)));
    axes.push_back({stage, key.substr(dot + 1), r.sweep_values(v, fmt::format("pipeline '{}': sweep '{}'", p.name, key)), r.pos(v)});
  }
}

void read_pipeline(const Reader& r, const toml::table& t, Experiment& e) {
  r.check_keys(t, "[[pipeline]]", {"name", "stages", "stage", "baseline", "models", "sweep"});
  PipelineSpec p;
  std::vector<SweepAxis> axes;
  p.pos = r.pos(t);
  const toml::node* name = t.get("name");
  if (name == nullptr) throw ExperimentError(p.pos, "[[pipeline]] needs a 'name'");
  p.name = r.string(*name, "[[pipeline]] name");
  if (p.name.empty()) r.fail(*name, "[[pipeline]] name must not be empty");
  for (const auto& other : e.pipelines)
    if (other.name == p.name) r.fail(*name, fmt::format("pipeline name '{}' is used twice (first at {})", p.name, other.pos.str()));
  if (const auto* n = t.get("baseline")) p.baseline = r.boolean(*n, "[[pipeline]] baseline");
  if (const auto* n = t.get("models")) {
    const toml::array* a = n->as_array();
    if (a == nullptr || a->empty()) r.fail(*n, "[[pipeline]] models must be a non-empty list of model names");
    std::vector<std::string> names;
    for (const auto& m : e.models) names.push_back(m.name);
    for (const toml::node& item : *a) {
      std::string name = r.string(item, "a [[pipeline]] models entry");
      if (std::find(names.begin(), names.end(), name) == names.end())
        r.fail(item, fmt::format("unknown model '{}'{}; models: {}", name, did_you_mean(name, names), join(names)));
      p.models.push_back(name);
    }
  }

  const toml::node* stages = t.get("stages");
  const toml::node* stage = t.get("stage");
  if ((stages == nullptr) == (stage == nullptr))
    throw ExperimentError(p.pos, fmt::format("pipeline '{}' needs exactly one of 'stages' (text such as \"cpu-ref\") or [[pipeline.stage]] tables", p.name));
  if (stages) {
    std::string text = r.string(*stages, fmt::format("pipeline '{}' stages", p.name));
    SourcePos at = r.pos(*stages);
    // Columns inside the string are exact only for a one-line string written without escapes;
    // otherwise positions point at the string's start.
    const bool exact = plain_one_line_string(e.text, at, text);
    auto inside = [&](size_t offset) {
      SourcePos where = at;
      if (exact) where.column += 1 + static_cast<uint32_t>(offset);
      return where;
    };
    try {
      p.stages = parse_pipeline_text(text);
    } catch (const PipelineSyntaxError& err) {
      // Point into the string: one column for the opening quote, then the offset.
      SourcePos where = inside(err.offset());
      std::string msg = err.what();
      size_t colon = msg.find(": column ");
      if (colon != std::string::npos) msg = msg.substr(msg.find(": ", colon + 2) + 2);
      throw ExperimentError(where, fmt::format("pipeline '{}': {}", p.name, msg));
    }
    for (const auto& s : p.stages) p.stage_pos.push_back(inside(s.column));
    if (const toml::node* sweep = t.get("sweep")) read_text_sweep(r, *sweep, p, axes);
  } else {
    if (const toml::node* sweep = t.get("sweep"))
      r.fail(*sweep, fmt::format("pipeline '{}': 'sweep' goes with 'stages' text; in [[pipeline.stage]] tables give a list or range as the parameter's value", p.name));
    const toml::array* arr = stage->as_array();
    if (arr == nullptr || !arr->is_array_of_tables() || arr->empty())
      r.fail(*stage, fmt::format("pipeline '{}': 'stage' must be [[pipeline.stage]] tables", p.name));
    for (const toml::node& sn : *arr) {
      const toml::table& st = *sn.as_table();
      const toml::node* use = st.get("use");
      if (use == nullptr) throw ExperimentError(r.pos(st), fmt::format("pipeline '{}': a [[pipeline.stage]] needs 'use = \"<strategy>\"'", p.name));
      StageSpec s;
      s.name = r.string(*use, "'use'");
      try {
        auto parsed = parse_pipeline_text(s.name);
        if (parsed.size() != 1 || !parsed[0].params.empty() || !parsed[0].children.empty())
          r.fail(*use, "'use' takes a single strategy name; give parameters as keys of the stage table");
      } catch (const PipelineSyntaxError& err) {
        r.fail(*use, fmt::format("'use' = '{}' is not a strategy name", s.name));
      }
      // toml++ tables are sorted by key; the file's order is what the user wrote.
      std::vector<std::pair<const toml::key*, const toml::node*>> entries;
      for (auto&& [k, v] : st)
        if (k.str() != "use") entries.emplace_back(&k, &v);
      std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
        const auto& pa = a.first->source().begin;
        const auto& pb = b.first->source().begin;
        return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
      });
      for (const auto& [k, v] : entries) {
        const std::string what = fmt::format("pipeline '{}': parameter '{}'", p.name, k->str());
        if (v->is_array() || v->is_table()) {
          axes.push_back({p.stages.size(), std::string(k->str()), r.sweep_values(*v, what), r.pos(*v)});
          s.params.push_back({std::string(k->str()), axes.back().values.front()});
        } else {
          s.params.push_back({std::string(k->str()), r.param_text(*v, what)});
        }
      }
      p.stage_pos.push_back(r.pos(st));
      p.stages.push_back(std::move(s));
    }
  }
  p.text = to_pipeline_text(p.stages);
  for (PipelineSpec& v : expand_sweep(p, axes)) {
    for (const auto& other : e.pipelines)
      if (other.name == v.name)
        throw ExperimentError(p.pos, fmt::format("pipeline '{}': its variant '{}' is also pipeline '{}' (first at {})",
                                                 p.name, v.name, other.sweep_of.empty() ? other.name : other.sweep_of, other.pos.str()));
    e.pipelines.push_back(std::move(v));
  }
}

}  // namespace

Experiment parse_experiment(const std::string& path) {
  Experiment e;
  e.file = path;
  e.text = read_text_file(path);
  e.sha256 = sha256_hex(std::span(reinterpret_cast<const uint8_t*>(e.text.data()), e.text.size()));
  e.name = fs::path(path).stem().string();
  std::string base = fs::path(path).parent_path().string();
  if (base.empty()) base = ".";
  Reader r(path);
  toml::table root;
  try {
    root = toml::parse(e.text, path);
  } catch (const toml::parse_error& err) {
    throw ExperimentError(r.pos(err.source()), std::string(err.description()));
  }
  r.check_keys(root, "the experiment file", {"experiment", "model", "workload", "measure", "pipeline"});
  if (const auto* t = r.table(root, "experiment", false)) read_experiment_section(r, *t, e);
  if (const auto* t = r.table(root, "workload", false)) read_workload(r, *t, base, e.workload);
  read_models(r, root, base, e);

  if (const auto* t = r.table(root, "measure", false)) read_measure(r, *t, base, e);

  const toml::node* pipes = root.get("pipeline");
  if (pipes == nullptr) throw ExperimentError({path, 1, 1}, "no [[pipeline]] entries; add at least one");
  const toml::array* arr = pipes->as_array();
  if (arr == nullptr || !arr->is_array_of_tables()) r.fail(*pipes, "'pipeline' must be [[pipeline]] tables");
  for (const toml::node& n : *arr) read_pipeline(r, *n.as_table(), e);

  size_t marked = 0;
  for (size_t i = 0; i < e.pipelines.size(); ++i) {
    if (!e.pipelines[i].baseline) continue;
    if (++marked > 1)
      throw ExperimentError(e.pipelines[i].pos, fmt::format("pipeline '{}' is a second baseline; mark only one with baseline = true", e.pipelines[i].name));
    e.baseline = i;
  }
  if (marked == 0) e.pipelines[0].baseline = true;
  return e;
}

}  // namespace accelab
