#include "experiment/runner.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>
#include <set>

#include "commands/common.hpp"
#include "env/environment.hpp"
#include "env/probes.hpp"
#include "env/roofline.hpp"
#include "env/resources.hpp"
#include "experiment/jsonl_writer.hpp"
#include "experiment/quality.hpp"
#include "model/llama2c.hpp"
#include "model/model_file.hpp"
#include "model/synth.hpp"
#include "runtime/engine.hpp"
#include "runtime/perplexity.hpp"
#include "runtime/sampler.hpp"
#include "stats/summary.hpp"
#include "util/log.hpp"
#include "util/sha256.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace accelab {
namespace {

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string utc_now() {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::time(nullptr)));
}

struct WorkloadPoint {
  int32_t prompt = 0, generate = 0, batch = 0;
  [[nodiscard]] nlohmann::json json() const {
    return {{"prompt_tokens", prompt}, {"generate_tokens", generate}, {"batch", batch}};
  }
  [[nodiscard]] std::string label() const { return fmt::format("pp{}+tg{} b{}", prompt, generate, batch); }
};

// One measured repetition of one pipeline at one workload point.
struct Sample {
  double pp = 0, tg = 0, ttft_ms = 0, p50 = 0, p90 = 0, p99 = 0;
  uint64_t peak_rss = 0;
  double seconds = 0;
  std::string tokens_sha256;
};

struct PipelineState {
  std::unique_ptr<Engine> engine;
  std::string error;  // non-empty: could not be set up
  std::optional<Quality> quality;
  uint64_t weight_bytes = 0;
  DecodeCost step_cost;  // what one decode step reads and computes, for the roofline
};

// Round probes read at most this much: DRAM-sized (beyond the L3) yet quick to fill.
constexpr uint64_t kRoundProbeMaxBytes = uint64_t{256} << 20;
// Seconds between two round probes of one workload point.
constexpr double kRoundProbeIntervalSeconds = 10.0;

// Seconds per machine probe unless $ACCELAB_PROBE_SECONDS says otherwise: long enough for a
// best pass that means something, short next to any real experiment.
constexpr double kProbeSeconds = 1.5;

class Progress {
 public:
  Progress(bool tty, size_t total) : tty_(tty), total_(total), start_(Clock::now()) {}
  void step(const std::string& what) { step_to(done_ + 1, what); }
  void step_to(size_t done, const std::string& what) {
    done_ = done;
    double elapsed = seconds_since(start_);
    // From the measured steps' pace only: setting up (quantizing, calibrating, probing) can take
    // minutes before the first step, which would make the first ETAs hours long.
    const double measuring = seconds_since(measure_start_);
    double eta = done_ > 0 ? measuring / static_cast<double>(done_) * static_cast<double>(total_ > done_ ? total_ - done_ : 0) : 0;
    std::string line = fmt::format("[{:>6.1f}s] {} ({}/{}, ETA {:.0f}s)", elapsed, what, done_, total_, eta);
    if (tty_) fmt::print(stderr, "\r\033[K{}", line);
    else fmt::print(stderr, "{}\n", line);
    std::fflush(stderr);
  }
  void note(const std::string& line) {
    if (tty_) fmt::print(stderr, "\r\033[K");
    fmt::print(stderr, "{}\n", line);
  }
  void finish() {
    if (tty_) fmt::print(stderr, "\r\033[K");
  }
  /// Adds steps still to come; the first call marks the start of measuring (for the ETA).
  void add_total(size_t n) {
    if (total_ == 0) measure_start_ = Clock::now();
    total_ += n;
  }

 private:
  bool tty_;
  size_t total_;
  size_t done_ = 0;
  Clock::time_point start_;
  Clock::time_point measure_start_ = start_;
};

class Runner {
 public:
  Runner(const ExperimentPlan& plan, const PluginRegistry& registry, const RunOptions& options,
         const nlohmann::json& environment, double probe_seconds, JsonlWriter& jsonl)
      : plan_(plan), exp_(plan.experiment), registry_(registry), options_(options),
        environment_(environment), jsonl_(jsonl),
        progress_(options.tty, 0), probe_seconds_(probe_seconds),
        round_probe_seconds_(std::min(0.2, probe_seconds)) {}

  nlohmann::json run() {
    start_header();
    ensure_model();
    std::unique_ptr<Tokenizer> tokenizer;
    if (!plan_.tokenizer_path.empty())
      tokenizer = std::make_unique<Tokenizer>(load_tokenizer_file(plan_.tokenizer_path, plan_.config.vocab_size));
    set_up_pipelines();
    // The probes belong in the start line, so it waits for them; set-up failures follow it.
    probe_machine(probe_seconds_);
    write_start_line();
    if (plan_.quality_skipped.empty() && !stopped()) run_quality(*tokenizer);
    for (const WorkloadPoint& point : points()) {
      if (stopped()) break;
      run_point(point, make_prompts(point, tokenizer.get()));
    }
    progress_.finish();
    finish();
    return results_;
  }

 private:
  bool stopped() const { return options_.interrupted && options_.interrupted->load(); }

  std::vector<WorkloadPoint> points() const {
    std::vector<WorkloadPoint> out;
    const WorkloadSpec& w = exp_.workload;
    for (int32_t p : w.prompt_tokens)
      for (int32_t g : w.generate_tokens)
        for (int32_t b : w.batch) out.push_back({p, g, b});
    return out;
  }

  void start_header() {
    for (const Plan& p : plan_.plans) resolved_.push_back(resolved_pipeline_text(p));
    nlohmann::json env = environment_;
    env["plugins"] = nlohmann::json::array();
    for (const auto& p : registry_.plugins())
      env["plugins"].push_back({{"name", p->descriptor->name}, {"version", p->descriptor->version},
                                {"path", p->path.string()}, {"sha256", p->sha256},
                                {"abi", {{"major", p->descriptor->abi_major}, {"minor", p->descriptor->abi_minor}}}});
    const accelab_model_config& c = plan_.config;
    const MeasureSpec& m = exp_.measure;
    nlohmann::json pipelines = nlohmann::json::array();
    for (size_t i = 0; i < exp_.pipelines.size(); ++i) {
      const PipelineSpec& spec = exp_.pipelines[i];
      pipelines.push_back({{"name", spec.name}, {"pipeline", resolved_[i]}, {"written", spec.text}, {"baseline", i == exp_.baseline}});
      if (!spec.sweep_of.empty()) {
        nlohmann::json point = nlohmann::json::object();
        for (const auto& [key, value] : spec.sweep_point) point[key] = value;
        pipelines.back()["sweep"] = {{"of", spec.sweep_of}, {"point", point}};
      }
    }
    results_ = {
        {"schema_version", 1},
        {"tool", {{"name", "accelab"}, {"version", ACCELAB_VERSION}}},
        {"experiment", {{"name", exp_.name}, {"description", exp_.description}, {"file", exp_.file},
                        {"sha256", exp_.sha256}, {"seed", exp_.seed}, {"text", exp_.text}}},
        {"started_at", utc_now()},
        {"finished_at", nullptr},
        {"complete", false},
        {"environment", env},
        {"model", {{"name", exp_.model.name}, {"source", plan_.model_path}, {"synthetic", plan_.synthetic},
                   {"synth", plan_.synthetic ? nlohmann::json(exp_.model.synth) : nlohmann::json(nullptr)},
                   {"synth_seed", plan_.synthetic ? nlohmann::json(exp_.model.synth_seed) : nlohmann::json(nullptr)},
                   {"config", {{"dim", c.dim}, {"hidden_dim", c.hidden_dim}, {"n_layers", c.n_layers},
                               {"n_heads", c.n_heads}, {"n_kv_heads", c.n_kv_heads},
                               {"vocab_size", c.vocab_size}, {"seq_len", c.seq_len}}},
                   {"tokenizer", plan_.tokenizer_path.empty() ? nlohmann::json(nullptr) : nlohmann::json(plan_.tokenizer_path)}}},
        {"measure", {{"warmup", m.warmup},
                     {"repetitions", m.auto_repetitions ? nlohmann::json("auto") : nlohmann::json(m.repetitions)},
                     {"min_time_s", m.min_time_s},
                     {"target_ci", m.auto_repetitions ? nlohmann::json(m.target_ci) : nlohmann::json(nullptr)},
                     {"max_time_s", m.max_time_s}, {"max_repetitions", m.max_repetitions},
                     {"quality", m.quality},
                     {"eval_text", plan_.eval_text_path.empty() ? nlohmann::json(nullptr) : nlohmann::json(plan_.eval_text_path)},
                     {"stories", m.stories},
                     {"prompt_text", plan_.prompt_text_path.empty() ? nlohmann::json("random") : nlohmann::json(plan_.prompt_text_path)}}},
        {"pipelines", pipelines},
        {"quality_skipped", plan_.quality_skipped.empty() ? nlohmann::json(nullptr) : nlohmann::json(plan_.quality_skipped)},
        {"rows", nlohmann::json::array()}};
  }

  void write_start_line() {
    nlohmann::json start = results_;
    start.erase("rows");
    start.erase("finished_at");
    start.erase("complete");
    start["type"] = "start";
    jsonl_.write(start);
    for (size_t i = 0; i < pipes_.size(); ++i)
      if (!pipes_[i].error.empty())
        jsonl_.write({{"type", "failure"}, {"name", exp_.pipelines[i].name}, {"pipeline", resolved_[i]},
                      {"workload", nullptr}, {"error", pipes_[i].error}});
  }

  // Measured after the weights are loaded and touched, over an array as large as the baseline's
  // weights, so the bandwidth is that of the memory level the weights live in.
  void probe_machine(double seconds) {
    results_["environment"]["probes"] = nullptr;
    if (stopped()) return;
    uint64_t bytes = 0;  // the baseline's weights, else those of the first pipeline that loaded
    if (pipes_[exp_.baseline].engine) {
      bytes = pipes_[exp_.baseline].weight_bytes;
    } else {
      for (const auto& p : pipes_)
        if (p.engine) {
          bytes = p.weight_bytes;
          break;
        }
    }
    const int threads = read_cpu_info().logical_cores;
    progress_.note(fmt::format("probing read bandwidth ({:.1f} MiB) and f32 GEMM rate, {} threads, {} s each",
                               static_cast<double>(std::clamp(bytes, kMinProbeArrayBytes, kMaxProbeArrayBytes)) / (1 << 20),
                               threads, seconds));
    try {
      probes_ = run_probes(bytes, threads, seconds);
      results_["environment"]["probes"] = to_json(*probes_);
    } catch (const std::exception& e) {
      progress_.note(fmt::format("machine probes failed, rows get no roofline: {}", e.what()));
    }
  }

  void ensure_model() {
    if (!plan_.synthetic || fs::exists(plan_.model_path)) return;
    fs::create_directories(fs::path(plan_.model_path).parent_path());
    progress_.note(fmt::format("synthesizing {} (seed {}) into {} (once; cached)", exp_.model.synth,
                               exp_.model.synth_seed, plan_.model_path));
    write_synthetic_llama2c(plan_.config, exp_.model.synth_seed, plan_.model_path);
  }

  accelab_limits limits() const {
    const WorkloadSpec& w = exp_.workload;
    int32_t max_p = *std::max_element(w.prompt_tokens.begin(), w.prompt_tokens.end());
    int32_t max_g = *std::max_element(w.generate_tokens.begin(), w.generate_tokens.end());
    int32_t max_b = *std::max_element(w.batch.begin(), w.batch.end());
    accelab_limits l{};
    l.struct_size = sizeof l;
    l.max_rows = std::max(std::min(max_p, 512), max_b);
    l.max_sequences = max_b;
    l.max_positions = max_p + max_g;
    if (plan_.quality_skipped.empty()) {
      l.max_positions = plan_.config.seq_len;
      l.max_rows = std::max(l.max_rows, std::min(plan_.config.seq_len, 512));
    }
    l.max_positions = std::min(l.max_positions, plan_.config.seq_len);
    return l;
  }

  // Calibrating transforms read the evaluation text after the stories the quality evaluation
  // uses (random tokens for a model without tokenizer).
  CalibrationText calibration_text() const {
    CalibrationText t;
    std::string text = plan_.eval_text_path.empty() ? data_dir() + "/data/tinystories_valid_first1000.txt"
                                                    : plan_.eval_text_path;
    if (!plan_.tokenizer_path.empty() && fs::is_regular_file(text)) {
      t.text_path = text;
      t.tokenizer_path = plan_.tokenizer_path;
      t.skip_stories = exp_.measure.stories;
    }
    t.interrupted = options_.interrupted;
    return t;
  }

  void set_up_pipelines() {
    accelab_limits l = limits();
    pipes_.resize(exp_.pipelines.size());
    for (size_t i = 0; i < pipes_.size(); ++i) {
      const PipelineSpec& spec = exp_.pipelines[i];
      if (stopped()) {
        pipes_[i].error = "not prepared: the run was interrupted";
        continue;
      }
      progress_.note(fmt::format("preparing pipeline '{}': {}", spec.name, spec.text));
      try {
        pipes_[i].engine = std::make_unique<Engine>(plan_.plans[i], load_model_file(plan_.model_path), l, calibration_text());
        results_["pipelines"][i]["strategies"] = pipes_[i].engine->strategy_records();
        pipes_[i].engine->model().touch();
        pipes_[i].weight_bytes = pipes_[i].engine->model().weight_bytes();
        pipes_[i].step_cost = decode_cost(pipes_[i].engine->model(), pipes_[i].engine->graph());
      } catch (const Error& e) {
        pipes_[i].engine.reset();
        pipes_[i].error = e.what();
        progress_.note(fmt::format("pipeline '{}' FAILED: {}", spec.name, e.what()));
      }
    }
  }

  void run_quality(const Tokenizer& tokenizer) {
    std::vector<std::string> stories =
        split_stories(read_text_file(plan_.eval_text_path), exp_.measure.stories);
    std::vector<Engine*> engines;
    for (auto& p : pipes_) engines.push_back(p.engine.get());
    if (engines[exp_.baseline] == nullptr) {
      quality_skipped_ = "the baseline pipeline failed";
      return;
    }
    Progress qp(options_.tty, stories.size());
    auto q = measure_quality(
        engines, exp_.baseline, tokenizer, stories,
        [&](int32_t done, int32_t total) {
          // A log (not a live line) gets about ten quality lines, not one per story.
          int32_t every = std::max(1, total / 10);
          if (options_.tty || done % every == 0 || done == total)
            qp.step_to(static_cast<size_t>(done), fmt::format("quality: story {}/{}", done, total));
        },
        [&] { return stopped(); });
    qp.finish();
    for (size_t i = 0; i < pipes_.size(); ++i) {
      pipes_[i].quality = q[i];
      if (q[i])
        jsonl_.write({{"type", "quality"}, {"name", exp_.pipelines[i].name},
                      {"pipeline", resolved_[i]}, {"quality", to_json(*q[i])}});
    }
  }

  std::vector<std::vector<int32_t>> make_prompts(const WorkloadPoint& pt, const Tokenizer* tokenizer) {
    std::vector<std::vector<int32_t>> prompts(static_cast<size_t>(pt.batch));
    const int32_t vocab = plan_.config.vocab_size;
    if (!plan_.prompt_text_path.empty() && tokenizer != nullptr) {
      // Consecutive stories as one token stream; sequence b takes the b-th slice of it.
      if (prompt_stream_.empty()) {
        std::vector<std::string> stories = split_stories(read_text_file(plan_.prompt_text_path), 0);
        for (const auto& s : stories) {
          auto t = tokenizer->encode(s, true, false);
          prompt_stream_.insert(prompt_stream_.end(), t.begin(), t.end());
          if (prompt_stream_.size() > 1u << 20) break;
        }
      }
      size_t need = static_cast<size_t>(pt.prompt) * static_cast<size_t>(pt.batch);
      if (prompt_stream_.size() >= need) {
        for (int32_t b = 0; b < pt.batch; ++b) {
          auto from = prompt_stream_.begin() + static_cast<long>(b) * pt.prompt;
          prompts[static_cast<size_t>(b)].assign(from, from + pt.prompt);
          prompts[static_cast<size_t>(b)][0] = tokenizer->bos_id();
        }
        return prompts;
      }
    }
    std::mt19937_64 rng(exp_.seed);
    for (auto& p : prompts) {
      p.push_back(1);
      while (static_cast<int32_t>(p.size()) < pt.prompt)
        p.push_back(3 + static_cast<int32_t>(rng() % static_cast<uint64_t>(std::max(1, vocab - 3))));
    }
    return prompts;
  }

  Sample measure(Engine& e, const std::vector<std::vector<int32_t>>& prompts, int32_t generate) {
    const auto batch = static_cast<int32_t>(prompts.size());
    const auto prompt = static_cast<int32_t>(prompts[0].size());
    const size_t vocab = static_cast<size_t>(e.config().vocab_size);
    logits_.resize(static_cast<size_t>(batch) * vocab);
    std::vector<int32_t> next(static_cast<size_t>(batch)), positions(next.size()), seqs(next.size());
    std::vector<int32_t> produced;
    std::vector<double> latencies;
    reset_peak_rss();

    auto t0 = Clock::now();
    e.prefill(prompts, logits_.data());
    for (int32_t b = 0; b < batch; ++b)
      next[static_cast<size_t>(b)] = argmax(std::span<const float>(logits_.data() + static_cast<size_t>(b) * vocab, vocab));
    double prefill_s = seconds_since(t0);
    produced.insert(produced.end(), next.begin(), next.end());

    double decode_s = 0;
    for (int32_t step = 0; step < generate; ++step) {
      for (int32_t b = 0; b < batch; ++b) {
        positions[static_cast<size_t>(b)] = prompt + step;
        seqs[static_cast<size_t>(b)] = b;
      }
      auto s = Clock::now();
      e.execute(batch, next.data(), positions.data(), seqs.data(), nullptr, batch, logits_.data());
      for (int32_t b = 0; b < batch; ++b)
        next[static_cast<size_t>(b)] = argmax(std::span<const float>(logits_.data() + static_cast<size_t>(b) * vocab, vocab));
      double dt = seconds_since(s);
      decode_s += dt;
      latencies.push_back(dt * 1000.0);
      produced.insert(produced.end(), next.begin(), next.end());
    }
    Sample out;
    out.pp = static_cast<double>(batch) * prompt / prefill_s;
    out.ttft_ms = prefill_s * 1000.0;
    if (generate > 0) {
      out.tg = static_cast<double>(batch) * generate / decode_s;
      out.p50 = stats::percentile(latencies, 50);
      out.p90 = stats::percentile(latencies, 90);
      out.p99 = stats::percentile(latencies, 99);
    }
    out.peak_rss = peak_rss_bytes();
    out.seconds = prefill_s + decode_s;
    out.tokens_sha256 = sha256_hex(std::span(reinterpret_cast<const uint8_t*>(produced.data()),
                                             produced.size() * sizeof(int32_t)));
    return out;
  }

  struct PointState {
    std::vector<Sample> samples;
    std::set<std::string> hashes;
    double measured_s = 0;
    std::string error;
  };

  bool keep_repeating(const std::vector<PointState>& st, int32_t done, double elapsed, bool has_tg) const {
    const MeasureSpec& m = exp_.measure;
    if (done < m.repetitions) return true;
    if (!m.auto_repetitions && m.min_time_s <= 0) return false;
    if (done >= m.max_repetitions || elapsed >= m.max_time_s) return false;
    for (size_t i = 0; i < st.size(); ++i) {
      if (!pipes_[i].engine || !st[i].error.empty()) continue;
      if (st[i].measured_s < m.min_time_s) return true;
      if (m.auto_repetitions) {
        std::vector<double> xs;
        for (const auto& s : st[i].samples) xs.push_back(has_tg ? s.tg : s.pp);
        auto summary = stats::summarize(xs, exp_.seed);
        if (stats::relative_ci_half_width(summary) > m.target_ci) return true;
      }
    }
    return false;
  }

  void run_point(const WorkloadPoint& pt, const std::vector<std::vector<int32_t>>& prompts) {
    const MeasureSpec& m = exp_.measure;
    std::vector<PointState> st(pipes_.size());
    size_t live = 0;
    for (const auto& p : pipes_) live += p.engine ? 1 : 0;
    progress_.add_total(live * static_cast<size_t>(m.warmup + m.repetitions));
    auto start = Clock::now();
    int32_t done = 0;
    round_probes_.clear();
    for (int32_t round = -m.warmup;; ++round) {
      if (round >= 0 && round >= m.repetitions) progress_.add_total(live);
      if (round >= 0) probe_round();
      for (size_t i = 0; i < pipes_.size(); ++i) {
        if (!pipes_[i].engine || !st[i].error.empty()) continue;
        if (stopped()) return;
        const PipelineSpec& spec = exp_.pipelines[i];
        Sample s;
        try {
          s = measure(*pipes_[i].engine, prompts, pt.generate);
        } catch (const Error& e) {
          st[i].error = e.what();
          progress_.note(fmt::format("pipeline '{}' FAILED at {}: {}", spec.name, pt.label(), e.what()));
          jsonl_.write({{"type", "failure"}, {"name", spec.name}, {"pipeline", resolved_[i]},
                        {"workload", pt.json()}, {"error", e.what()}});
          continue;
        }
        jsonl_.write({{"type", "sample"}, {"name", spec.name}, {"pipeline", resolved_[i]},
                      {"workload", pt.json()}, {"repetition", round}, {"warmup", round < 0},
                      {"pp_tokens_per_s", s.pp},
                      {"tg_tokens_per_s", pt.generate > 0 ? nlohmann::json(s.tg) : nlohmann::json(nullptr)},
                      {"ttft_ms", s.ttft_ms},
                      {"tg_latency_ms_p50", pt.generate > 0 ? nlohmann::json(s.p50) : nlohmann::json(nullptr)},
                      {"tg_latency_ms_p90", pt.generate > 0 ? nlohmann::json(s.p90) : nlohmann::json(nullptr)},
                      {"tg_latency_ms_p99", pt.generate > 0 ? nlohmann::json(s.p99) : nlohmann::json(nullptr)},
                      {"peak_rss_bytes", s.peak_rss}, {"tokens_sha256", s.tokens_sha256}});
        st[i].hashes.insert(s.tokens_sha256);
        if (round >= 0) {
          st[i].samples.push_back(s);
          st[i].measured_s += s.seconds;
        }
        progress_.step(fmt::format("{} {} {} {}/{}: pp {:.1f} t/s{}", spec.name, pt.label(),
                                   round < 0 ? "warm-up" : "rep", round < 0 ? round + m.warmup + 1 : round + 1,
                                   round < 0 ? m.warmup : m.repetitions, s.pp,
                                   pt.generate > 0 ? fmt::format(", tg {:.1f} t/s", s.tg) : ""));
      }
      if (round < 0) continue;
      done = round + 1;
      if (!keep_repeating(st, done, seconds_since(start), pt.generate > 0)) break;
    }
    emit_rows(pt, st);
  }

  nlohmann::json summary(const std::vector<PointState>& st, size_t i, double Sample::*field) const {
    std::vector<double> xs;
    for (const auto& s : st[i].samples) xs.push_back(s.*field);
    return stats::to_json(stats::summarize(xs, exp_.seed));
  }

  void emit_rows(const WorkloadPoint& pt, const std::vector<PointState>& st) {
    const size_t base = exp_.baseline;
    const bool base_ok = pipes_[base].engine && st[base].error.empty() && !st[base].samples.empty();
    for (size_t i = 0; i < pipes_.size(); ++i) {
      const PipelineSpec& spec = exp_.pipelines[i];
      const PointState& s = st[i];
      std::string error = pipes_[i].engine ? s.error : pipes_[i].error;
      bool ok = error.empty() && !s.samples.empty();
      if (error.empty() && s.samples.empty()) error = "no repetition was measured (interrupted)";
      nlohmann::json row = {{"name", spec.name}, {"model", exp_.model.name},
                            {"pipeline", resolved_[i]}, {"written", spec.text},
                            {"baseline", i == base},
                            {"workload", pt.json()}, {"status", ok ? "ok" : "failed"},
                            {"error", ok ? nlohmann::json(nullptr) : nlohmann::json(error)},
                            {"repetitions", s.samples.size()}, {"warmup", exp_.measure.warmup},
                            {"deterministic", s.hashes.size() <= 1}};
      if (ok) {
        bool tg = pt.generate > 0;
        uint64_t peak = 0;
        for (const auto& x : s.samples) peak = std::max(peak, x.peak_rss);
        row["metrics"] = {{"pp_tokens_per_s", summary(st, i, &Sample::pp)},
                          {"tg_tokens_per_s", tg ? summary(st, i, &Sample::tg) : nlohmann::json(nullptr)},
                          {"ttft_ms", summary(st, i, &Sample::ttft_ms)},
                          {"tg_latency_ms_p50", tg ? summary(st, i, &Sample::p50) : nlohmann::json(nullptr)},
                          {"tg_latency_ms_p90", tg ? summary(st, i, &Sample::p90) : nlohmann::json(nullptr)},
                          {"tg_latency_ms_p99", tg ? summary(st, i, &Sample::p99) : nlohmann::json(nullptr)},
                          {"peak_rss_bytes", peak},
                          {"weight_bytes", pipes_[i].weight_bytes}};
        if (base_ok) {
          // Ratios of repetitions measured in the same round, so drift cancels.
          size_t n = std::min(s.samples.size(), st[base].samples.size());
          std::vector<double> pp, tgr;
          for (size_t r = 0; r < n; ++r) {
            pp.push_back(s.samples[r].pp / st[base].samples[r].pp);
            if (tg) tgr.push_back(s.samples[r].tg / st[base].samples[r].tg);
          }
          row["speedup_vs_baseline"] = {
              {"pp", stats::to_json(stats::summarize(pp, exp_.seed))},
              {"tg", tg ? stats::to_json(stats::summarize(tgr, exp_.seed)) : nlohmann::json(nullptr)}};
        } else {
          row["speedup_vs_baseline"] = nullptr;
        }
        row["roofline"] = row_roofline(i, pt, row["metrics"]);
      } else {
        row["metrics"] = nullptr;
        row["speedup_vs_baseline"] = nullptr;
        row["roofline"] = nullptr;
      }
      std::string skipped = !plan_.quality_skipped.empty() ? plan_.quality_skipped : quality_skipped_;
      if (pipes_[i].quality) {
        row["quality"] = to_json(*pipes_[i].quality);
        row["quality_skipped"] = nullptr;
      } else {
        row["quality"] = nullptr;
        row["quality_skipped"] = !skipped.empty() ? skipped
                                 : !pipes_[i].error.empty() ? "the pipeline failed"
                                                            : "interrupted before quality was measured";
      }
      jsonl_.write({{"type", "row"}, {"row", row}});
      results_["rows"].push_back(std::move(row));
    }
  }

  // Bandwidth drifts 20-30% within minutes on shared machines, so besides the probe at the start
  // every measured round re-probes briefly; a row's roofline uses the median of its rounds.
  void probe_round() {
    if (!probes_ || stopped()) return;
    // At the first round of a point, then at most every kRoundProbeInterval: quick rounds would
    // otherwise spend more time probing than measuring.
    if (!round_probes_.empty() && seconds_since(last_round_probe_) < kRoundProbeIntervalSeconds) return;
    last_round_probe_ = Clock::now();
    const uint64_t bytes = std::min<uint64_t>(probes_->read_bandwidth.array_bytes, kRoundProbeMaxBytes);
    try {
      round_probes_.push_back(run_probes(bytes, probes_->read_bandwidth.threads, round_probe_seconds_));
    } catch (const std::exception& e) {
      progress_.note(fmt::format("round probe failed: {}", e.what()));
    }
  }

  nlohmann::json row_roofline(size_t i, const WorkloadPoint& pt, const nlohmann::json& metrics) const {
    if (!probes_) return nullptr;
    double bandwidth = probes_->read_bandwidth.bytes_per_s, gemm = probes_->gemm.flops_per_s;
    std::vector<double> bw, fl;
    if (!round_probes_.empty()) {
      for (const auto& r : round_probes_) {
        bw.push_back(r.read_bandwidth.bytes_per_s);
        fl.push_back(r.gemm.flops_per_s);
      }
      bandwidth = stats::median(bw);
      gemm = stats::median(fl);
    }
    const nlohmann::json& tg = metrics.at("tg_tokens_per_s");
    nlohmann::json out = to_json(roofline(pipes_[i].step_cost, bandwidth, gemm, pt.batch,
                                          metrics.at("pp_tokens_per_s").at("median").get<double>(),
                                          tg.is_object() ? std::optional(tg["median"].get<double>()) : std::nullopt));
    out["probes"] = round_probes_.size();
    // Each round probe's best pass, in the order taken: the spread the median hides (a machine
    // whose bandwidth switches level mid-run shows it here).
    if (!bw.empty()) out["probe_bandwidths_bytes_per_s"] = bw;
    return out;
  }

  void finish() {
    bool complete = !stopped();
    results_["complete"] = complete;
    results_["finished_at"] = utc_now();
    if (!quality_skipped_.empty()) results_["quality_skipped"] = quality_skipped_;
    for (size_t i = 0; i < pipes_.size(); ++i) {
      auto& p = results_["pipelines"][i];
      p["status"] = pipes_[i].engine ? "ok" : "failed";
      p["error"] = pipes_[i].engine ? nlohmann::json(nullptr) : nlohmann::json(pipes_[i].error);
      p["weight_bytes"] = pipes_[i].engine ? nlohmann::json(pipes_[i].weight_bytes) : nlohmann::json(nullptr);
      p["quality"] = pipes_[i].quality ? to_json(*pipes_[i].quality) : nlohmann::json(nullptr);
    }
  }

  const ExperimentPlan& plan_;
  const Experiment& exp_;
  const PluginRegistry& registry_;
  const RunOptions& options_;
  const nlohmann::json& environment_;  // read before anything was written (see run_experiment)
  JsonlWriter& jsonl_;
  Progress progress_;
  nlohmann::json results_;
  std::vector<PipelineState> pipes_;
  std::vector<int32_t> prompt_stream_;
  std::vector<float> logits_;
  std::string quality_skipped_;
  std::vector<std::string> resolved_;  // each pipeline's text with every parameter spelled out
  double probe_seconds_;
  std::vector<ProbeResult> round_probes_;  // short probes of the current workload point's rounds
  Clock::time_point last_round_probe_;
  double round_probe_seconds_ = 0.2;
  std::optional<ProbeResult> probes_;   // none when they failed or the run was interrupted first
};

}  // namespace

nlohmann::json run_experiment(const std::vector<ExperimentPlan>& plans, const PluginRegistry& registry,
                              const RunOptions& options) {
  const double probe_seconds = probe_seconds_from_env(kProbeSeconds);  // a bad value writes nothing
  // Before the output folder is touched: re-measuring a committed report in place rewrites tracked
  // files, which would otherwise make every such record say its checkout was dirty.
  const nlohmann::json environment = environment_json();
  fs::create_directories(options.out_dir);
  JsonlWriter jsonl(options.out_dir + "/results.jsonl");
  // One pass per model, one after the other (each frees its engines before the next loads);
  // the record is the first model's, with every model's rows and a "models" list.
  nlohmann::json results;
  for (const ExperimentPlan& plan : plans) {
    if (!results.is_null() && options.interrupted && options.interrupted->load()) break;
    nlohmann::json one = Runner(plan, registry, options, environment, probe_seconds, jsonl).run();
    nlohmann::json model = one["model"];
    model["probes"] = one["environment"]["probes"];
    model["pipelines"] = one["pipelines"];
    model["quality_skipped"] = one["quality_skipped"];
    if (results.is_null()) {
      results = std::move(one);
      results["models"] = nlohmann::json::array();
    } else {
      for (auto& row : one["rows"]) results["rows"].push_back(std::move(row));
      results["complete"] = one["complete"];
      results["finished_at"] = one["finished_at"];
    }
    results["models"].push_back(std::move(model));
  }
  jsonl.write({{"type", "end"}, {"complete", results["complete"]}, {"finished_at", results["finished_at"]}});
  return results;
}

}  // namespace accelab
