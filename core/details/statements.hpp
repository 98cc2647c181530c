#pragma once
// What the statements collector tells its readers: the statements that took the most time in the
// last interval between two reads of pg_stat_statements (deltas computed by pgpulse), the rest
// summed as "other", the server's totals and how full the statements table is.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/json.hpp"

namespace pgpulse::core {

struct StatementStats {
  std::string datname, usename;
  std::string queryid;  // decimal text: a 64-bit id does not survive a JSON double
  std::string query;    // pg_stat_statements' text ($1 for constants), comments and literals
                        // normalised, capped at statements.text_max_length; "" for "other"
  // Over the interval:
  double calls = 0;
  double seconds = 0;
  double mean_seconds = 0;
  double calls_per_second = 0;
  double rows = 0;
  double rows_per_call = 0;
  std::optional<double> hit_ratio;  // shared_blks_hit / (hit + read); null without block access
  double shared_blocks_read = 0;
  double temp_bytes = 0;     // temp_blks_written x block_size
  double share_of_time = 0;  // of the server's statement time in the interval
  // Since the entry's statistics were reset (pg_stat_statements keeps no per-interval extremes):
  std::optional<double> max_seconds, stddev_seconds;  // null for "other"
  bool slow = false, chatty = false, large_result = false;
};

struct StatementsDetails {
  // False on the first poll (and the first after a reconnect): it only takes the baseline, and
  // `top` is empty until the next one.
  bool has_interval = false;
  double interval_seconds = 0;  // the interval the numbers cover, on the server's clock
  double interval_start_unix = 0, interval_end_unix = 0;
  double calls = 0, seconds = 0, mean_seconds = 0;  // every statement, over the interval
  long tracked = 0;                                 // entries in pg_stat_statements now
  long max = 0;                                     // pg_stat_statements.max
  std::optional<double> deallocations;              // in the interval (PostgreSQL 14+); null on 13
  std::optional<double> stats_reset_unix;           // pg_stat_statements_info.stats_reset (14+)
  bool reset_in_interval = false;  // the statistics were reset since the previous read
  double slow_mean_seconds = 0, chatty_calls_per_second = 0, chatty_max_mean_seconds = 0,
         large_result_rows = 0;                 // the statements.* thresholds
  long slow = 0, chatty = 0, large_result = 0;  // statements over them, whether in `top` or not
  std::vector<StatementStats> top;              // most time first, at most statements.top_n
  StatementStats other;                         // every statement not in `top`, summed
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(StatementStats, datname, usename, queryid, query, calls, seconds,
                                   mean_seconds, calls_per_second, rows, rows_per_call, hit_ratio,
                                   shared_blocks_read, temp_bytes, share_of_time, max_seconds,
                                   stddev_seconds, slow, chatty, large_result)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(StatementsDetails, has_interval, interval_seconds,
                                   interval_start_unix, interval_end_unix, calls, seconds,
                                   mean_seconds, tracked, max, deallocations, stats_reset_unix,
                                   reset_in_interval, slow_mean_seconds, chatty_calls_per_second,
                                   chatty_max_mean_seconds, large_result_rows, slow, chatty,
                                   large_result, top, other)

}  // namespace pgpulse::core
