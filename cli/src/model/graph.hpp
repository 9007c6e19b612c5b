// The llama forward pass as the host defines it: a flat list of coarse operations over a few
// activation values, which backends execute (see accelab_graph in plugin.h).
#pragma once

#include <accelab/plugin.h>

#include <string>
#include <vector>

#include "model/model.hpp"

namespace accelab {

/// Owns the arrays behind an accelab_graph.
class ModelGraph {
 public:
  /// Builds the llama graph over `model`'s tensors (by name). Throws FileError naming the
  /// model's source when a tensor is missing or has the wrong shape.
  explicit ModelGraph(const Model& model);
  ModelGraph(const ModelGraph&) = delete;
  ModelGraph& operator=(const ModelGraph&) = delete;

  [[nodiscard]] const accelab_graph* abi() const { return &abi_; }
  [[nodiscard]] const std::vector<accelab_node>& nodes() const { return nodes_; }
  [[nodiscard]] const std::vector<accelab_value>& values() const { return values_; }
  /// One line per node, for --verbose and tests: "blk.0 matmul q <- h [blk.0.attn_q.weight f32]".
  [[nodiscard]] std::string describe() const;

 private:
  std::vector<accelab_value> values_;
  std::vector<accelab_node> nodes_;
  accelab_graph abi_{};
  const Model* model_;
};

}  // namespace accelab
