// Runbook steps 1-3 and 6: is it up, can we connect, how full is it, do the pool budgets fit.
#include <algorithm>

#include "analysis/pgbouncer_diagnosis.hpp"
#include "analysis/steps.hpp"
#include "analysis/thresholds.hpp"
#include "core/details/connections.hpp"
#include "core/details/pools.hpp"

namespace pgpulse::analysis {

namespace {

// pgpulse's own trouble (a wrong password, its role's connection limit): the server may be fine,
// and nothing is known about it. Not an outage.
bool monitoring_problem(const std::string& reason) {
  return reason == "auth_failed" || reason == "role_connection_limit";
}

std::string or_none(const std::string& name) {
  return name.empty() ? std::string("(no application_name)") : name;
}

}  // namespace

DiagnosisStep health_step(const core::TargetHealth& h) {
  DiagnosisStep step{"health", "Is the database up?", Severity::Ok, "", ""};
  const auto& reason = h.last_error_reason;
  step.measure("up", h.up ? 1 : 0, "boolean");
  if (h.up) {
    step.measure("server_version_num", h.server_version, "version");
    step.finding = "PostgreSQL " + core::version_text(h.kind, h.server_version) +
                   " answers (server_version_num " + std::to_string(h.server_version) + ")";
  } else if (monitoring_problem(reason)) {
    step.severity = Severity::Warning;
    step.finding =
        "unknown: the server answered but refused pgpulse (" + reason +
        ", see connectivity); pgpulse is blind to this server, which says nothing about its "
        "health";
  } else if (reason == "too_many_connections") {
    step.finding = "the server answers, but is full (see connectivity)";
  } else if (reason == "terminated") {
    step.finding =
        "the server ended pgpulse's session (restart, pg_terminate_backend); "
        "reconnecting";
  } else {
    step.severity = Severity::Critical;
    step.finding = "PostgreSQL does not answer (" +
                   (reason.empty() ? std::string("no attempt yet") : reason) + "): " + h.last_error;
    step.action = reason == "timeout"
                      ? "The server or the network hangs: pg_isready -h <host> -p <port>; check "
                        "the host's load and the server log for a stuck checkpoint or full disk."
                      : "Is the server running? pg_isready -h <host> -p <port>; systemctl status "
                        "postgresql; read the server log; check host, port and firewall.";
  }
  return step;
}

DiagnosisStep connectivity_step(const core::TargetHealth& h) {
  DiagnosisStep step{"connectivity", "Can we connect?", Severity::Ok, "", ""};
  double failures = 0;
  for (const auto& [reason, count] : h.connect_errors) failures += count;
  step.measure("failed_connection_attempts", failures, "count");
  if (h.up) {
    step.finding =
        "connected" + (failures > 0 ? " (" + std::to_string(static_cast<long>(failures)) +
                                          " failed attempts since pgpulse started)"
                                    : std::string());
    return step;
  }
  const auto& reason = h.last_error_reason;
  step.severity = monitoring_problem(reason) ? Severity::Warning : Severity::Critical;
  step.finding = "cannot connect: " + (reason.empty() ? "unknown" : reason);
  if (reason == "auth_failed") {
    step.action =
        "pgpulse's own login failed (not an outage): check its password (password_file, "
        "~/.pgpass) and pg_hba.conf for this user, host and database; the server log says "
        "which rule rejected it.";
  } else if (reason == "role_connection_limit") {
    step.action =
        "pgpulse's role has used its CONNECTION LIMIT (not an outage): SELECT pid, "
        "application_name, state FROM pg_stat_activity WHERE usename = current_user; allow 4 "
        "(ALTER ROLE ... CONNECTION LIMIT 4: the daemon's connection, its per-database visit, a "
        "pgpulse check and one spare).";
  } else if (reason == "too_many_connections") {
    step.action =
        "Every slot is taken, so applications are refused too: SELECT usename, "
        "application_name, state, count(*) FROM pg_stat_activity GROUP BY 1,2,3 ORDER BY 4 "
        "DESC; terminate idle leakers with pg_terminate_backend(pid); reserve a slot for "
        "monitoring (see README). `pgpulse check --daemon URL` names the holders from a running "
        "pgpulse.";
  } else if (reason == "refused") {
    step.action = "Nothing listens: check that PostgreSQL runs and listen_addresses/port match.";
  } else if (reason == "timeout") {
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
  step.measure("client_backends", d->client_backends, "connections");
  step.measure("usable_connections", d->usable_connections, "connections");
  step.measure("saturation", d->saturation, "ratio");
  std::string holders;
  for (const auto& app : d->top_applications) {
    step.measure("application_connections", app.connections, "connections", or_none(app.name));
    holders +=
        (holders.empty() ? "" : ", ") + or_none(app.name) + " " + std::to_string(app.connections);
  }
  std::string users;
  for (const auto& user : d->top_users) {
    step.measure("role_connections", user.connections, "connections", user.name);
    users += (users.empty() ? "" : ", ") + user.name + " " + std::to_string(user.connections);
  }
  step.finding = std::to_string(d->client_backends) + " of " +
                 std::to_string(d->usable_connections) + " usable slots in use (saturation " +
                 fmt_ratio(d->saturation) + ")" +
                 (holders.empty() ? "" : "; by application: " + holders) +
                 (users.empty() ? "" : "; by role: " + users) + pgbouncer_share(input);
  const auto& limit = threshold("saturation");
  if (d->saturation >= limit.critical) {
    step.severity = Severity::Critical;
  } else if (d->saturation > limit.warning) {
    step.severity = Severity::Warning;
  }
  for (const auto* limits : {&d->database_limits, &d->role_limits}) {
    for (const auto& l : *limits) {
      if (l.limit >= kMinJudgedConnectionLimit && l.ratio > kLimitRatio) {
        step.measure(
            limits == &d->database_limits ? "database_limit_saturation" : "role_limit_saturation",
            l.ratio, "ratio", l.name);
        step.severity = std::max(step.severity, Severity::Warning);
        step.finding += std::string("; ") +
                        (limits == &d->database_limits ? "database " : "role ") + l.name + " at " +
                        std::to_string(l.connections) + "/" + std::to_string(l.limit) +
                        " of its connection limit";
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
  step.measure("budget_overcommit", d->overcommit, "ratio");
  if (d->overcommit > 1) step.severity = Severity::Warning;
  for (const auto& pool : d->pools) {
    step.measure("pool_connections", pool.connections, "connections", pool.name);
    step.measure("pool_budget", pool.budget, "connections", pool.name);
    step.measure("pool_replicas_at_limit", pool.replicas_at_limit, "count", pool.name);
    if (pool.utilization > 1) {
      step.severity = std::max(step.severity, Severity::Warning);
      step.finding += "; " + pool.name + " holds " + std::to_string(pool.connections) +
                      " connections, over its budget of " + std::to_string(pool.budget);
    }
    if (pool.replicas_at_limit > 0) {
      step.severity = std::max(step.severity, Severity::Warning);
      step.finding += "; " + std::to_string(pool.replicas_at_limit) + " replica(s) of " +
                      pool.name + " at their own pool limit (" +
                      std::to_string(pool.per_replica_budget) + " each; the fullest " +
                      pool.fullest_replica + " holds " +
                      std::to_string(pool.fullest_replica_connections) +
                      "): their requests wait for a connection (QueuePool timeouts)";
    }
  }
  if (step.severity != Severity::Ok) {
    step.action =
        "Reduce replicas x (pool_size + max_overflow) until the sum fits max_connections "
        "minus reserved slots, or raise max_connections (restart) / add PgBouncer; an "
        "application over its own budget opens connections outside its pool; a replica at its "
        "pool limit needs a bigger pool_size or shorter transactions.";
  }
  return step;
}

}  // namespace pgpulse::analysis
