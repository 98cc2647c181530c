#include "collectors/long_queries.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "collectors/query_text.hpp"
#include "collectors/sqlcommenter.hpp"
#include "core/label_folding.hpp"
#include "core/time.hpp"

namespace pgpulse::collectors {

using core::LabelFold;

namespace {

double seconds(config::Millis value) {
  return std::chrono::duration<double>(value).count();
}

std::string threshold_label(double seconds) {
  std::ostringstream out;
  out << seconds;
  return out.str();
}

}  // namespace

LongQuerySummary summarize_long_queries(const ActivitySample& sample,
                                        const config::ActivityConfig& options,
                                        std::size_t label_limit,
                                        const std::string& trace_url_template) {
  LongQuerySummary summary;
  std::map<std::string, std::size_t> by_db, by_app;
  for (const auto& row : sample.rows) {
    if (!row.is_client() || row.is_self) continue;
    ++by_db[row.datname];
    ++by_app[row.application_name];
  }
  LabelFold db(by_db, label_limit), app(by_app, label_limit);
  summary.folded_datnames = db.folded_values();
  summary.folded_applications = app.folded_values();
  std::vector<Offender> candidates;
  for (const auto& row : sample.rows) {
    if (!row.is_client() || row.is_self) continue;
    const auto& datname = db.apply(row.datname);
    Offender o;
    o.query_seconds =
        row.state == "active" ? core::age_seconds(sample.server_now, row.query_start) : 0.0;
    o.transaction_seconds = core::age_seconds(sample.server_now, row.xact_start);
    o.idle_seconds = row.state.rfind("idle in transaction", 0) == 0
                         ? core::age_seconds(sample.server_now, row.state_change)
                         : 0.0;
    std::pair<std::string, std::string> key{datname, app.apply(row.application_name)};
    auto& longest_query = summary.longest_query[key];
    longest_query = std::max(longest_query, o.query_seconds);
    auto& longest_transaction = summary.longest_transaction[key];
    longest_transaction = std::max(longest_transaction, o.transaction_seconds);
    for (auto threshold_ms : options.long_query_thresholds) {
      double threshold = seconds(threshold_ms);
      auto& count = summary.over_threshold[{datname, threshold}];
      if (row.state == "active" && o.query_seconds > threshold) ++count;
    }
    if (o.query_seconds <= 0 && o.transaction_seconds <= 0) continue;
    o.pid = row.pid;
    o.datname = row.datname;
    o.usename = row.usename;
    o.application_name = row.application_name;
    o.state = row.state;
    o.wait_event_type = row.wait_event_type;
    o.wait_event = row.wait_event;
    o.blocked_by = row.blocked_by;
    o.query = row.query;  // normalised only for the few that make the list
    candidates.push_back(std::move(o));
  }
  auto key = [](const Offender& o) { return std::max(o.query_seconds, o.transaction_seconds); };
  std::size_t keep = std::min(static_cast<std::size_t>(options.top_n), candidates.size());
  std::partial_sort(candidates.begin(), candidates.begin() + keep, candidates.end(),
                    [&](const Offender& a, const Offender& b) { return key(a) > key(b); });
  candidates.resize(keep);
  for (auto& o : candidates) {
    // sqlcommenter first: normalising replaces comment bodies.
    o.trace = trace_context(o.query, trace_url_template);
    o.query = normalize_query(o.query, static_cast<std::size_t>(options.query_max_length));
  }
  summary.top = std::move(candidates);
  return summary;
}

Families long_query_families(const LongQuerySummary& s) {
  Families families;
  auto& query = add_gauge(families, "pgpulse_longest_query_seconds",
                          "Longest running active query (now - query_start), client backends, "
                          "by database and application.");
  for (const auto& [key, seconds] : s.longest_query) {
    add_sample(query, {{"datname", key.first}, {"application_name", key.second}}, seconds);
  }
  auto& transaction = add_gauge(families, "pgpulse_longest_transaction_seconds",
                                "Oldest open transaction (now - xact_start), client backends, by "
                                "database and application.");
  for (const auto& [key, seconds] : s.longest_transaction) {
    add_sample(transaction, {{"datname", key.first}, {"application_name", key.second}}, seconds);
  }
  auto& over = add_gauge(families, "pgpulse_long_queries",
                         "Active queries running longer than threshold_seconds.");
  for (const auto& [key, count] : s.over_threshold) {
    add_sample(over, {{"datname", key.first}, {"threshold_seconds", threshold_label(key.second)}},
               static_cast<double>(count));
  }
  core::add_folded_values(
      families, "long_queries",
      {{"datname", s.folded_datnames}, {"application_name", s.folded_applications}});
  return families;
}

core::LongQueriesDetails long_query_details(LongQuerySummary summary,
                                            const config::ActivityConfig& options) {
  core::LongQueriesDetails details;
  for (const auto& [key, seconds] : summary.longest_query) {
    details.longest_query_seconds = std::max(details.longest_query_seconds, seconds);
  }
  for (const auto& [key, seconds] : summary.longest_transaction) {
    details.longest_transaction_seconds = std::max(details.longest_transaction_seconds, seconds);
  }
  for (auto threshold : options.long_query_thresholds) {
    details.thresholds_seconds.push_back(seconds(threshold));
  }
  for (const auto& [key, count] : summary.over_threshold) {
    details.over_threshold[threshold_label(key.second)] += count;
  }
  details.offenders = std::move(summary.top);
  return details;
}

CollectorOutput LongQueriesCollector::collect(PollContext& context) {
  auto summary = summarize_long_queries(context.activity(), options_, context.label_limit(),
                                        tracing_.url_template);
  auto families = long_query_families(summary);
  return CollectorOutput{std::move(families),
                         core::make_details(long_query_details(std::move(summary), options_))};
}

}  // namespace pgpulse::collectors
