#include "collectors/long_queries.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "collectors/label_folding.hpp"
#include "collectors/query_text.hpp"

namespace pgpulse::collectors {

namespace {

double age(double now, double since) {
  return std::isnan(since) ? 0.0 : std::max(0.0, now - since);
}

std::string threshold_label(double seconds) {
  std::ostringstream out;
  out << seconds;
  return out.str();
}

}  // namespace

LongQuerySummary summarize_long_queries(const ActivitySample& sample,
                                        const LongQueryOptions& options) {
  LongQuerySummary summary;
  std::map<std::string, std::size_t> by_db;
  for (const auto& row : sample.rows) {
    if (row.is_client() && !row.is_self) ++by_db[row.datname];
  }
  LabelFold db(by_db, options.label_limit);
  summary.folded_datnames = db.folded_values();
  std::vector<Offender> candidates;
  for (const auto& row : sample.rows) {
    if (!row.is_client() || row.is_self) continue;
    const auto& datname = db.apply(row.datname);
    Offender o;
    o.query_seconds = row.state == "active" ? age(sample.server_now, row.query_start) : 0.0;
    o.transaction_seconds = age(sample.server_now, row.xact_start);
    auto& longest_query = summary.longest_query[datname];
    longest_query = std::max(longest_query, o.query_seconds);
    auto& longest_transaction = summary.longest_transaction[datname];
    longest_transaction = std::max(longest_transaction, o.transaction_seconds);
    for (double threshold : options.thresholds_seconds) {
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
  std::size_t keep = std::min(options.top_n, candidates.size());
  std::partial_sort(candidates.begin(), candidates.begin() + keep, candidates.end(),
                    [&](const Offender& a, const Offender& b) { return key(a) > key(b); });
  candidates.resize(keep);
  for (auto& o : candidates) o.query = normalize_query(o.query, options.query_max_length);
  summary.top = std::move(candidates);
  return summary;
}

Families long_query_families(const LongQuerySummary& s) {
  Families families;
  auto& query = add_gauge(families, "pgpulse_longest_query_seconds",
                          "Longest running active query (now - query_start), client backends.");
  for (const auto& [datname, seconds] : s.longest_query) {
    add_sample(query, {{"datname", datname}}, seconds);
  }
  auto& transaction = add_gauge(families, "pgpulse_longest_transaction_seconds",
                                "Oldest open transaction (now - xact_start), client backends.");
  for (const auto& [datname, seconds] : s.longest_transaction) {
    add_sample(transaction, {{"datname", datname}}, seconds);
  }
  auto& over = add_gauge(families, "pgpulse_long_queries",
                         "Active queries running longer than threshold_seconds.");
  for (const auto& [key, count] : s.over_threshold) {
    add_sample(over, {{"datname", key.first}, {"threshold_seconds", threshold_label(key.second)}},
               static_cast<double>(count));
  }
  add_sample(add_gauge(families, "pgpulse_label_values_folded",
                       "Distinct label values folded into \"other\" in the last poll "
                       "(labels.max_values)."),
             {{"collector", "long_queries"}, {"label", "datname"}},
             static_cast<double>(s.folded_datnames));
  return families;
}

nlohmann::json offenders_json(const std::vector<Offender>& offenders) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& o : offenders) {
    list.push_back({{"pid", o.pid},
                    {"datname", o.datname},
                    {"usename", o.usename},
                    {"application_name", o.application_name},
                    {"state", o.state},
                    {"query_seconds", o.query_seconds},
                    {"transaction_seconds", o.transaction_seconds},
                    {"wait_event_type", o.wait_event_type},
                    {"wait_event", o.wait_event},
                    {"blocked_by", o.blocked_by},
                    {"query", o.query}});
  }
  return list;
}

CollectorOutput LongQueriesCollector::collect(PollContext& context) {
  auto options = options_;
  options.label_limit = context.label_limit();
  auto summary = summarize_long_queries(context.activity(), options);
  double longest_query = 0, longest_transaction = 0;
  for (const auto& [datname, seconds] : summary.longest_query)
    longest_query = std::max(longest_query, seconds);
  for (const auto& [datname, seconds] : summary.longest_transaction) {
    longest_transaction = std::max(longest_transaction, seconds);
  }
  nlohmann::json over = nlohmann::json::object();
  for (const auto& [key, count] : summary.over_threshold) {
    auto label = threshold_label(key.second);
    over[label] = over.value(label, 0L) + count;
  }
  return CollectorOutput{long_query_families(summary),
                         {{"longest_query_seconds", longest_query},
                          {"thresholds_seconds", options_.thresholds_seconds},
                          {"longest_transaction_seconds", longest_transaction},
                          {"over_threshold", over},
                          {"offenders", offenders_json(summary.top)}}};
}

}  // namespace pgpulse::collectors
