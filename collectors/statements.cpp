#include "collectors/statements.hpp"

#include <optional>

#include <algorithm>
#include <chrono>
#include <set>

#include "collectors/query_text.hpp"
#include "core/label_folding.hpp"

namespace pgpulse::collectors {

namespace {

double seconds_of(config::Millis value) {
  return std::chrono::duration<double>(value).count();
}

core::StatementStats stats_of(const StatementCounters& d, double interval_seconds,
                              double total_seconds, double block_size,
                              const config::StatementsConfig& options) {
  core::StatementStats s;
  s.calls = d.calls;
  s.seconds = d.seconds;
  s.mean_seconds = d.calls > 0 ? d.seconds / d.calls : 0;
  s.calls_per_second = interval_seconds > 0 ? d.calls / interval_seconds : 0;
  s.rows = d.rows;
  s.rows_per_call = d.calls > 0 ? d.rows / d.calls : 0;
  double blocks = d.shared_blks_hit + d.shared_blks_read;
  if (blocks > 0) s.hit_ratio = d.shared_blks_hit / blocks;
  s.shared_blocks_read = d.shared_blks_read;
  s.temp_bytes = d.temp_blks_written * block_size;
  s.share_of_time = total_seconds > 0 ? d.seconds / total_seconds : 0;
  s.slow = d.calls > 0 && s.mean_seconds > seconds_of(options.slow_mean);
  s.chatty = s.calls_per_second > options.chatty_calls_per_second &&
             s.mean_seconds < seconds_of(options.chatty_max_mean);
  s.large_result = d.calls > 0 && s.rows_per_call > options.large_result_rows;
  return s;
}

// The labels of a top statement: names as fetched with its text, oids when they could not be.
void name(core::StatementStats& s, const StatementKey& key, const StatementTexts& texts,
          std::size_t text_max_length) {
  s.queryid = std::to_string(key.queryid);
  auto it = texts.find(key);
  if (it == texts.end()) {
    s.datname = std::to_string(key.dbid);
    s.usename = std::to_string(key.userid);
    return;
  }
  s.datname = it->second.datname;
  s.usename = it->second.usename;
  // pg_stat_statements keeps the first caller's comments (sqlcommenter trace ids included) and
  // the literals of utility statements: normalised like /activity's text.
  s.query = normalize_query(it->second.query, text_max_length);
}

}  // namespace

core::StatementsDetails statement_details(const StatementsScan& scan,
                                          const StatementsInterval& interval,
                                          const StatementTexts& texts,
                                          const config::StatementsConfig& options) {
  core::StatementsDetails d;
  d.has_interval = interval.has_interval;
  d.interval_start_unix = interval.start;
  d.interval_end_unix = interval.end;
  d.interval_seconds = std::max(0.0, interval.end - interval.start);
  d.tracked = scan.tracked;
  d.max = scan.max;
  d.stats_reset_unix = scan.stats_reset;
  d.deallocations = interval.deallocations_delta;
  d.reset_in_interval = interval.full_reset || interval.entries_restarted > 0;
  d.slow_mean_seconds = seconds_of(options.slow_mean);
  d.chatty_calls_per_second = options.chatty_calls_per_second;
  d.chatty_max_mean_seconds = seconds_of(options.chatty_max_mean);
  d.large_result_rows = options.large_result_rows;
  d.calls = interval.total_delta.calls;
  d.seconds = interval.total_delta.seconds;
  d.mean_seconds = d.calls > 0 ? d.seconds / d.calls : 0;
  double span = d.interval_seconds;
  for (const auto& entry : interval.all) {
    auto s = stats_of(entry.delta, span, d.seconds, scan.block_size, options);
    d.slow += s.slow;
    d.chatty += s.chatty;
    d.large_result += s.large_result;
  }
  auto text_max = static_cast<std::size_t>(options.text_max_length);
  for (const auto& entry : interval.top) {
    auto s = stats_of(entry.delta, span, d.seconds, scan.block_size, options);
    name(s, entry.key, texts, text_max);
    s.max_seconds = entry.max_seconds;
    s.stddev_seconds = entry.stddev_seconds;
    d.top.push_back(std::move(s));
  }
  d.other = stats_of(interval.other_delta, span, d.seconds, scan.block_size, options);
  d.other.datname = d.other.usename = d.other.queryid = core::kFoldedValue;
  // "other" is many statements: a mean over them says nothing about any one of them.
  d.other.slow = d.other.chatty = d.other.large_result = false;
  return d;
}

Families statement_families(const StatementsScan& scan, const StatementsInterval& interval,
                            const core::StatementsDetails& details) {
  Families families;
  auto& seconds = add_counter(families, "pgpulse_statement_seconds_total",
                              "Execution time of the statement (top N by time in the last "
                              "interval; queryid=\"other\" sums the rest), counted by pgpulse "
                              "from pg_stat_statements.total_exec_time deltas.");
  auto& calls = add_counter(families, "pgpulse_statement_calls_total",
                            "Executions of the statement (top N and \"other\").");
  auto& rows = add_counter(families, "pgpulse_statement_rows_total",
                           "Rows returned or affected by the statement (top N and \"other\").");
  auto& temp = add_counter(families, "pgpulse_statement_temp_bytes_total",
                           "Temporary file bytes written by the statement (temp_blks_written x "
                           "block_size; top N and \"other\").");
  auto& read = add_counter(families, "pgpulse_statement_shared_blocks_read_total",
                           "Shared blocks the statement read from outside shared buffers (top N "
                           "and \"other\").");
  auto& mean = add_gauge(families, "pgpulse_statement_mean_seconds",
                         "Mean execution time per call over the last interval (not since the "
                         "statistics were reset), top N and \"other\".");
  auto sample = [&](const LabelPairs& labels, const StatementCounters& value) {
    add_sample(seconds, labels, value.seconds);
    add_sample(calls, labels, value.calls);
    add_sample(rows, labels, value.rows);
    add_sample(temp, labels, value.temp_blks_written * scan.block_size);
    add_sample(read, labels, value.shared_blks_read);
  };
  for (std::size_t i = 0; i < interval.top.size() && i < details.top.size(); ++i) {
    const auto& s = details.top[i];
    LabelPairs labels{{"datname", s.datname}, {"usename", s.usename}, {"queryid", s.queryid}};
    sample(labels, interval.top[i].exported);
    add_sample(mean, labels, s.mean_seconds);
  }
  LabelPairs other{{"datname", core::kFoldedValue},
                   {"usename", core::kFoldedValue},
                   {"queryid", core::kFoldedValue}};
  sample(other, interval.other_exported);
  if (details.has_interval && details.other.calls > 0) {
    add_sample(mean, other, details.other.mean_seconds);
  }

  add_sample(add_counter(families, "pgpulse_statements_seconds_total",
                         "Execution time of every top-level statement, counted by pgpulse from "
                         "pg_stat_statements deltas (evictions and resets never count down)."),
             {}, interval.total_exported.seconds);
  add_sample(add_counter(families, "pgpulse_statements_calls_total",
                         "Executions of every top-level statement, from pg_stat_statements "
                         "deltas."),
             {}, interval.total_exported.calls);
  add_sample(add_gauge(families, "pgpulse_statements_tracked",
                       "Entries in pg_stat_statements now; at pgpulse_statements_max the least "
                       "used are evicted."),
             {}, static_cast<double>(scan.tracked));
  add_sample(add_gauge(families, "pgpulse_statements_max", "pg_stat_statements.max."), {},
             static_cast<double>(scan.max));
  if (scan.dealloc) {
    add_sample(add_counter(families, "pgpulse_statements_deallocations_total",
                           "Times pg_stat_statements evicted entries to make room "
                           "(pg_stat_statements_info.dealloc deltas, PostgreSQL 14+): history "
                           "is being lost, raise pg_stat_statements.max."),
               {}, interval.deallocations_exported);
  }
  if (details.has_interval) {
    add_sample(add_gauge(families, "pgpulse_slow_statements",
                         "Statements whose mean time per call over the last interval exceeds "
                         "statements.slow_mean."),
               {}, static_cast<double>(details.slow));
    add_sample(add_gauge(families, "pgpulse_chatty_statements",
                         "Statements called more than statements.chatty_calls_per_second with a "
                         "mean under statements.chatty_max_mean over the last interval: batch "
                         "candidates (N+1 loops)."),
               {}, static_cast<double>(details.chatty));
    add_sample(add_gauge(families, "pgpulse_large_result_statements",
                         "Statements returning or affecting more than statements.large_result_rows "
                         "rows per call over the last interval."),
               {}, static_cast<double>(details.large_result));
  }
  return families;
}

Applicability StatementsCollector::applicability(PollContext& context) {
  // A new connection: the gap since the last scan may be long, so the next scan is a baseline.
  tracker_.rebaseline();
  sql_ = {};
  databases_.clear();  // renamed while disconnected: asked again
  roles_.clear();
  auto row = parse_statements_support(context.query(kStatementsSupportSql));
  auto support = assess_statements_support(row);
  if (!support.applicability.applicable) return support.applicability;
  auto sql = statements_sql(support.schema, support.version);
  try {
    context.query(sql.probe);
  } catch (const pg::Error& error) {
    if (error.connection_lost()) throw;
    if (auto reason = probe_failure_reason(error.sqlstate(), row)) {
      return Applicability::no(*reason);
    }
    throw;
  }
  sql_ = std::move(sql);
  return Applicability::yes();
}

std::vector<StatementKey> texts_to_fetch(const std::vector<StatementInterval>& top,
                                         const std::map<StatementKey, std::string>& held,
                                         std::optional<long> last_fetch, long poll) {
  std::vector<StatementKey> missing;
  for (const auto& entry : top) {
    if (!held.count(entry.key)) missing.push_back(entry.key);
  }
  if (last_fetch && poll - *last_fetch < kTextFetchEveryPolls) return {};
  return missing;
}

void StatementsCollector::fetch_names(PollContext& context,
                                      const std::vector<StatementInterval>& top) {
  std::set<std::uint32_t> dbids, userids;
  for (const auto& entry : top) {
    if (!databases_.count(entry.key.dbid)) dbids.insert(entry.key.dbid);
    if (!roles_.count(entry.key.userid)) userids.insert(entry.key.userid);
  }
  if (dbids.empty() && userids.empty()) return;
  auto array = [](const std::set<std::uint32_t>& oids) {
    std::string out;
    for (auto oid : oids) out += (out.empty() ? "" : ",") + std::to_string(oid);
    return "{" + out + "}";
  };
  auto result = context.query(kStatementNamesSql, {array(dbids), array(userids)});
  int kind = result.column_index("kind"), oid = result.column_index("oid"),
      name = result.column_index("name");
  for (int r = 0; r < result.rows(); ++r) {
    auto& names = result.text(r, kind) == "database" ? databases_ : roles_;
    names[static_cast<std::uint32_t>(result.integer(r, oid))] = std::string(result.text(r, name));
  }
  // Dropped since pg_stat_statements saw them: the oid stands in, and is not asked again.
  for (auto dbid : dbids) databases_.try_emplace(dbid, std::to_string(dbid));
  for (auto userid : userids) roles_.try_emplace(userid, std::to_string(userid));
}

void StatementsCollector::fetch_texts(PollContext& context,
                                      const std::vector<StatementInterval>& top) {
  for (const auto& entry : top) text_used_[entry.key] = polls_;
  auto wanted = texts_to_fetch(top, texts_, last_text_fetch_, polls_);
  if (!wanted.empty()) {
    std::string userids, dbids, queryids;
    for (const auto& key : wanted) {
      const char* comma = userids.empty() ? "" : ",";
      userids += comma + std::to_string(key.userid);
      dbids += comma + std::to_string(key.dbid);
      queryids += comma + std::to_string(key.queryid);
    }
    // Read a margin beyond the shown length: normalising shortens comments and white space.
    auto bytes = std::to_string(std::min<long>(options_.text_max_length * 4, 65536));
    last_text_fetch_ = polls_;
    std::optional<pg::Result> fetched;
    try {
      fetched = context.query(
          sql_.text, {"{" + userids + "}", "{" + dbids + "}", "{" + queryids + "}", bytes});
    } catch (const pg::Error& error) {
      // One unreadable text fails the whole read (a statement with bytes invalid in its
      // database's encoding: "invalid byte sequence for encoding"): the statistics still count,
      // the texts say why they are missing, and they are not read again for these statements.
      if (error.connection_lost() || error.kind() != pg::ErrorKind::Query) throw;
      for (const auto& key : wanted) texts_[key] = "(text not readable: " + error.sqlstate() + ")";
      return;
    }
    const auto& result = *fetched;
    int userid = result.column_index("userid"), dbid = result.column_index("dbid"),
        queryid = result.column_index("queryid"), query = result.column_index("query");
    for (int r = 0; r < result.rows(); ++r) {
      StatementKey key{static_cast<std::uint32_t>(result.integer(r, userid)),
                       static_cast<std::uint32_t>(result.integer(r, dbid)),
                       result.integer(r, queryid)};
      texts_[key] = std::string(result.text(r, query));
    }
  }
  // Keep the texts of statements in the top N in the last 10 polls (a statement at the edge of
  // the top N comes and goes), at most 4 N of them.
  std::erase_if(text_used_, [&](const auto& item) { return polls_ - item.second > 10; });
  auto limit = static_cast<std::size_t>(std::max(4 * options_.top_n, 16L));
  while (text_used_.size() > limit) {
    text_used_.erase(
        std::min_element(text_used_.begin(), text_used_.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; }));
  }
  std::erase_if(texts_, [&](const auto& item) { return !text_used_.count(item.first); });
}

CollectorOutput StatementsCollector::collect(PollContext& context) {
  if (sql_.scan.empty()) {  // not asked since the connection opened: ask now
    auto answer = applicability(context);
    if (!answer.applicable) throw pg::Error(pg::ErrorKind::Other, answer.reason);
  }
  ++polls_;
  auto header = context.query(sql_.header);
  auto scan = parse_statements_scan(header, context.query(sql_.scan));
  auto interval = tracker_.update(scan, static_cast<std::size_t>(options_.top_n));
  fetch_names(context, interval.top);
  fetch_texts(context, interval.top);
  StatementTexts texts;
  for (const auto& entry : interval.top) {
    auto& text = texts[entry.key];
    text.datname = databases_[entry.key.dbid];
    text.usename = roles_[entry.key.userid];
    if (auto it = texts_.find(entry.key); it != texts_.end()) text.query = it->second;
  }
  auto details = statement_details(scan, interval, texts, options_);
  auto families = statement_families(scan, interval, details);
  return CollectorOutput{std::move(families), core::make_details(std::move(details))};
}

}  // namespace pgpulse::collectors
