// Per-thread, 64-byte aligned scratch buffers for packed panels: grown on demand, kept for the
// thread's life, so a GEMM call allocates nothing in steady state.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>

namespace accelab::cpu {
namespace {

class Scratch {
 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() { std::free(data_); }

  float* get(size_t floats) {
    if (floats > size_) {
      std::free(data_);
      size_ = (floats + 15) & ~size_t{15};
      data_ = static_cast<float*>(std::aligned_alloc(64, size_ * sizeof(float)));
      if (!data_) {
        size_ = 0;
        throw std::bad_alloc();
      }
    }
    return data_;
  }

 private:
  float* data_ = nullptr;
  size_t size_ = 0;
};

// Slot 0: the weight panel, slot 1: the activation panel.
float* scratch(int slot, size_t floats) {
  thread_local Scratch buffers[2];
  return buffers[slot].get(floats);
}

}  // namespace
}  // namespace accelab::cpu
