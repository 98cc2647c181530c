#include "daemon/process_metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/time.hpp"

namespace pgpulse::daemon {

namespace {

// Read once, as early as static initialisation runs: the fallback start time.
const double kStartedAt = core::unix_now();

std::optional<double> number(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string read_text(const char* path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

std::optional<ProcessStats> parse_proc_stat(std::string_view stat, double ticks_per_second,
                                            double page_size, double boot_time_seconds) {
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields are counted
  // from the last ')'. Field 3 (state) is fields[0].
  auto close = stat.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0) return std::nullopt;
  std::vector<std::string_view> fields;
  for (std::size_t i = close + 1; i < stat.size();) {
    while (i < stat.size() && (stat[i] == ' ' || stat[i] == '\n')) ++i;
    auto start = i;
    while (i < stat.size() && stat[i] != ' ' && stat[i] != '\n') ++i;
    if (i > start) fields.push_back(stat.substr(start, i - start));
  }
  auto field = [&](std::size_t number_in_man_page) -> std::optional<double> {
    if (number_in_man_page < 3 || number_in_man_page - 3 >= fields.size()) return std::nullopt;
    return number(fields[number_in_man_page - 3]);
  };
  auto utime = field(14), stime = field(15), threads = field(20), starttime = field(22),
       vsize = field(23), rss = field(24);
  if (!utime || !stime || !threads || !starttime || !vsize || !rss) return std::nullopt;
  ProcessStats stats;
  stats.cpu_seconds = (*utime + *stime) / ticks_per_second;
  stats.threads = *threads;
  stats.start_time_seconds = boot_time_seconds + *starttime / ticks_per_second;
  stats.virtual_memory_bytes = *vsize;
  stats.resident_memory_bytes = *rss * page_size;
  return stats;
}

std::optional<double> parse_boot_time(std::string_view proc_stat) {
  std::size_t at = 0;
  while (at < proc_stat.size()) {
    auto end = proc_stat.find('\n', at);
    auto line = proc_stat.substr(at, end == std::string_view::npos ? end : end - at);
    if (line.rfind("btime ", 0) == 0) return number(line.substr(6));
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  return std::nullopt;
}

std::optional<ProcessStats> read_process_stats() {
  double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  auto boot = parse_boot_time(read_text("/proc/stat"));
  auto stats = parse_proc_stat(read_text("/proc/self/stat"), ticks, page, boot.value_or(0));
  if (!stats) return std::nullopt;
  if (!boot) stats->start_time_seconds = kStartedAt;
  std::error_code ec;
  double fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++fds;
  }
  stats->open_fds = fds;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    stats->max_fds = limit.rlim_cur == RLIM_INFINITY ? -1 : static_cast<double>(limit.rlim_cur);
  }
  return stats;
}

void add_process_families(core::Families& families, const ProcessStats& stats) {
  using core::add_counter;
  using core::add_gauge;
  using core::add_sample;
  add_sample(add_counter(families, "process_cpu_seconds_total",
                         "Total user and system CPU time spent in seconds."),
             {}, stats.cpu_seconds);
  add_sample(add_gauge(families, "process_resident_memory_bytes", "Resident memory size in bytes."),
             {}, stats.resident_memory_bytes);
  add_sample(add_gauge(families, "process_virtual_memory_bytes", "Virtual memory size in bytes."),
             {}, stats.virtual_memory_bytes);
  add_sample(add_gauge(families, "process_open_fds", "Number of open file descriptors."), {},
             stats.open_fds);
  add_sample(add_gauge(families, "process_max_fds", "Maximum number of open file descriptors."), {},
             stats.max_fds);
  add_sample(add_gauge(families, "process_start_time_seconds",
                       "Start time of the process since unix epoch in seconds."),
             {}, stats.start_time_seconds);
  add_sample(add_gauge(families, "process_threads", "Number of OS threads in the process."), {},
             stats.threads);
}

}  // namespace pgpulse::daemon
