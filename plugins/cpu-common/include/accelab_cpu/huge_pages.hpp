// Memory for the large arrays that kernels stream from DRAM (weights, the bandwidth probe's
// array): in transparent huge pages where Linux allows them.
//
// Why: on the Zen 5 EPYC (2 vCPUs, THP "madvise"), TinyLlama's float32 weights read through a
// file mapping of 4 KiB pages decoded at 12.6-13.6 tokens/s; read into huge pages, 13.8-16.3
// (plugins/cpu-common/README.md, "Huge pages"). A 4 KiB page is 64 cache lines: a stream takes a
// TLB miss every 64 lines, and under a hypervisor each miss walks two page tables.
#pragma once

#include <cstddef>
#include <memory>

namespace accelab::cpu {

/// Size of a transparent huge page on x86-64; stream_buffer maps arrays from this size on.
inline constexpr size_t kHugePageBytes = size_t{2} << 20;

/// Frees a stream_buffer: unmaps `mapped` bytes, or (mapped == 0) deletes a small array.
struct StreamBufferFree {
  size_t mapped = 0;
  void operator()(std::byte* p) const noexcept;
};
using StreamBuffer = std::unique_ptr<std::byte[], StreamBufferFree>;

/// `bytes` (at least 1) of zeroed memory, 64-byte aligned. From kHugePageBytes on, on Linux, an
/// anonymous mapping of whole huge pages starting on a huge-page boundary, advised to
/// transparent huge pages (MADV_HUGEPAGE; where the kernel refuses, the pages stay 4 KiB).
/// Throws std::bad_alloc.
StreamBuffer stream_buffer(size_t bytes);

}  // namespace accelab::cpu
