#include "accelab_cpu/huge_pages.hpp"

#include <cstdint>
#include <new>

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace accelab::cpu {
namespace {

constexpr std::align_val_t kLine{64};

}  // namespace

void StreamBufferFree::operator()(std::byte* p) const noexcept {
  if (p == nullptr) return;
#ifdef __linux__
  if (mapped > 0) {
    munmap(p, mapped);
    return;
  }
#endif
  operator delete[](p, kLine);
}

StreamBuffer stream_buffer(size_t bytes) {
  bytes = bytes == 0 ? 1 : bytes;
#ifdef __linux__
  if (bytes >= kHugePageBytes) {
    if (bytes > SIZE_MAX - 2 * kHugePageBytes) throw std::bad_alloc();  // the rounding below would wrap
    const size_t mapped = (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
    // One huge page more than needed, then the unaligned head and the tail given back: an
    // anonymous mapping is only 4 KiB aligned, and a huge page must start on a 2 MiB boundary.
    void* raw = mmap(nullptr, mapped + kHugePageBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    const auto start = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t aligned = (start + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
    if (aligned > start) munmap(raw, aligned - start);
    const uintptr_t end = start + mapped + kHugePageBytes;
    if (end > aligned + mapped) munmap(reinterpret_cast<void*>(aligned + mapped), end - (aligned + mapped));
    auto* p = reinterpret_cast<std::byte*>(aligned);
    madvise(p, mapped, MADV_HUGEPAGE);  // advice: failure leaves 4 KiB pages
    return StreamBuffer(p, StreamBufferFree{mapped});
  }
#endif
  return StreamBuffer(new (kLine) std::byte[bytes](), StreamBufferFree{0});
}

}  // namespace accelab::cpu
