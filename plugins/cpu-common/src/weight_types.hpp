// Element types of weight matrices as distinct C++ types, so kernels can overload on them.
#pragma once

#include <cstdint>

namespace accelab::cpu {
namespace {

enum class f16_t : uint16_t {};
enum class bf16_t : uint16_t {};

}  // namespace
}  // namespace accelab::cpu
