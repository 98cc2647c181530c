#pragma once
// Idle connections and their trend: how many, how old, and whether an application's idle count
// climbs steadily (a leak) — plus when the server would run out of slots at the current growth.
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "collectors/collector.hpp"
#include "collectors/server_settings.hpp"
#include "collectors/trend.hpp"

namespace pgpulse::collectors {

struct IdleCounts {
  // (application_name, usename) -> backends, labels folded
  std::map<std::pair<std::string, std::string>, long> idle;
  std::map<std::pair<std::string, std::string>, long> idle_in_transaction;
  std::map<std::string, double> idle_max_age;  // application_name -> seconds
  // (datname, application_name) -> seconds, folded
  std::map<std::pair<std::string, std::string>, double> idle_in_transaction_max_age;
  std::optional<core::OldestSession> oldest_idle_in_transaction;  // unfolded, with its pid
  std::optional<core::OldestSession> oldest_idle;
  std::map<std::string, long> idle_by_application;  // idle + idle in transaction, the trend input
  std::map<std::string, std::size_t> folded_values;
  long client_backends = 0;  // pgpulse's own included, as for saturation
};

IdleCounts count_idle(const ActivitySample& sample, std::size_t label_limit);

// The windows the collector keeps between polls; reset when the server restarts.
struct IdleTrendState {
  std::map<std::string, TrendWindow> by_application;
  TrendWindow client_backends;
  double server_started = 0;
};

struct IdleTrendReport {
  IdleCounts counts;
  std::map<std::string, LeakVerdict> verdicts;  // per application_name in the window
  std::optional<double> exhaustion_eta_seconds;
};

IdleTrendReport update_idle_trend(IdleTrendState& state, const ActivitySample& sample,
                                  const ServerLimits& limits, const LeakRule& rule,
                                  std::size_t label_limit);

Families idle_trend_families(const IdleTrendReport& report);
// What /diagnose and the status page read: totals, the oldest sessions, suspected leaks, and the
// window of client backends thinned for a sparkline.
core::IdleTrendDetails idle_trend_details(const IdleTrendReport& report,
                                          const IdleTrendState& state, const ServerLimits& limits);

class IdleTrendCollector : public Collector {
 public:
  explicit IdleTrendCollector(const config::IdleTrendConfig& rule) : rule_(rule) {}
  CollectorOutput collect(PollContext& context) override;

 private:
  LeakRule rule_;
  IdleTrendState state_;
};

}  // namespace pgpulse::collectors
