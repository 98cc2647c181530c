#pragma once
// The process_* self-metrics every Prometheus client library exports (CPU seconds, resident and
// virtual memory, open and maximum file descriptors, start time, threads), read from /proc/self.
// The daemon refreshes them on a timer (Daemon), never per scrape.
#include <optional>
#include <string_view>

#include "core/exposition.hpp"

namespace pgpulse::daemon {

struct ProcessStats {
  double cpu_seconds = 0;  // user + system
  double resident_memory_bytes = 0;
  double virtual_memory_bytes = 0;
  double start_time_seconds = 0;  // Unix time
  double threads = 0;
  double open_fds = 0;
  double max_fds = 0;
};

// /proc/self/stat: utime, stime, num_threads, starttime (in clock ticks since boot), vsize and
// rss (in pages). Leaves open_fds and max_fds at 0; nullopt when the text does not parse.
std::optional<ProcessStats> parse_proc_stat(std::string_view stat, double ticks_per_second,
                                            double page_size, double boot_time_seconds);

// The "btime" line of /proc/stat (boot time, Unix seconds); nullopt without one.
std::optional<double> parse_boot_time(std::string_view proc_stat);

// This process now: /proc/self/stat, /proc/self/fd and RLIMIT_NOFILE. When /proc/stat is hidden
// (systemd's ProcSubset=pid), the start time is the clock read when pgpulse started.
std::optional<ProcessStats> read_process_stats();

void add_process_families(core::Families& families, const ProcessStats& stats);

}  // namespace pgpulse::daemon
