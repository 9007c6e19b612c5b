// The measurement loop, owned by the host: quality against the baseline, then for every
// workload point warm-up and measured repetitions with the pipelines interleaved (A B C A B C…),
// statistics per row and speed-ups per repetition pair. Every sample is appended to
// results.jsonl as soon as it is measured.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiment/plan.hpp"
#include "plugin/registry.hpp"

namespace accelab {

struct RunOptions {
  std::string out_dir;                         ///< Created if missing.
  bool tty = false;                            ///< Progress as a live line instead of a log.
  const std::atomic<bool>* interrupted = nullptr;  ///< Set by a signal handler: stop soon.
};

/// Runs the experiment on each planned model in turn; returns the results.json record (with
/// "complete": false when interrupted). Writes results.jsonl as it goes; the caller writes the
/// other views.
nlohmann::json run_experiment(const std::vector<ExperimentPlan>& plans, const PluginRegistry& registry,
                              const RunOptions& options);

}  // namespace accelab
