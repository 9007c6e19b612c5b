// hello.cpp: the smallest accelab plugin, explained line by line.
//
// A plugin is a shared library. The host (bin/accelab) opens it, calls the one function it
// exports, `accelab_plugin_entry`, and reads back a description of the *strategies* it offers.
// This plugin offers one TRANSFORM strategy named "hello". A transform normally rewrites the
// model's weights before a backend runs them; this one only logs a greeting.

// The C++ helpers: strategy base classes, parameter declarations and the ACCELAB_PLUGIN macro.
// They are header-only, so the plugin links no host code.
#include <accelab/plugin.hpp>

// std::array holds the parameter table.
#include <array>
// int64_t, the type of integer parameters.
#include <cstdint>

// An unnamed namespace keeps the class private to this file; only the entry point is exported.
namespace {

// One class per strategy. Deriving from accelab::Transform makes it a transform: the macro at
// the bottom builds the C function table for transforms from the virtual functions below.
class Hello : public accelab::Transform {
 public:
  // The name users write in a pipeline, e.g. "hello" or "hello<times=3>". It must be kebab-case
  // and unique among all loaded plugins.
  static constexpr const char* name = "hello";
  // One sentence that `accelab plugins` shows next to the name.
  static constexpr const char* description = "Logs a greeting and leaves the weights unchanged.";
  // The parameter table: int_param(name, default, min, max, doc). The host lists it, checks the
  // user's values against it (type, range) and fills in defaults before the constructor runs,
  // so the constructor never needs to validate anything.
  static constexpr std::array params{
      accelab::int_param("times", 1, 1, 10, "How many times to log the greeting.")};

  // The host calls this (through the macro's glue) to create an instance. `params` holds the
  // validated values; `host` gives access to logging and memory. An exception thrown here does
  // not crash the host: the glue turns it into an error message.
  Hello(const accelab::Params& params, const accelab::Host& host)
      : times_(params.integer("times")), host_(host) {}

  // Called once with the model's weights. A real transform would call host_.replace_tensor()
  // for each tensor it rewrites; this one touches nothing, so the model stays as it was.
  void apply(accelab_model& /*model*/) override {
    // Log through the host, never to stdout: the host decides where messages go.
    for (int64_t i = 0; i < times_; ++i) host_.log(ACCELAB_LOG_INFO, "hello from a plugin");
  }

 private:
  int64_t times_;       // the validated value of `times`, somewhere in 1..10
  accelab::Host host_;  // a small handle to the host's services, valid for this instance's life
};

}  // namespace

// Generates the exported `accelab_plugin_entry` function: plugin name, plugin version, one
// sentence of description, then every strategy class the plugin offers.
ACCELAB_PLUGIN("hello", "1.0.0", "An example plugin with a single do-nothing transform.", Hello)
