#include "collectors/idle_trend.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/label_folding.hpp"
#include "core/time.hpp"

namespace pgpulse::collectors {

using core::LabelFold;

namespace {

bool is_idle(const ActivityRow& row) {
  return row.state == "idle";
}
bool is_idle_in_transaction(const ActivityRow& row) {
  return row.state.rfind("idle in transaction", 0) == 0;  // also "(aborted)"
}

double window_seconds(const LeakRule& rule) {
  return std::chrono::duration<double>(rule.window).count();
}

}  // namespace

IdleCounts count_idle(const ActivitySample& sample, std::size_t label_limit) {
  IdleCounts counts;
  std::map<std::string, std::size_t> by_app, by_user, by_db;
  for (const auto& row : sample.rows) {
    if (!row.is_client()) continue;
    ++counts.client_backends;
    if (row.is_self || !(is_idle(row) || is_idle_in_transaction(row))) continue;
    ++by_app[row.application_name];
    ++by_user[row.usename];
    ++by_db[row.datname];
  }
  LabelFold app(by_app, label_limit), user(by_user, label_limit), db(by_db, label_limit);
  for (const auto& row : sample.rows) {
    if (!row.is_client() || row.is_self) continue;
    const auto& application = app.apply(row.application_name);
    double since_change = core::age_seconds(sample.server_now, row.state_change);
    auto note_oldest = [&](std::optional<core::OldestSession>& slot, const std::string& name) {
      if (!slot || since_change > slot->seconds) {
        slot = core::OldestSession{name, since_change, row.pid, row.application_name, row.usename};
      }
    };
    if (is_idle(row)) {
      ++counts.idle[{application, user.apply(row.usename)}];
      auto& oldest = counts.idle_max_age[application];
      oldest = std::max(oldest, since_change);
      note_oldest(counts.oldest_idle, row.application_name);
    } else if (is_idle_in_transaction(row)) {
      ++counts.idle_in_transaction[{application, user.apply(row.usename)}];
      auto& oldest = counts.idle_in_transaction_max_age[{db.apply(row.datname), application}];
      oldest = std::max(oldest, since_change);
      note_oldest(counts.oldest_idle_in_transaction, row.datname);
    } else {
      continue;
    }
    ++counts.idle_by_application[application];
  }
  counts.folded_values = {{"application_name", app.folded_values()},
                          {"usename", user.folded_values()},
                          {"datname", db.folded_values()}};
  return counts;
}

IdleTrendReport update_idle_trend(IdleTrendState& state, const ActivitySample& sample,
                                  const ServerLimits& limits, const LeakRule& rule,
                                  std::size_t label_limit) {
  IdleTrendReport report;
  report.counts = count_idle(sample, label_limit);
  if (state.server_started != sample.server_started) {
    // A restart empties every pool: the old history says nothing about the new one.
    state.by_application.clear();
    state.client_backends.clear();
    state.server_started = sample.server_started;
  }
  double now = sample.server_now;
  for (const auto& [application, count] : report.counts.idle_by_application) {
    state.by_application[application];  // start a window for newcomers
  }
  for (auto it = state.by_application.begin(); it != state.by_application.end();) {
    auto current = report.counts.idle_by_application.find(it->first);
    it->second.add(now, current == report.counts.idle_by_application.end() ? 0.0 : current->second);
    it->second.prune(now, window_seconds(rule));
    const auto& points = it->second.points();
    bool all_zero =
        std::all_of(points.begin(), points.end(), [](const TrendPoint& p) { return p.value == 0; });
    if (all_zero) {
      it = state.by_application.erase(it);
      continue;
    }
    report.verdicts[it->first] = assess_leak(points, rule);
    ++it;
  }
  // Bounded memory whatever the churn of application names: beyond four times the label limit,
  // forget the windows of applications absent from this poll with the smallest last count.
  const std::size_t cap = 4 * label_limit + 1;
  while (state.by_application.size() > cap) {
    auto victim = state.by_application.end();
    for (auto it = state.by_application.begin(); it != state.by_application.end(); ++it) {
      if (report.counts.idle_by_application.count(it->first)) continue;
      if (victim == state.by_application.end() ||
          it->second.points().back().value < victim->second.points().back().value) {
        victim = it;
      }
    }
    if (victim == state.by_application.end()) break;
    report.verdicts.erase(victim->first);
    state.by_application.erase(victim);
  }
  state.client_backends.add(now, static_cast<double>(report.counts.client_backends));
  state.client_backends.prune(now, window_seconds(rule));
  report.exhaustion_eta_seconds = exhaustion_eta(fit_line(state.client_backends.points()),
                                                 static_cast<double>(report.counts.client_backends),
                                                 static_cast<double>(limits.usable()), rule.min_r2);
  return report;
}

Families idle_trend_families(const IdleTrendReport& report) {
  const auto& c = report.counts;
  Families families;
  auto& idle = add_gauge(families, "pgpulse_idle_connections",
                         "Client backends in state idle, by application and role.");
  for (const auto& [key, count] : c.idle) {
    add_sample(idle, {{"application_name", key.first}, {"usename", key.second}}, count);
  }
  auto& iit = add_gauge(families, "pgpulse_idle_in_transaction_connections",
                        "Client backends idle in a transaction (aborted included), by application "
                        "and role.");
  for (const auto& [key, count] : c.idle_in_transaction) {
    add_sample(iit, {{"application_name", key.first}, {"usename", key.second}}, count);
  }
  auto& idle_age = add_gauge(families, "pgpulse_idle_max_age_seconds",
                             "Age of the oldest idle connection (now - state_change).");
  for (const auto& [application, seconds] : c.idle_max_age) {
    add_sample(idle_age, {{"application_name", application}}, seconds);
  }
  auto& iit_age = add_gauge(families, "pgpulse_idle_in_transaction_max_age_seconds",
                            "Age of the oldest idle-in-transaction session (now - state_change), "
                            "by database and application.");
  for (const auto& [key, seconds] : c.idle_in_transaction_max_age) {
    add_sample(iit_age, {{"datname", key.first}, {"application_name", key.second}}, seconds);
  }
  auto& growth = add_gauge(families, "pgpulse_idle_growth_per_minute",
                           "Least-squares slope of idle + idle-in-transaction connections over "
                           "the trend window, per minute.");
  auto& r2 = add_gauge(families, "pgpulse_idle_growth_fit_r2",
                       "R squared of that fit: 1 is a perfectly steady climb.");
  auto& leak = add_gauge(families, "pgpulse_idle_leak_suspected",
                         "1 when idle connections climb steadily and have not come back down "
                         "(see docs/signals.md).");
  for (const auto& [application, verdict] : report.verdicts) {
    LabelPairs labels{{"application_name", application}};
    add_sample(growth, labels, verdict.growth_per_minute);
    add_sample(r2, labels, verdict.fit.r2);
    add_sample(leak, labels, verdict.suspected ? 1 : 0);
  }
  if (report.exhaustion_eta_seconds) {
    add_sample(add_gauge(families, "pgpulse_connection_exhaustion_eta_seconds",
                         "Seconds until client backends reach max_connections - reserved at the "
                         "current steady growth; absent when not growing steadily."),
               {}, *report.exhaustion_eta_seconds);
  }
  core::add_folded_values(families, "idle_trend", c.folded_values);
  return families;
}

namespace {
constexpr std::size_t kSparklinePoints = 120;

long total_of(const std::map<std::pair<std::string, std::string>, long>& counts) {
  long sum = 0;
  for (const auto& [key, count] : counts) sum += count;
  return sum;
}

}  // namespace

core::IdleTrendDetails idle_trend_details(const IdleTrendReport& report,
                                          const IdleTrendState& state, const ServerLimits& limits) {
  core::IdleTrendDetails details;
  details.idle = total_of(report.counts.idle);
  details.idle_in_transaction = total_of(report.counts.idle_in_transaction);
  details.oldest_idle = report.counts.oldest_idle;
  details.oldest_idle_in_transaction = report.counts.oldest_idle_in_transaction;
  for (const auto& [application, verdict] : report.verdicts) {
    if (verdict.suspected) {
      details.leaks.push_back({application, verdict.growth_per_minute, verdict.fit.r2});
    }
  }
  details.exhaustion_eta_seconds = report.exhaustion_eta_seconds;
  details.usable_connections = limits.usable();
  // Only the status page's sparkline reads the window: a thinned copy, not every sample (900 per
  // window at 1 s polls would cost ~70 KiB per poll, kept in the snapshot).
  details.client_backends = thin_for_display(state.client_backends.points(), kSparklinePoints);
  return details;
}

CollectorOutput IdleTrendCollector::collect(PollContext& context) {
  const auto& limits = context.settings().limits;
  auto report = update_idle_trend(state_, context.activity(), limits, rule_, context.label_limit());
  return CollectorOutput{idle_trend_families(report),
                         core::make_details(idle_trend_details(report, state_, limits))};
}

}  // namespace pgpulse::collectors
