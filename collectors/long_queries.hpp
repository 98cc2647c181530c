#pragma once
// Long-running queries and transactions: the longest per database, counts over thresholds, and
// the top offenders for /activity (query text normalised, never in a label).
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "collectors/collector.hpp"
#include "config/config.hpp"
#include "core/details/long_queries.hpp"

namespace pgpulse::collectors {

using core::Offender;

struct LongQuerySummary {
  // (datname, application_name) -> seconds, both labels folded
  std::map<std::pair<std::string, std::string>, double> longest_query;
  std::map<std::pair<std::string, std::string>, double> longest_transaction;
  std::map<std::pair<std::string, double>, long> over_threshold;  // (datname, threshold s)
  std::vector<Offender> top;                                      // longest first
  std::size_t folded_datnames = 0;
  std::size_t folded_applications = 0;
};

// thresholds, top_n and query_max_length come from the activity config section; each offender's
// sqlcommenter context is read from its raw text (before normalising) and linked with
// trace_url_template (tracing.url_template).
LongQuerySummary summarize_long_queries(const ActivitySample& sample,
                                        const config::ActivityConfig& options,
                                        std::size_t label_limit,
                                        const std::string& trace_url_template = "");
Families long_query_families(const LongQuerySummary& summary);
core::LongQueriesDetails long_query_details(LongQuerySummary summary,
                                            const config::ActivityConfig& options);

class LongQueriesCollector : public Collector {
 public:
  explicit LongQueriesCollector(const config::ActivityConfig& options,
                                const config::TracingConfig& tracing = {})
      : options_(options), tracing_(tracing) {}
  CollectorOutput collect(PollContext& context) override;

 private:
  config::ActivityConfig options_;
  config::TracingConfig tracing_;
};

}  // namespace pgpulse::collectors
