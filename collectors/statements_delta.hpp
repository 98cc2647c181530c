#pragma once
// pg_stat_statements counts since each entry was created (or the statistics reset); pgpulse needs
// what happened between two reads, and counters that only go up although statements come and go
// in the top N, entries are evicted and recreated, and someone calls pg_stat_statements_reset().
// StatementTracker turns consecutive scans into interval deltas, picks the top N by time, and
// keeps the monotonic counters pgpulse exports. Pure: no SQL, unit-tested on made-up scans.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <vector>

namespace pgpulse::collectors {

// One pg_stat_statements entry (top-level statements only: nested ones are inside their
// caller's time already, and would count twice).
struct StatementKey {
  std::uint32_t userid = 0, dbid = 0;
  std::int64_t queryid = 0;
  auto operator<=>(const StatementKey&) const = default;
};

struct StatementCounters {
  double calls = 0, seconds = 0, rows = 0;
  double shared_blks_hit = 0, shared_blks_read = 0, temp_blks_written = 0;
  StatementCounters& operator+=(const StatementCounters& other);
  bool operator==(const StatementCounters&) const = default;
};

struct StatementRow {
  StatementKey key;
  StatementCounters counters;  // since the entry's statistics started
  double max_seconds = 0, stddev_seconds = 0;
  // PostgreSQL 17+ (pg_stat_statements 1.11): when the entry's statistics started; NaN before.
  // A change means the entry was evicted or reset and created again.
  double stats_since = std::numeric_limits<double>::quiet_NaN();
};

struct StatementsScan {
  double server_now = 0;  // the server's clock just before the scan, epoch seconds
  // pg_stat_statements_info (PostgreSQL 14+): when everything was last reset, and how many
  // times entries were evicted to make room. nullopt on 13.
  std::optional<double> stats_reset, dealloc;
  long tracked = 0;          // every entry, nested ones included
  long max = 0;              // pg_stat_statements.max
  double block_size = 8192;  // bytes per block (temp_blks_written)
  std::vector<StatementRow> rows;
};

struct StatementInterval {
  StatementKey key;
  StatementCounters delta;     // over the interval
  StatementCounters exported;  // its counters as exported (see StatementTracker)
  double max_seconds = 0, stddev_seconds = 0;
};

struct StatementsInterval {
  bool has_interval = false;           // false: this scan only took the baseline
  double start = 0, end = 0;           // server clock of the previous scan and of this one
  bool full_reset = false;             // stats_reset moved: every entry started again since
  std::size_t entries_restarted = 0;   // entries evicted/reset and recreated since the last scan
  std::vector<StatementInterval> top;  // most time in the interval first, at most top_n
  std::vector<StatementInterval> all;  // every entry with calls in the interval (delta only)
  StatementCounters other_delta;       // every statement outside `top`, over the interval
  StatementCounters other_exported;
  StatementCounters total_delta, total_exported;
  std::optional<double> deallocations_delta;  // nullopt on 13
  double deallocations_exported = 0;
};

// Thread-safety: not thread-safe; owned by one collector, called from its poller's thread.
//
// The exported counters start at 0 when pgpulse starts and only ever grow:
// - a statement's own counters grow by its delta only in the intervals it is in the top N both
//   at the start and at the end; the interval in which it enters the top N, and every interval
//   outside it, count into "other". So a statement that leaves and comes back resumes where it
//   stopped (no jump across the gap), sum(rate()) over the statements and "other" equals the
//   server total, and nothing is counted twice;
// - deltas are never negative: an entry whose counters went down (evicted and recreated, reset
//   on its own) or whose stats_since moved (17+) counts what it has now; a full reset
//   (pg_stat_statements_info.stats_reset moved) makes every entry count what it has now, which
//   is what happened since the reset.
class StatementTracker {
 public:
  StatementsInterval update(const StatementsScan& scan, std::size_t top_n);
  // The next scan takes a new baseline: after a reconnect the gap could be hours, and its work
  // arriving in one interval would look like a spike.
  void rebaseline() { has_baseline_ = false; }

 private:
  struct Seen {
    StatementCounters counters;
    double stats_since;
  };
  struct Exported {
    StatementCounters value;
    bool shown = false;   // in the top N after the last scan
    long last_shown = 0;  // the scan that last showed it
  };
  // 30 minutes at the default interval; bounds the map at top_n x this many entries.
  static constexpr long kForgetAfterPolls = 60;
  long polls_ = 0;
  std::map<StatementKey, Seen> previous_;
  std::map<StatementKey, Exported> exported_;
  StatementCounters other_, total_;
  double deallocations_ = 0;
  bool has_baseline_ = false;
  double previous_now_ = 0;
  std::optional<double> previous_reset_, previous_dealloc_;
};

}  // namespace pgpulse::collectors
