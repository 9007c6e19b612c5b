#include "runtime/engine.hpp"

#include <accelab/plugin.hpp>
#include <fmt/format.h>

#include <algorithm>

#include "util/error.hpp"

namespace accelab {

// What a parallel strategy receives to create its inner backend instances.
struct Engine::InnerFactory {
  accelab_backend_factory c{};
  const LoadedStrategy* strategy = nullptr;
  ParamValues params;

  static accelab_status create(void* ctx, void** instance, accelab_error* err) {
    auto* self = static_cast<InnerFactory*>(ctx);
    return self->strategy->table->create(host_services(), self->params.values.data(), instance, err);
  }
  static void destroy(void* ctx, void* instance) {
    static_cast<InnerFactory*>(ctx)->strategy->table->destroy(instance);
  }
};

std::unique_ptr<StrategyInstance> Engine::create_backend(const Plan& plan,
                                                         std::unique_ptr<InnerFactory>& inner) {
  auto backend = std::make_unique<StrategyInstance>(*plan.backend.strategy, plan.backend.params);
  const accelab_strategy& table = backend->table();
  if (table.kind == ACCELAB_STRATEGY_PARALLEL) {
    const PlannedStage& child = plan.backend.children.at(0);
    inner = std::make_unique<InnerFactory>();
    inner->strategy = child.strategy;
    inner->params = child.params;
    inner->c = {inner.get(), child.strategy->table->backend, &InnerFactory::create,
                &InnerFactory::destroy};
    accelab_error err{};
    backend->check(table.parallel->set_inner(backend->handle(), &inner->c, &err), err, "set_inner");
  }
  return backend;
}

void Engine::check_supports(const StrategyInstance& backend, const ModelGraph& graph) {
  accelab_error err{};
  for (const accelab_node& node : graph.nodes()) {
    accelab_status st = backend.table().backend->supports(backend.handle(), graph.abi(), &node, &err);
    if (st != ACCELAB_STATUS_OK) {
      std::string where = node.layer >= 0 ? fmt::format(" in block {}", node.layer) : "";
      backend.check(st, err, fmt::format("supports ({}{})", op_name(node.op), where).c_str());
    }
  }
}

void Engine::check_plan(const Plan& plan, std::unique_ptr<Model> skeleton) {
  for (const PlannedStage& t : plan.transforms) {
    StrategyInstance instance(*t.strategy, t.params);
    auto plan_fn = instance.table().transform->plan;
    if (plan_fn == nullptr) continue;
    for (int32_t i = 0; i < skeleton->abi()->n_tensors; ++i) {
      accelab_tensor meta = skeleton->tensor(i);
      accelab_error err{};
      instance.check(plan_fn(instance.handle(), &skeleton->config(), &meta, &err), err, "plan");
      meta.data = nullptr;
      skeleton->replace_tensor(i, meta);
    }
  }
  ModelGraph graph(*skeleton);
  std::unique_ptr<InnerFactory> inner;
  auto backend = create_backend(plan, inner);
  check_supports(*backend, graph);
}

Engine::Engine(const Plan& plan, std::unique_ptr<Model> model, const accelab_limits& limits,
               const CalibrationText& calibration)
    : model_(std::move(model)), limits_(limits), text_(plan.text) {
  limits_.struct_size = sizeof(accelab_limits);
  transform_records_ = apply_transforms(plan, *model_, calibration);
  graph_ = std::make_unique<ModelGraph>(*model_);
  backend_ = create_backend(plan, inner_);
  check_supports(*backend_, *graph_);
  accelab_error err{};
  backend_->check(backend_->table().backend->prepare(backend_->handle(), graph_->abi(), &limits_, &err),
                  err, "prepare");
  positions_.resize(static_cast<size_t>(limits_.max_rows));
  seq_ids_.resize(static_cast<size_t>(limits_.max_rows));
  tokens_.resize(static_cast<size_t>(limits_.max_rows));
  logit_seq_.resize(static_cast<size_t>(limits_.max_rows));
  want_.resize(static_cast<size_t>(limits_.max_rows));
}

nlohmann::json Engine::apply_transforms(const Plan& plan, Model& model, const CalibrationText& calibration) {
  nlohmann::json records = nlohmann::json::array();
  for (const PlannedStage& t : plan.transforms) {
    StrategyInstance instance(*t.strategy, t.params);
    Calibrator calibrator(calibration);  // statistics of the model as this transform found it
    instance.services().calibrator = &calibrator;
    accelab_error err{};
    const accelab_status st = instance.table().transform->apply(instance.handle(), model.abi(), &err);
    instance.services().calibrator = nullptr;
    instance.check(st, err, "apply");
    if (!instance.services().record.empty())
      records.push_back({{"strategy", std::string(instance.strategy().name())}, {"kind", "transform"},
                         {"record", instance.services().record}});
  }
  return records;
}

Engine::~Engine() = default;

nlohmann::json Engine::strategy_records() const {
  nlohmann::json out = transform_records_;
  if (!backend_->services().record.empty())
    out.push_back({{"strategy", std::string(backend_->strategy().name())}, {"kind", "backend"}, {"record", backend_->services().record}});
  return out;
}

void Engine::execute(const accelab_batch& batch) {
  accelab_error err{};
  backend_->check(backend_->table().backend->execute(backend_->handle(), &batch, &err), err,
                  "execute");
}

void Engine::execute(int32_t rows, const int32_t* tokens, const int32_t* positions,
                     const int32_t* seq_ids, const uint8_t* want_logits, int32_t n_logits,
                     float* logits) {
  accelab_batch b{};
  b.struct_size = sizeof b;
  b.n_rows = rows;
  b.tokens = tokens;
  b.positions = positions;
  b.seq_ids = seq_ids;
  b.want_logits = want_logits;
  b.n_logits = n_logits;
  b.logits = logits;
  execute(b);
}

void Engine::run_sequence(std::span<const int32_t> tokens, int32_t start, int32_t seq,
                          bool all_logits, float* logits) {
  const auto total = static_cast<int32_t>(tokens.size());
  if (start + total > limits_.max_positions)
    throw Error(fmt::format("sequence of {} tokens from position {} exceeds the {} positions "
                            "prepared (the model's seq_len is {})",
                            total, start, limits_.max_positions, config().seq_len));
  const int64_t vocab = config().vocab_size;
  for (int32_t done = 0; done < total;) {
    int32_t rows = std::min(limits_.max_rows, total - done);
    bool last_chunk = done + rows == total;
    for (int32_t r = 0; r < rows; ++r) {
      positions_[static_cast<size_t>(r)] = start + done + r;
      seq_ids_[static_cast<size_t>(r)] = seq;
      want_[static_cast<size_t>(r)] = all_logits || (last_chunk && r == rows - 1);
    }
    execute(rows, tokens.data() + done, positions_.data(), seq_ids_.data(), want_.data(),
            all_logits ? rows : (last_chunk ? 1 : 0), all_logits ? logits + done * vocab : logits);
    done += rows;
  }
}

void Engine::prefill(const std::vector<std::vector<int32_t>>& prompts, float* last_logits) {
  const size_t vocab = static_cast<size_t>(config().vocab_size);
  std::vector<float>& scratch = prefill_logits_;
  scratch.resize(static_cast<size_t>(limits_.max_rows) * vocab);
  int32_t rows = 0, wanted = 0;
  auto flush = [&] {
    if (rows == 0) return;
    execute(rows, tokens_.data(), positions_.data(), seq_ids_.data(), want_.data(), wanted, scratch.data());
    for (int32_t j = 0; j < wanted; ++j)
      std::copy_n(scratch.data() + static_cast<size_t>(j) * vocab, vocab,
                  last_logits + static_cast<size_t>(logit_seq_[static_cast<size_t>(j)]) * vocab);
    rows = wanted = 0;
  };
  for (size_t s = 0; s < prompts.size(); ++s) {
    const auto& p = prompts[s];
    if (static_cast<int32_t>(p.size()) > limits_.max_positions)
      throw Error(fmt::format("prompt of {} tokens exceeds the {} positions prepared", p.size(), limits_.max_positions));
    for (size_t i = 0; i < p.size(); ++i) {
      const auto r = static_cast<size_t>(rows);
      tokens_[r] = p[i];
      positions_[r] = static_cast<int32_t>(i);
      seq_ids_[r] = static_cast<int32_t>(s);
      want_[r] = i + 1 == p.size();
      if (want_[r]) logit_seq_[static_cast<size_t>(wanted++)] = static_cast<int32_t>(s);
      if (++rows == limits_.max_rows) flush();
    }
  }
  flush();
}

}  // namespace accelab
