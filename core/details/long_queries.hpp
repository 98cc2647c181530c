#pragma once
// What the long_queries collector tells its readers: the longest query and transaction, counts
// over the configured thresholds and the top offenders (query text normalised).
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/details/trace.hpp"

namespace pgpulse::core {

struct Offender {
  int pid = 0;
  std::string datname, usename, application_name, state, wait_event_type, wait_event, query;
  double query_seconds = 0;        // active queries only, else 0
  double transaction_seconds = 0;  // 0 outside a transaction
  double idle_seconds = 0;         // idle in transaction: since its last statement ended, else 0
  std::vector<int> blocked_by;
  TraceContext trace;  // from a sqlcommenter comment in the query text; fields "" without one
};

struct LongQueriesDetails {
  double longest_query_seconds = 0;
  double longest_transaction_seconds = 0;
  std::vector<double> thresholds_seconds;      // long_queries.thresholds
  std::map<std::string, long> over_threshold;  // threshold in seconds, as labelled -> queries
  std::vector<Offender> offenders;             // longest first, at most activity.top_n
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Offender, pid, datname, usename, application_name, state,
                                   wait_event_type, wait_event, query, query_seconds,
                                   transaction_seconds, idle_seconds, blocked_by, trace)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(LongQueriesDetails, longest_query_seconds,
                                   longest_transaction_seconds, thresholds_seconds, over_threshold,
                                   offenders)

}  // namespace pgpulse::core
