#include "analysis/diagnosis.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "analysis/format.hpp"
#include "analysis/pgbouncer_diagnosis.hpp"
#include "core/details/connections.hpp"
#include "core/details/idle_trend.hpp"
#include "core/details/locks.hpp"
#include "core/details/long_queries.hpp"
#include "core/details/pools.hpp"
#include "core/details/rls.hpp"

namespace pgpulse::analysis {

using core::TargetHealth;

std::string_view severity_label(Severity severity) {
  switch (severity) {
    case Severity::Skipped:
      return "skipped";
    case Severity::Ok:
      return "ok";
    case Severity::Warning:
      return "warning";
    case Severity::Critical:
      break;
  }
  return "critical";
}

namespace {

// The long_queries collector says which thresholds it was configured with; the largest one is
// where a query or an idle transaction becomes a finding.
double long_query_limit(const DiagnosisInput& input) {
  const auto* q = input.target.find<core::LongQueriesDetails>();
  if (!q || q->thresholds_seconds.empty()) return input.long_query_seconds;
  double limit = *std::max_element(q->thresholds_seconds.begin(), q->thresholds_seconds.end());
  return limit > 0 ? limit : input.long_query_seconds;
}

std::string or_none(const std::string& name) {
  return name.empty() ? std::string("(no application_name)") : name;
}

DiagnosisStep skipped(std::string id, std::string title, std::string why) {
  return DiagnosisStep{std::move(id), std::move(title), Severity::Skipped, std::move(why), ""};
}

DiagnosisStep health_step(const TargetHealth& h) {
  DiagnosisStep step{"health", "Is the database up?", Severity::Ok, "", ""};
  bool unreachable =
      !h.up && (h.last_error_reason == "refused" || h.last_error_reason == "timeout" ||
                h.last_error_reason == "other" || h.last_error_reason.empty());
  if (h.up) {
    step.finding =
        "PostgreSQL answers (server_version_num " + std::to_string(h.server_version) + ")";
  } else if (unreachable) {
    step.severity = Severity::Critical;
    step.finding =
        "PostgreSQL does not answer (" +
        (h.last_error_reason.empty() ? std::string("no attempt yet") : h.last_error_reason) +
        "): " + h.last_error;
    step.action =
        h.last_error_reason == "timeout"
            ? "The server or the network hangs: pg_isready -h <host> -p <port>; check the "
              "host's load and the server log for a stuck checkpoint or full disk."
            : "Is the server running? pg_isready -h <host> -p <port>; systemctl status "
              "postgresql; read the server log; check host, port and firewall.";
  } else {
    step.finding = "the server answered, but refused the connection (see connectivity)";
  }
  return step;
}

DiagnosisStep connectivity_step(const TargetHealth& h) {
  DiagnosisStep step{"connectivity", "Can we connect?", Severity::Ok, "", ""};
  double failures = 0;
  for (const auto& [reason, count] : h.connect_errors) failures += count;
  if (h.up) {
    step.finding =
        "connected" + (failures > 0 ? " (" + std::to_string(static_cast<long>(failures)) +
                                          " failed attempts since pgpulse started)"
                                    : std::string());
    return step;
  }
  step.severity = Severity::Critical;
  step.finding =
      "cannot connect: " + (h.last_error_reason.empty() ? "unknown" : h.last_error_reason);
  if (h.last_error_reason == "auth_failed") {
    step.action =
        "Authentication failed: check the password (password_file, ~/.pgpass) and "
        "pg_hba.conf for this user, host and database; the server log says which rule "
        "rejected it.";
  } else if (h.last_error_reason == "too_many_connections") {
    step.action =
        "Every slot is taken: SELECT usename, application_name, state, count(*) FROM "
        "pg_stat_activity GROUP BY 1,2,3 ORDER BY 4 DESC; terminate idle leakers with "
        "pg_terminate_backend(pid); reserve a slot for monitoring (see README).";
  } else if (h.last_error_reason == "refused") {
    step.action = "Nothing listens: check that PostgreSQL runs and listen_addresses/port match.";
  } else if (h.last_error_reason == "timeout") {
    step.action = "No answer within connect_timeout: check the network path and server load.";
  } else {
    step.action = "Read the error above and the server log.";
  }
  return step;
}

DiagnosisStep connections_step(const DiagnosisInput& input) {
  const auto* d = input.target.find<core::ConnectionsDetails>();
  if (!d) return skipped("connections", "Connections and saturation", "no connection data");
  DiagnosisStep step{"connections", "Connections and saturation", Severity::Ok, "", ""};
  std::string holders;
  for (const auto& app : d->top_applications) {
    holders +=
        (holders.empty() ? "" : ", ") + or_none(app.name) + " " + std::to_string(app.connections);
  }
  std::string users;
  for (const auto& user : d->top_users) {
    users += (users.empty() ? "" : ", ") + user.name + " " + std::to_string(user.connections);
  }
  step.finding = std::to_string(d->client_backends) + " of " +
                 std::to_string(d->usable_connections) + " usable slots in use (saturation " +
                 fmt_ratio(d->saturation) + ")" +
                 (holders.empty() ? "" : "; by application: " + holders) +
                 (users.empty() ? "" : "; by role: " + users) + pgbouncer_share(input);
  if (d->saturation >= 0.95) {
    step.severity = Severity::Critical;
  } else if (d->saturation >= 0.8) {
    step.severity = Severity::Warning;
  }
  for (const auto* limits : {&d->database_limits, &d->role_limits}) {
    for (const auto& limit : *limits) {
      if (limit.ratio >= 0.9) {
        step.severity = std::max(step.severity, Severity::Warning);
        step.finding += std::string("; ") +
                        (limits == &d->database_limits ? "database " : "role ") + limit.name +
                        " at " + std::to_string(limit.connections) + "/" +
                        std::to_string(limit.limit) + " of its connection limit";
      }
    }
  }
  if (step.severity != Severity::Ok) {
    step.action =
        "psql -c \"SELECT application_name, usename, state, count(*) FROM pg_stat_activity "
        "WHERE backend_type = 'client backend' GROUP BY 1,2,3 ORDER BY 4 DESC\"; shrink "
        "the largest pools or put PgBouncer in front; terminate idle sessions with "
        "pg_terminate_backend(pid).";
  }
  return step;
}

DiagnosisStep idle_step(const DiagnosisInput& input) {
  const auto* d = input.target.find<core::IdleTrendDetails>();
  if (!d) return skipped("idle", "Idle connections and leaks", "no idle-connection data");
  DiagnosisStep step{"idle", "Idle connections and leaks", Severity::Ok, "", ""};
  step.finding = std::to_string(d->idle) + " idle, " + std::to_string(d->idle_in_transaction) +
                 " idle in transaction";
  if (const auto& oldest = d->oldest_idle_in_transaction) {
    step.finding += "; oldest idle transaction " + fmt_seconds(oldest->seconds) + " (database " +
                    oldest->name + ")";
    double limit = long_query_limit(input);
    if (oldest->seconds >= limit) step.severity = Severity::Warning;
    if (oldest->seconds >= 6 * limit) step.severity = Severity::Critical;
  }
  for (const auto& leak : d->leaks) {
    step.severity = std::max(step.severity, Severity::Warning);
    step.finding += "; leak suspected in " + leak.application_name + " (+" +
                    fmt_ratio(leak.growth_per_minute) + " idle connections/min)";
  }
  if (d->exhaustion_eta_seconds) {
    double eta = *d->exhaustion_eta_seconds;
    step.finding += "; at the current growth the server runs out of slots in " + fmt_seconds(eta);
    if (eta < 3600) step.severity = Severity::Critical;
  }
  step.finding += pgbouncer_idle_transactions(input);
  if (!input.has_history) step.finding += " (leak trends need history: see the daemon's /diagnose)";
  if (step.severity != Severity::Ok) {
    step.action =
        "psql -c \"SELECT pid, application_name, usename, state, now() - state_change AS "
        "age, left(query, 60) FROM pg_stat_activity WHERE state LIKE 'idle%' ORDER BY "
        "state_change LIMIT 20\"; fix the application that does not return connections "
        "(missing session.close() / commit); set idle_in_transaction_session_timeout.";
  }
  return step;
}

DiagnosisStep queries_step(const DiagnosisInput& input) {
  const auto* q = input.target.find<core::LongQueriesDetails>();
  const auto* l = input.target.find<core::LocksDetails>();
  if (!q && !l) return skipped("queries_and_locks", "Long queries and locks", "no query data");
  DiagnosisStep step{"queries_and_locks", "Long queries and locks", Severity::Ok, "", ""};
  if (q) {
    step.finding = "longest query " + fmt_seconds(q->longest_query_seconds) +
                   ", oldest transaction " + fmt_seconds(q->longest_transaction_seconds);
    double limit = long_query_limit(input);
    if (q->longest_query_seconds >= limit || q->longest_transaction_seconds >= 6 * limit) {
      step.severity = Severity::Warning;
    }
    if (!q->offenders.empty() && step.severity != Severity::Ok) {
      const auto& o = q->offenders.front();
      step.finding += "; worst: pid " + std::to_string(o.pid) + " (" + o.application_name + ", " +
                      o.usename + ")" + through_pgbouncer(input, o.pid) + ": " + o.query;
    }
  }
  if (l) {
    step.finding += std::string(step.finding.empty() ? "" : "; ") + std::to_string(l->blocked) +
                    " backends blocked on locks";
    if (l->blocked > 0) {
      std::string roots;
      for (const auto& root : l->blocking_tree) {
        roots += (roots.empty() ? "" : ", ") + std::to_string(root.pid);
      }
      step.finding +=
          " for up to " + fmt_seconds(l->max_wait_seconds) + ", root blocker pid(s) " + roots;
      step.severity = std::max(step.severity,
                               l->max_wait_seconds >= 60 ? Severity::Critical : Severity::Warning);
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

DiagnosisStep pools_step(const DiagnosisInput& input) {
  const auto* d = input.target.find<core::PoolsDetails>();
  if (!d || d->pools.empty()) {
    return DiagnosisStep{"pools", "Pool budgets", Severity::Ok,
                         "no pools configured (declare pool_size and max_overflow per application "
                         "under pools: to check them)",
                         ""};
  }
  DiagnosisStep step{"pools", "Pool budgets", Severity::Ok, "", ""};
  step.finding = "pool budgets add up to " + fmt_ratio(d->overcommit) + " of the usable slots";
  if (d->overcommit > 1) step.severity = Severity::Warning;
  for (const auto& pool : d->pools) {
    if (pool.utilization > 1) {
      step.severity = std::max(step.severity, Severity::Warning);
      step.finding += "; " + pool.name + " holds " + std::to_string(pool.connections) +
                      " connections, over its budget of " + std::to_string(pool.budget);
    }
  }
  if (step.severity != Severity::Ok) {
    step.action =
        "Reduce replicas x (pool_size + max_overflow) until the sum fits max_connections "
        "minus reserved slots, or raise max_connections (restart) / add PgBouncer; an "
        "application over its own budget opens connections outside its pool.";
  }
  return step;
}

DiagnosisStep rls_step(const DiagnosisInput& input) {
  const auto* d = input.target.find<core::RlsDetails>();
  if (!d) return skipped("rls", "Row-level security", "no catalog scan yet");
  DiagnosisStep step{"rls", "Row-level security", Severity::Ok, "", ""};
  const auto& unprotected = d->unprotected_tenant_tables;
  if (unprotected.empty()) {
    step.finding = "RLS is in force on every tenant table";
  } else {
    step.severity = Severity::Critical;
    std::string names;
    for (std::size_t i = 0; i < unprotected.size() && i < 5; ++i) {
      const auto& t = unprotected[i];
      names += (names.empty() ? "" : ", ") + t.datname + ":" + t.schema + "." + t.table + " (" +
               t.status + ")";
    }
    step.finding =
        std::to_string(unprotected.size()) + " tenant table(s) without RLS in force: " + names;
    step.action =
        "ALTER TABLE <table> ENABLE ROW LEVEL SECURITY; and make sure it has a policy "
        "(CREATE POLICY tenant_isolation ON <table> USING (tenant_id = "
        "current_setting('app.tenant_id')::int)); check with \\d+ <table> and "
        "SELECT * FROM pg_policies WHERE tablename = '<table>'.";
  }
  for (const auto& role : d->bypass_roles) {
    if (role.reason == "bypassrls") {
      step.severity = std::max(step.severity, Severity::Warning);
      step.finding += "; role " + role.rolname + " has BYPASSRLS";
    }
  }
  if (d->monitoring_role_superuser) {
    step.severity = std::max(step.severity, Severity::Warning);
    step.finding +=
        "; pgpulse connects as a superuser (GRANT pg_monitor to a dedicated role instead)";
  }
  return step;
}

}  // namespace

TargetReport diagnose(const DiagnosisInput& input) {
  const auto& health = input.target.health;
  TargetReport report;
  report.target = health.target;
  if (health.kind == "pgbouncer") {
    report.steps = pgbouncer_steps(input);
    report.verdict = Severity::Ok;
    for (const auto& step : report.steps) report.verdict = std::max(report.verdict, step.severity);
    return report;
  }
  report.steps.push_back(health_step(health));
  report.steps.push_back(connectivity_step(health));
  if (health.up) {
    report.steps.push_back(connections_step(input));
    report.steps.push_back(idle_step(input));
    report.steps.push_back(queries_step(input));
    report.steps.push_back(pools_step(input));
    report.steps.push_back(rls_step(input));
  } else {
    for (auto [id, title] : {std::pair{"connections", "Connections and saturation"},
                             {"idle", "Idle connections and leaks"},
                             {"queries_and_locks", "Long queries and locks"},
                             {"pools", "Pool budgets"},
                             {"rls", "Row-level security"}}) {
      report.steps.push_back(skipped(id, title, "not connected"));
    }
  }
  report.verdict = Severity::Ok;
  for (const auto& step : report.steps) report.verdict = std::max(report.verdict, step.severity);
  return report;
}

int exit_code_for(const std::vector<TargetReport>& reports) {
  Severity worst = Severity::Ok;
  for (const auto& r : reports) worst = std::max(worst, r.verdict);
  return worst == Severity::Critical ? 2 : worst == Severity::Warning ? 1 : 0;
}

nlohmann::json report_json(const std::vector<TargetReport>& reports) {
  nlohmann::json targets = nlohmann::json::array();
  for (const auto& r : reports) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : r.steps) {
      steps.push_back({{"id", s.id},
                       {"title", s.title},
                       {"severity", severity_label(s.severity)},
                       {"finding", s.finding},
                       {"action", s.action}});
    }
    targets.push_back(
        {{"target", r.target}, {"verdict", severity_label(r.verdict)}, {"steps", steps}});
  }
  int code = exit_code_for(reports);
  return {{"verdict", code == 2   ? "critical"
                      : code == 1 ? "warning"
                                  : "ok"},
          {"exit_code", code},
          {"targets", targets}};
}

std::string report_text(const std::vector<TargetReport>& reports, bool color) {
  auto paint = [&](Severity s, std::string text) {
    if (!color) return text;
    const char* code = s == Severity::Critical  ? "\033[1;31m"
                       : s == Severity::Warning ? "\033[1;33m"
                       : s == Severity::Ok      ? "\033[32m"
                                                : "\033[2m";
    return code + text + "\033[0m";
  };
  auto tag = [](Severity s) -> std::string {
    switch (s) {
      case Severity::Ok:
        return "[ OK ]";
      case Severity::Warning:
        return "[WARN]";
      case Severity::Critical:
        return "[CRIT]";
      case Severity::Skipped:
        break;
    }
    return "[SKIP]";
  };
  std::ostringstream out;
  for (const auto& r : reports) {
    out << "target " << r.target << ": " << paint(r.verdict, std::string(severity_label(r.verdict)))
        << "\n";
    int n = 1;
    for (const auto& s : r.steps) {
      bool question = !s.title.empty() && s.title.back() == '?';
      out << "  " << paint(s.severity, tag(s.severity)) << " " << n++ << ". " << s.title
          << (question ? " " : ": ") << s.finding << "\n";
      if (!s.action.empty()) out << "         next: " << s.action << "\n";
    }
  }
  return out.str();
}

}  // namespace pgpulse::analysis
