// The shared conformance suite: each backend strategy in the default plugin directory must
// accept a plain f32 llama graph, agree with itself across batch shapes, and match cpu-ref.
//
// Tolerance: logits within 1e-4 relative of cpu-ref's on the same input (1e-4 absolute for
// logits below 1 in magnitude; float32 kernels may sum in another order); greedy generation of
// the golden prompts identical; perplexity within 1e-4. cpu-ref itself is checked for exact
// equality where the order of arithmetic does not change.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/default_registry.hpp"
#include "model/llama2c.hpp"
#include "model/synth.hpp"
#include "pipeline/planner.hpp"
#include "runtime/engine.hpp"
#include "runtime/generate.hpp"
#include "runtime/perplexity.hpp"
#include "tokenizer/tokenizer.hpp"
#include "util/error.hpp"

namespace accelab {
namespace {

const PluginRegistry& registry() { return test_support::default_registry(); }

std::vector<std::string> backends() {
  std::vector<std::string> out;
  for (const auto& p : registry().plugins())
    for (const auto& s : p->strategies)
      if (s.table->kind == ACCELAB_STRATEGY_BACKEND && s.available()) out.emplace_back(s.name());
  return out;
}

// A small synthetic model with grouped-query attention, written once per test process and
// removed at exit. The path is complete before the exit handler is registered, so it outlives
// the handler (static objects die in the reverse order of their completion and registration).
std::string tiny_model() {
  static const std::filesystem::path file =
      std::filesystem::temp_directory_path() / ("accelab-conformance-" + std::to_string(::getpid()) + ".bin");
  static const bool written = [] {
    write_synthetic_llama2c(
        parse_synth_shape("dim=32,hidden=64,layers=2,heads=4,kv-heads=2,vocab=48,seq=32"), 7,
        file.string());
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove(file, ignored);
    });
    return true;
  }();
  (void)written;
  return file.string();
}

accelab_limits limits(int32_t rows, int32_t seqs, int32_t positions) {
  accelab_limits l{};
  l.struct_size = sizeof l;
  l.max_rows = rows;
  l.max_sequences = seqs;
  l.max_positions = positions;
  return l;
}

std::unique_ptr<Engine> make_engine(const std::string& backend, const std::string& model_path,
                                    const accelab_limits& l) {
  return std::make_unique<Engine>(plan_pipeline(registry(), backend), load_llama2c(model_path), l);
}

const std::vector<int32_t> kTokens = {1, 5, 17, 3, 44, 9, 9, 30, 2, 11, 40, 7};

// Logits for every position of kTokens fed one token per call.
std::vector<float> stepwise_logits(Engine& e) {
  const size_t vocab = static_cast<size_t>(e.config().vocab_size);
  std::vector<float> out(kTokens.size() * vocab);
  for (size_t i = 0; i < kTokens.size(); ++i)
    e.run_sequence(std::span<const int32_t>(&kTokens[i], 1), static_cast<int32_t>(i), 0, false,
                   out.data() + i * vocab);
  return out;
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want, double tol,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  size_t bad = 0;
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    double err = std::abs(double(got[i]) - double(want[i]));
    double allowed = tol * std::max(1.0, std::abs(double(want[i])));
    if (!(err <= allowed)) ++bad;  // NaN counts as bad
    worst = std::max(worst, err);
  }
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << got.size()
                     << " logits off, worst abs error " << worst;
}

class Conformance : public ::testing::TestWithParam<std::string> {};

TEST(ConformanceSetup, FindsAtLeastTheReferenceBackend) {
  auto names = backends();
  EXPECT_NE(std::find(names.begin(), names.end(), "cpu-ref"), names.end())
      << "cpu-ref not found; build the plugins first";
}

TEST_P(Conformance, SupportsEveryNodeOfAnF32Graph) {
  EXPECT_NO_THROW(make_engine(GetParam(), tiny_model(), limits(4, 1, 32)));
}

TEST_P(Conformance, PrefillMatchesStepwiseDecode) {
  auto e = make_engine(GetParam(), tiny_model(), limits(16, 1, 32));
  std::vector<float> step = stepwise_logits(*e);
  std::vector<float> prefill(step.size());
  e->run_sequence(kTokens, 0, 0, true, prefill.data());
  expect_close(prefill, step, GetParam() == "cpu-ref" ? 0.0 : 1e-4, "prefill vs stepwise");
}

TEST_P(Conformance, ChunkedPrefillMatchesWholePrefill) {
  auto whole = make_engine(GetParam(), tiny_model(), limits(16, 1, 32));
  auto chunked = make_engine(GetParam(), tiny_model(), limits(5, 1, 32));
  const size_t vocab = static_cast<size_t>(whole->config().vocab_size);
  std::vector<float> a(kTokens.size() * vocab), b(a.size());
  whole->run_sequence(kTokens, 0, 0, true, a.data());
  chunked->run_sequence(kTokens, 0, 0, true, b.data());
  expect_close(b, a, GetParam() == "cpu-ref" ? 0.0 : 1e-4, "chunks of 5 rows vs one call");
}

TEST_P(Conformance, InterleavedSequencesAreIndependent) {
  // Two sequences advanced in the same batches must give what each gives alone.
  auto e = make_engine(GetParam(), tiny_model(), limits(4, 2, 32));
  const int32_t vocab = e->config().vocab_size;
  const std::vector<int32_t> other = {1, 40, 2, 2, 8, 31, 17, 6, 5, 4, 3, 29};
  std::vector<float> both(2 * kTokens.size() * static_cast<size_t>(vocab));
  for (size_t i = 0; i < kTokens.size(); ++i) {
    int32_t tokens[2] = {kTokens[i], other[i]};
    int32_t positions[2] = {static_cast<int32_t>(i), static_cast<int32_t>(i)};
    int32_t seqs[2] = {0, 1};
    accelab_batch b{};
    b.struct_size = sizeof b;
    b.n_rows = 2;
    b.tokens = tokens;
    b.positions = positions;
    b.seq_ids = seqs;
    b.want_logits = nullptr;
    b.n_logits = 2;
    b.logits = both.data() + 2 * i * static_cast<size_t>(vocab);
    e->execute(b);
  }
  auto alone = make_engine(GetParam(), tiny_model(), limits(4, 1, 32));
  std::vector<float> first = stepwise_logits(*alone);
  std::vector<float> first_from_batch;
  for (size_t i = 0; i < kTokens.size(); ++i)
    first_from_batch.insert(first_from_batch.end(), both.begin() + 2 * i * vocab,
                            both.begin() + (2 * i + 1) * vocab);
  expect_close(first_from_batch, first, GetParam() == "cpu-ref" ? 0.0 : 1e-4,
               "sequence 0 batched with sequence 1");
}

TEST_P(Conformance, BatchedPrefillMatchesOneSequenceAtATime) {
  // Three prompts of different lengths packed into shared batches of at most 7 rows.
  const std::vector<std::vector<int32_t>> prompts = {{1, 5, 17, 3, 44}, {1, 40, 2}, {1, 9, 9, 30, 2, 11, 40, 7, 8}};
  auto packed = make_engine(GetParam(), tiny_model(), limits(7, 3, 32));
  auto alone = make_engine(GetParam(), tiny_model(), limits(16, 1, 32));
  const size_t vocab = static_cast<size_t>(packed->config().vocab_size);
  std::vector<float> got(prompts.size() * vocab), want(got.size());
  packed->prefill(prompts, got.data());
  for (size_t s = 0; s < prompts.size(); ++s) alone->run_sequence(prompts[s], 0, 0, false, want.data() + s * vocab);
  expect_close(got, want, GetParam() == "cpu-ref" ? 0.0 : 1e-4, "packed prefill vs one sequence at a time");
}

TEST_P(Conformance, MatchesReferenceOnSyntheticModel) {
  auto e = make_engine(GetParam(), tiny_model(), limits(16, 1, 32));
  auto ref = make_engine("cpu-ref", tiny_model(), limits(16, 1, 32));
  const size_t vocab = static_cast<size_t>(e->config().vocab_size);
  std::vector<float> got(kTokens.size() * vocab), want(got.size());
  e->run_sequence(kTokens, 0, 0, true, got.data());
  ref->run_sequence(kTokens, 0, 0, true, want.data());
  expect_close(got, want, 1e-4, "vs cpu-ref");
}

TEST_P(Conformance, MatchesReferenceOnRealModel) {
  const char* env = std::getenv("ACCELAB_DATA");
  std::string model = std::string(env ? env : ACCELAB_SOURCE_DIR "/../shared") + "/models/stories260K.bin";
  if (!std::filesystem::exists(model)) GTEST_SKIP() << "missing " << model;
  auto e = make_engine(GetParam(), model, limits(64, 1, 512));
  auto ref = make_engine("cpu-ref", model, limits(64, 1, 512));
  std::vector<int32_t> tokens;
  for (int32_t i = 0; i < 100; ++i) tokens.push_back(i == 0 ? 1 : (i * 37 + 11) % 512);
  std::vector<float> got(tokens.size() * 512), want(got.size());
  e->run_sequence(tokens, 0, 0, true, got.data());
  ref->run_sequence(tokens, 0, 0, true, want.data());
  expect_close(got, want, 1e-4, "stories260K vs cpu-ref");
}

std::string data_path(const std::string& rel) {
  const char* env = std::getenv("ACCELAB_DATA");
  return std::string(env ? env : ACCELAB_SOURCE_DIR "/../shared") + "/" + rel;
}

TEST_P(Conformance, GreedyGenerationMatchesGolden) {
  std::string golden = data_path("golden/stories260K-greedy.jsonl");
  std::string model = data_path("models/stories260K.bin");
  if (!std::filesystem::exists(golden) || !std::filesystem::exists(model)) GTEST_SKIP() << "missing " << golden;
  Tokenizer tok = Tokenizer::load(data_path("models/tok512.bin"), 512);
  std::ifstream in(golden);
  std::string line;
  int cases = 0;
  while (std::getline(in, line)) {
    auto g = nlohmann::json::parse(line);
    auto e = make_engine(GetParam(), model, limits(512, 1, 512));
    Sampler greedy(512, 0.0f, 0.9f, 1);
    Generation out = generate(*e, tok, g["prompt"].get<std::string>(), g["steps"].get<int32_t>(), greedy);
    EXPECT_EQ(out.tokens, g["tokens"].get<std::vector<int32_t>>()) << "prompt '" << g["prompt"] << "'";
    EXPECT_EQ(out.text, g["text"].get<std::string>());
    ++cases;
  }
  EXPECT_EQ(cases, 4);
}

TEST_P(Conformance, PerplexityMatchesReference) {
  std::string model = data_path("models/stories260K.bin");
  std::string text = data_path("data/tinystories_valid_first1000.txt");
  if (!std::filesystem::exists(model) || !std::filesystem::exists(text)) GTEST_SKIP() << "missing " << text;
  Tokenizer tok = Tokenizer::load(data_path("models/tok512.bin"), 512);
  std::ifstream in(text);
  std::stringstream ss;
  ss << in.rdbuf();
  auto stories = split_stories(ss.str(), 20);
  auto e = make_engine(GetParam(), model, limits(512, 1, 512));
  auto ref = make_engine("cpu-ref", model, limits(512, 1, 512));
  PerplexityResult got = perplexity(*e, tok, stories), want = perplexity(*ref, tok, stories);
  EXPECT_EQ(got.tokens, want.tokens);
  EXPECT_NEAR(got.mean_nll, want.mean_nll, 1e-4);
}

TEST_P(Conformance, RejectsBatchesBeyondItsLimits) {
  auto e = make_engine(GetParam(), tiny_model(), limits(2, 1, 32));
  std::vector<int32_t> tokens = {1, 2, 3}, positions = {0, 1, 2}, seqs = {0, 0, 0};
  std::vector<float> logits(3 * 48);
  accelab_batch b{};
  b.struct_size = sizeof b;
  b.n_rows = 3;
  b.tokens = tokens.data();
  b.positions = positions.data();
  b.seq_ids = seqs.data();
  b.n_logits = 3;
  b.logits = logits.data();
  EXPECT_THROW(e->execute(b), PluginError);
  b.n_rows = 1;
  positions[0] = 32;  // beyond max_positions
  EXPECT_THROW(e->execute(b), PluginError);
  positions[0] = 0;
  tokens[0] = 48;  // beyond the vocabulary
  EXPECT_THROW(e->execute(b), PluginError);
}

INSTANTIATE_TEST_SUITE_P(Backends, Conformance, ::testing::ValuesIn(backends()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace accelab
