// A tiny transform built outside the accelab tree: if the host lists "consumer-check", the
// installed headers, CMake package and accelab_add_plugin() work for third-party plugins.
#include <accelab/plugin.hpp>

#include <array>

namespace {

class ConsumerCheck : public accelab::Transform {
 public:
  static constexpr const char* name = "consumer-check";
  static constexpr const char* description = "Proves an out-of-tree plugin builds and loads.";
  static constexpr std::array params{
      accelab::bool_param("verbose", false, "Log a line when applied.")};

  ConsumerCheck(const accelab::Params& params, const accelab::Host& host)
      : verbose_(params.boolean("verbose")), host_(host) {}

  void apply(accelab_model& /*model*/) override {
    if (verbose_) host_.log(ACCELAB_LOG_INFO, "consumer-check applied");
  }

 private:
  bool verbose_;
  accelab::Host host_;
};

}  // namespace

ACCELAB_PLUGIN("consumer", "0.1.0", "An out-of-tree test plugin.", ConsumerCheck)
