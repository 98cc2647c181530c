// Runbook steps 4-5: idle connections and leaks, long queries and locks.
#include <algorithm>

#include "analysis/format.hpp"
#include "analysis/pgbouncer_diagnosis.hpp"
#include "analysis/steps.hpp"
#include "analysis/thresholds.hpp"
#include "core/details/idle_trend.hpp"
#include "core/details/locks.hpp"
#include "core/details/long_queries.hpp"

namespace pgpulse::analysis {

namespace {

// Worst of warning and critical for `value` against a row of the thresholds table.
Severity judge(std::string_view signal, double value) {
  const auto& t = threshold(signal);
  if (value > t.critical) return Severity::Critical;
  if (value > t.warning) return Severity::Warning;
  return Severity::Ok;
}

// The request behind an idle transaction, from the long_queries offenders (the last statement
// such a session ran carries its sqlcommenter comment): the one with this pid, else the oldest.
std::string idle_transaction_trace(const DiagnosisInput& input, long pid) {
  const auto* q = input.target.find<core::LongQueriesDetails>();
  if (!q) return "";
  const core::Offender* chosen = nullptr;
  for (const auto& o : q->offenders) {
    if (o.state.rfind("idle in transaction", 0) != 0) continue;
    if (pid && o.pid == pid) return fmt_trace(o.trace);
    if (!chosen || o.transaction_seconds > chosen->transaction_seconds) chosen = &o;
  }
  return chosen ? fmt_trace(chosen->trace) : "";
}

}  // namespace

DiagnosisStep idle_step(const DiagnosisInput& input) {
  const auto* d = input.target.find<core::IdleTrendDetails>();
  if (!d) return skipped("idle", "Idle connections and leaks", "no idle-connection data");
  DiagnosisStep step{"idle", "Idle connections and leaks", Severity::Ok, "", ""};
  step.finding = std::to_string(d->idle) + " idle, " + std::to_string(d->idle_in_transaction) +
                 " idle in transaction";
  step.measure("idle", d->idle, "connections");
  step.measure("idle_in_transaction", d->idle_in_transaction, "connections");
  bool stuck_transaction = false;
  if (const auto& oldest = d->oldest_idle_in_transaction) {
    step.measure("oldest_idle_in_transaction", oldest->seconds, "seconds",
                 oldest->pid ? "pid " + std::to_string(oldest->pid) : oldest->name);
    step.finding += "; oldest idle transaction " + fmt_seconds(oldest->seconds) + " (database " +
                    oldest->name +
                    (oldest->pid ? ", pid " + std::to_string(oldest->pid) + ", " +
                                       (oldest->application_name.empty() ? "no application_name"
                                                                         : oldest->application_name)
                                 : std::string()) +
                    ")" + idle_transaction_trace(input, oldest->pid);
    auto severity = judge("idle_in_transaction_seconds", oldest->seconds);
    stuck_transaction = severity != Severity::Ok;
    step.severity = std::max(step.severity, severity);
  }
  for (const auto& leak : d->leaks) {
    step.measure("leak_growth_per_minute", leak.growth_per_minute, "connections/minute",
                 leak.application_name);
    step.severity = std::max(step.severity, Severity::Warning);
    step.finding += "; leak suspected in " + leak.application_name + " (+" +
                    fmt_ratio(leak.growth_per_minute) + " idle connections/min)";
  }
  // The forecast matters while there is time left; at 0 the connections step says it is full.
  bool forecast = false;
  if (d->exhaustion_eta_seconds && *d->exhaustion_eta_seconds > 0) {
    double eta = *d->exhaustion_eta_seconds;
    step.measure("exhaustion_eta", eta, "seconds");
    step.finding += "; at the current growth the server runs out of slots in " + fmt_seconds(eta);
    if (eta < threshold("exhaustion_eta_seconds").warning) {
      step.severity = std::max(step.severity, Severity::Warning);
      forecast = true;
    }
  }
  step.finding += pgbouncer_idle_transactions(input);
  if (!input.has_history) step.finding += " (leak trends need history: see the daemon's /diagnose)";
  // Blame a leak only when the leak rule holds; steady growth without one is more replicas or
  // bigger pools than the server fits (the pool budget step).
  if (!d->leaks.empty()) {
    step.action =
        "psql -c \"SELECT pid, application_name, usename, state, now() - state_change AS "
        "age, left(query, 60) FROM pg_stat_activity WHERE state LIKE 'idle%' ORDER BY "
        "state_change LIMIT 20\"; fix the application that does not return connections "
        "(missing session.close() / commit); set idle_in_transaction_session_timeout.";
  } else if (stuck_transaction) {
    const auto& oldest = *d->oldest_idle_in_transaction;
    step.action =
        (oldest.pid ? "End it: SELECT pg_terminate_backend(" + std::to_string(oldest.pid) + "); "
                    : std::string()) +
        "psql -c \"SELECT pid, application_name, usename, now() - state_change AS idle_for, "
        "left(query, 60) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' ORDER "
        "BY state_change LIMIT 10\" lists the others; fix the code path that leaves the "
        "transaction open; set idle_in_transaction_session_timeout.";
  } else if (forecast) {
    step.action =
        "No application leaks idle connections: the client backends grow because more "
        "replicas or bigger pools run than the server fits; see the pool budget step, scale "
        "the pools down or put PgBouncer in front.";
  }
  return step;
}

DiagnosisStep queries_step(const DiagnosisInput& input) {
  const auto* q = input.target.find<core::LongQueriesDetails>();
  const auto* l = input.target.find<core::LocksDetails>();
  if (!q && !l) return skipped("queries_and_locks", "Long queries and locks", "no query data");
  DiagnosisStep step{"queries_and_locks", "Long queries and locks", Severity::Ok, "", ""};
  if (q) {
    step.measure("longest_query", q->longest_query_seconds, "seconds");
    step.measure("longest_transaction", q->longest_transaction_seconds, "seconds");
    for (const auto& o : q->offenders) {
      step.measure("offender_query", o.query_seconds, "seconds", "pid " + std::to_string(o.pid));
    }
    step.finding = "longest query " + fmt_seconds(q->longest_query_seconds) +
                   ", oldest transaction " + fmt_seconds(q->longest_transaction_seconds);
    step.severity = std::max({step.severity, judge("long_query_seconds", q->longest_query_seconds),
                              judge("long_transaction_seconds", q->longest_transaction_seconds)});
    if (!q->offenders.empty() && step.severity != Severity::Ok) {
      const auto& o = q->offenders.front();
      step.finding += "; worst: pid " + std::to_string(o.pid) + " (" + o.application_name + ", " +
                      o.usename + ")" + through_pgbouncer(input, o.pid) + ": " + o.query +
                      fmt_trace(o.trace);
    }
  }
  if (l) {
    step.measure("blocked_backends", l->blocked, "backends");
    step.measure("max_lock_wait", l->max_wait_seconds, "seconds");
    for (const auto& root : l->blocking_tree) {
      step.measure("root_blocker_waiters", static_cast<double>(root.waiting.size()), "backends",
                   "pid " + std::to_string(root.pid));
    }
    step.finding += std::string(step.finding.empty() ? "" : "; ") + std::to_string(l->blocked) +
                    " backends blocked on locks";
    if (l->blocked > 0) {
      std::string roots;
      for (const auto& root : l->blocking_tree) {
        roots += (roots.empty() ? "" : ", ") + std::to_string(root.pid) + fmt_trace(root.trace);
      }
      step.finding +=
          " for up to " + fmt_seconds(l->max_wait_seconds) + ", root blocker pid(s) " + roots;
      // As the shipped rules: a warning past the warning wait, critical only for the pile-up.
      const auto& t = threshold("lock_wait_seconds");
      auto severity = l->max_wait_seconds > t.critical && l->blocked >= kCriticalBlockedBackends
                          ? Severity::Critical
                      : l->max_wait_seconds > t.warning ? Severity::Warning
                                                        : Severity::Ok;
      step.severity = std::max(step.severity, severity);
    }
  }
  if (step.severity != Severity::Ok) {
    step.action =
        "psql -c \"SELECT pid, pg_blocking_pids(pid), state, now() - query_start AS "
        "runtime, left(query, 80) FROM pg_stat_activity WHERE state <> 'idle' ORDER BY "
        "query_start\"; cancel with pg_cancel_backend(pid), or end the root blocker's "
        "session with pg_terminate_backend(pid); see /activity for the blocking tree.";
  }
  return step;
}

}  // namespace pgpulse::analysis
