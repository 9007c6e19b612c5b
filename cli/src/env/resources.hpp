// Memory probes for experiment results: how much resident memory a run used.
#pragma once

#include <cstdint>

namespace accelab {

/// Peak resident set size of this process so far, in bytes: /proc/self/status VmHWM, else
/// getrusage ru_maxrss * 1024; 0 when neither is available. The peak is process-wide: it
/// covers every thread and everything the process did before, not one measured region.
uint64_t peak_rss_bytes();

/// Current resident set size of this process, in bytes (/proc/self/statm); 0 when unavailable.
uint64_t current_rss_bytes();

/// Resets the kernel's peak RSS counter (VmHWM) to the current RSS by writing "5" to
/// /proc/self/clear_refs; returns whether that worked. Afterwards peak_rss_bytes() tracks the
/// peak since the reset. Being process-wide, a reset also affects any other measurement
/// running concurrently in this process.
bool reset_peak_rss();

}  // namespace accelab
