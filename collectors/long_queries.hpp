#pragma once
// Long-running queries and transactions: the longest per database, counts over thresholds, and
// the top offenders for /activity (query text normalised, never in a label).
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "collectors/collector.hpp"

namespace pgpulse::collectors {

struct Offender {
  int pid = 0;
  std::string datname, usename, application_name, state, wait_event_type, wait_event, query;
  double query_seconds = 0;        // active queries only, else 0
  double transaction_seconds = 0;  // 0 outside a transaction
  std::vector<int> blocked_by;
};

struct LongQuerySummary {
  std::map<std::string, double> longest_query;                    // datname -> seconds
  std::map<std::string, double> longest_transaction;              // datname -> seconds
  std::map<std::pair<std::string, double>, long> over_threshold;  // (datname, threshold s)
  std::vector<Offender> top;                                      // longest first
  std::size_t folded_datnames = 0;
};

struct LongQueryOptions {
  std::vector<double> thresholds_seconds{30, 300};
  std::size_t top_n = 20;
  std::size_t query_max_length = 200;
  std::size_t label_limit = 50;
};

LongQuerySummary summarize_long_queries(const ActivitySample& sample,
                                        const LongQueryOptions& options);
Families long_query_families(const LongQuerySummary& summary);
nlohmann::json offenders_json(const std::vector<Offender>& offenders);

class LongQueriesCollector : public Collector {
 public:
  explicit LongQueriesCollector(LongQueryOptions options) : options_(std::move(options)) {}
  CollectorOutput collect(PollContext& context) override;

 private:
  LongQueryOptions options_;
};

}  // namespace pgpulse::collectors
