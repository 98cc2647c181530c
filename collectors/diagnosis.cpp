#include "collectors/diagnosis.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace pgpulse::collectors {

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

std::string fmt_seconds(double seconds) {
  std::ostringstream out;
  if (seconds >= 3600) {
    out << static_cast<long>(seconds / 3600) << "h" << static_cast<long>(seconds / 60) % 60 << "m";
  } else if (seconds >= 60) {
    out << static_cast<long>(seconds / 60) << "m" << static_cast<long>(seconds) % 60 << "s";
  } else {
    out << static_cast<long>(seconds) << "s";
  }
  return out.str();
}

std::string fmt_ratio(double ratio) {
  std::ostringstream out;
  out.precision(2);
  out << std::fixed << ratio;
  return out.str();
}

const nlohmann::json* find(const DiagnosisInput& input, const char* collector) {
  auto it = input.details.find(collector);
  return it == input.details.end() || !it->second.is_object() ? nullptr : &it->second;
}

// The long_queries collector says which thresholds it was configured with; the largest one is
// where a query or an idle transaction becomes a finding.
double long_query_limit(const DiagnosisInput& input) {
  const auto* q = find(input, "long_queries");
  if (!q || !(*q).contains("thresholds_seconds")) return input.long_query_seconds;
  double limit = 0;
  for (const auto& t : (*q)["thresholds_seconds"]) limit = std::max(limit, t.get<double>());
  return limit > 0 ? limit : input.long_query_seconds;
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
  const auto* d = find(input, "connections");
  if (!d) return skipped("connections", "Connections and saturation", "no connection data");
  DiagnosisStep step{"connections", "Connections and saturation", Severity::Ok, "", ""};
  double saturation = d->value("saturation", 0.0);
  long used = d->value("client_backends", 0L);
  long usable = d->value("max_connections", 0L) - d->value("reserved_connections", 0L);
  std::string holders;
  for (const auto& app : d->value("top_applications", nlohmann::json::array())) {
    auto name = app.value("application_name", std::string());
    holders += (holders.empty() ? "" : ", ") +
               (name.empty() ? std::string("(no application_name)") : name) + " " +
               std::to_string(app.value("connections", 0L));
  }
  std::string users;
  for (const auto& user : d->value("top_users", nlohmann::json::array())) {
    users += (users.empty() ? "" : ", ") + user.value("usename", std::string()) + " " +
             std::to_string(user.value("connections", 0L));
  }
  step.finding = std::to_string(used) + " of " + std::to_string(usable) +
                 " usable slots in use (saturation " + fmt_ratio(saturation) + ")" +
                 (holders.empty() ? "" : "; by application: " + holders) +
                 (users.empty() ? "" : "; by role: " + users);
  if (saturation >= 0.95) {
    step.severity = Severity::Critical;
  } else if (saturation >= 0.8) {
    step.severity = Severity::Warning;
  }
  for (const char* kind : {"database_limits", "role_limits"}) {
    for (const auto& limit : d->value(kind, nlohmann::json::array())) {
      if (limit.value("ratio", 0.0) >= 0.9) {
        step.severity = std::max(step.severity, Severity::Warning);
        step.finding +=
            "; " + std::string(kind == std::string("database_limits") ? "database " : "role ") +
            limit.value("name", std::string()) + " at " +
            std::to_string(limit.value("connections", 0L)) + "/" +
            std::to_string(limit.value("limit", 0L)) + " of its connection limit";
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
  const auto* d = find(input, "idle_trend");
  if (!d) return skipped("idle", "Idle connections and leaks", "no idle-connection data");
  DiagnosisStep step{"idle", "Idle connections and leaks", Severity::Ok, "", ""};
  step.finding = std::to_string(d->value("idle", 0L)) + " idle, " +
                 std::to_string(d->value("idle_in_transaction", 0L)) + " idle in transaction";
  const auto& oldest_tx = (*d)["oldest_idle_in_transaction"];
  if (oldest_tx.is_object()) {
    double seconds = oldest_tx.value("seconds", 0.0);
    step.finding += "; oldest idle transaction " + fmt_seconds(seconds) + " (database " +
                    oldest_tx.value("name", std::string()) + ")";
    double limit = long_query_limit(input);
    if (seconds >= limit) step.severity = Severity::Warning;
    if (seconds >= 6 * limit) step.severity = Severity::Critical;
  }
  auto leaks = d->value("leaks", nlohmann::json::array());
  for (const auto& leak : leaks) {
    step.severity = std::max(step.severity, Severity::Warning);
    step.finding += "; leak suspected in " + leak.value("application_name", std::string()) + " (+" +
                    fmt_ratio(leak.value("growth_per_minute", 0.0)) + " idle connections/min)";
  }
  if (!(*d)["exhaustion_eta_seconds"].is_null()) {
    double eta = (*d)["exhaustion_eta_seconds"].get<double>();
    step.finding += "; at the current growth the server runs out of slots in " + fmt_seconds(eta);
    if (eta < 3600) step.severity = Severity::Critical;
  }
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
  const auto* q = find(input, "long_queries");
  const auto* l = find(input, "locks");
  if (!q && !l) return skipped("queries_and_locks", "Long queries and locks", "no query data");
  DiagnosisStep step{"queries_and_locks", "Long queries and locks", Severity::Ok, "", ""};
  if (q) {
    double longest = q->value("longest_query_seconds", 0.0);
    double transaction = q->value("longest_transaction_seconds", 0.0);
    step.finding = "longest query " + fmt_seconds(longest) + ", oldest transaction " +
                   fmt_seconds(transaction);
    double limit = long_query_limit(input);
    if (longest >= limit || transaction >= 6 * limit) {
      step.severity = Severity::Warning;
    }
    auto offenders = q->value("offenders", nlohmann::json::array());
    if (!offenders.empty() && step.severity != Severity::Ok) {
      const auto& o = offenders[0];
      step.finding += "; worst: pid " + std::to_string(o.value("pid", 0)) + " (" +
                      o.value("application_name", std::string()) + ", " +
                      o.value("usename", std::string()) + "): " + o.value("query", std::string());
    }
  }
  if (l) {
    long blocked = l->value("blocked", 0L);
    double wait = l->value("max_wait_seconds", 0.0);
    step.finding += std::string(step.finding.empty() ? "" : "; ") + std::to_string(blocked) +
                    " backends blocked on locks";
    if (blocked > 0) {
      std::string roots;
      for (const auto& root : l->value("blocking_tree", nlohmann::json::array())) {
        roots += (roots.empty() ? "" : ", ") + std::to_string(root.value("pid", 0));
      }
      step.finding += " for up to " + fmt_seconds(wait) + ", root blocker pid(s) " + roots;
      step.severity = std::max(step.severity, wait >= 60 ? Severity::Critical : Severity::Warning);
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
  const auto* d = find(input, "pools");
  if (!d || d->value("pools", nlohmann::json::array()).empty()) {
    return DiagnosisStep{"pools", "Pool budgets", Severity::Ok,
                         "no pools configured (declare pool_size and max_overflow per application "
                         "under pools: to check them)",
                         ""};
  }
  DiagnosisStep step{"pools", "Pool budgets", Severity::Ok, "", ""};
  double overcommit = d->value("overcommit", 0.0);
  step.finding = "pool budgets add up to " + fmt_ratio(overcommit) + " of the usable slots";
  if (overcommit > 1) step.severity = Severity::Warning;
  for (const auto& pool : d->value("pools", nlohmann::json::array())) {
    if (pool.value("utilization", 0.0) > 1) {
      step.severity = std::max(step.severity, Severity::Warning);
      step.finding += "; " + pool.value("name", std::string()) + " holds " +
                      std::to_string(pool.value("connections", 0L)) +
                      " connections, over its budget of " +
                      std::to_string(pool.value("budget", 0L));
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
  const auto* d = find(input, "rls");
  if (!d) return skipped("rls", "Row-level security", "no catalog scan yet");
  DiagnosisStep step{"rls", "Row-level security", Severity::Ok, "", ""};
  auto unprotected = d->value("unprotected_tenant_tables", nlohmann::json::array());
  if (unprotected.empty()) {
    step.finding = "RLS is in force on every tenant table";
  } else {
    step.severity = Severity::Critical;
    std::string names;
    for (std::size_t i = 0; i < unprotected.size() && i < 5; ++i) {
      const auto& t = unprotected[i];
      names += (names.empty() ? "" : ", ") + t.value("datname", std::string()) + ":" +
               t.value("schema", std::string()) + "." + t.value("table", std::string()) + " (" +
               t.value("status", std::string()) + ")";
    }
    step.finding =
        std::to_string(unprotected.size()) + " tenant table(s) without RLS in force: " + names;
    step.action =
        "ALTER TABLE <table> ENABLE ROW LEVEL SECURITY; and make sure it has a policy "
        "(CREATE POLICY tenant_isolation ON <table> USING (tenant_id = "
        "current_setting('app.tenant_id')::int)); check with \\d+ <table> and "
        "SELECT * FROM pg_policies WHERE tablename = '<table>'.";
  }
  for (const auto& role : d->value("bypass_roles", nlohmann::json::array())) {
    if (role.value("reason", std::string()) == "bypassrls") {
      step.severity = std::max(step.severity, Severity::Warning);
      step.finding += "; role " + role.value("rolname", std::string()) + " has BYPASSRLS";
    }
  }
  if (d->value("monitoring_role_superuser", false)) {
    step.severity = std::max(step.severity, Severity::Warning);
    step.finding +=
        "; pgpulse connects as a superuser (GRANT pg_monitor to a dedicated role instead)";
  }
  return step;
}

}  // namespace

TargetReport diagnose(const DiagnosisInput& input) {
  TargetReport report;
  report.target = input.health.target;
  report.steps.push_back(health_step(input.health));
  report.steps.push_back(connectivity_step(input.health));
  if (input.health.up) {
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

}  // namespace pgpulse::collectors
