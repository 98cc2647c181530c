#include "analysis/pgbouncer_diagnosis.hpp"

#include <algorithm>
#include <cmath>

#include "analysis/steps.hpp"
#include "core/details/pgbouncer.hpp"

namespace pgpulse::analysis {

namespace {

std::string version_text(int version) {
  if (version <= 0) return "unknown version";
  return std::to_string(version / 10000) + "." + std::to_string(version / 100 % 100) + "." +
         std::to_string(version % 100);
}

std::string pool_name(const core::PgBouncerPool& pool) {
  return pool.database + "/" + pool.user;
}

const char* const kShowPools =
    "psql -h <pgbouncer> -p <port> -U <stats user> pgbouncer -c \"SHOW POOLS\"";

DiagnosisStep up_step(const core::TargetHealth& h) {
  DiagnosisStep step{"health", "Is PgBouncer up?", Severity::Ok, "", ""};
  step.measure("up", h.up ? 1 : 0, "boolean");
  if (h.up) {
    step.finding = "PgBouncer's admin console answers (PgBouncer " +
                   version_text(h.server_version) + ")" +
                   (h.server.empty() ? "" : ", in front of " + h.server);
    return step;
  }
  step.severity = Severity::Critical;
  step.finding =
      "PgBouncer does not answer (" +
      (h.last_error_reason.empty() ? std::string("no attempt yet") : h.last_error_reason) +
      "): " + h.last_error;
  if (h.last_error_reason == "auth_failed") {
    step.action =
        "The console refused pgpulse's role: list it in stats_users (pgbouncer.ini) and in "
        "auth_file with its password, then RELOAD; connect with dbname=pgbouncer.";
  } else {
    step.action =
        "Is PgBouncer running? systemctl status pgbouncer; pg_isready -h <pgbouncer> -p <port>; "
        "check listen_addr/listen_port and its log. Every application behind it is cut off.";
  }
  return step;
}

DiagnosisStep waiting_step(const core::PgBouncerPoolsDetails& d) {
  DiagnosisStep step{"pgbouncer_waiting", "Who waits for a server connection?", Severity::Ok, "",
                     ""};
  step.measure("clients_waiting", d.clients_waiting, "clients");
  step.measure("max_wait", d.max_wait_seconds, "seconds");
  for (const auto& pool : d.pools) {
    if (pool.clients_waiting == 0) continue;
    step.measure("pool_clients_waiting", pool.clients_waiting, "clients", pool_name(pool));
    step.measure("pool_max_wait", pool.max_wait_seconds, "seconds", pool_name(pool));
  }
  if (d.clients_waiting == 0) {
    step.finding = "no client waits for a server connection";
    return step;
  }
  step.finding = std::to_string(d.clients_waiting) + " client(s) waiting, the oldest for " +
                 fmt_seconds(d.max_wait_seconds);
  std::string pools;
  for (const auto& pool : d.pools) {
    if (pool.clients_waiting == 0) continue;
    pools += (pools.empty() ? "" : ", ") + pool_name(pool) + " (" +
             std::to_string(pool.clients_waiting) + " waiting, " +
             std::to_string(pool.servers_active) + "/" + std::to_string(pool.size) +
             " servers active, " + pool.pool_mode + " mode, oldest " +
             fmt_seconds(pool.max_wait_seconds) + ")";
  }
  step.finding += ": " + pools;
  if (d.max_wait_seconds >= kWaitCriticalSeconds) {
    step.severity = Severity::Critical;
  } else if (d.max_wait_seconds >= kWaitWarningSeconds) {
    step.severity = Severity::Warning;
  }
  if (step.severity != Severity::Ok) {
    step.action =
        std::string(kShowPools) +
        " (cl_waiting, maxwait) and SHOW SERVERS for what the pool's server connections do: "
        "long queries or locks on the server (see its runbook), or an application holding "
        "sessions/transactions open (fix the app's leak); else raise pool_size for that "
        "database or default_pool_size, within the server's budget.";
  }
  return step;
}

DiagnosisStep full_pools_step(const core::PgBouncerPoolsDetails& d) {
  DiagnosisStep step{"pgbouncer_pools", "Which pool is full?", Severity::Ok, "", ""};
  std::string full;
  double highest = 0;
  for (const auto& pool : d.pools) {
    highest = std::max(highest, std::isinf(pool.saturation) ? 1e9 : pool.saturation);
    step.measure("pool_saturation", pool.saturation, "ratio", pool_name(pool));
    if (pool.saturation < 1) continue;
    full += (full.empty() ? "" : ", ") + pool_name(pool) + " " +
            std::to_string(pool.servers_active) + "/" + std::to_string(pool.size) + " (" +
            pool.pool_mode + " mode" +
            (pool.reserve > 0 ? ", reserve " + std::to_string(pool.reserve) : "") + ")";
  }
  if (full.empty()) {
    step.finding = d.pools.empty()
                       ? "no pool in use yet"
                       : std::to_string(d.pools.size()) +
                             " pool(s), none full (highest saturation " + fmt_ratio(highest) + ")";
    return step;
  }
  step.severity = Severity::Warning;
  step.finding = "every server connection is taken in " + full;
  step.action =
      std::string(kShowPools) +
      "; in session mode each client keeps its server connection for the whole session (an "
      "application that never closes them, or transaction mode, fixes that); raise the "
      "database's pool_size or default_pool_size if the server has the slots (see the budget "
      "step), or fix the app's leak.";
  return step;
}

DiagnosisStep clients_step(const core::PgBouncerClientsDetails* c) {
  if (!c) return {"pgbouncer_clients", "Client connections", Severity::Skipped, "no data", ""};
  DiagnosisStep step{"pgbouncer_clients", "Client connections", Severity::Ok, "", ""};
  step.measure("client_connections", c->client_connections, "connections");
  step.measure("max_client_conn", c->max_client_conn, "connections");
  step.measure("client_saturation", c->ratio, "ratio");
  step.finding = std::to_string(c->client_connections) + " of max_client_conn " +
                 std::to_string(c->max_client_conn) + " (" + fmt_ratio(c->ratio) + ")";
  if (c->ratio >= kClientsCriticalRatio) {
    step.severity = Severity::Critical;
  } else if (c->ratio >= kClientsWarningRatio) {
    step.severity = Severity::Warning;
  }
  if (step.severity != Severity::Ok) {
    step.action =
        "psql ... pgbouncer -c \"SHOW CLIENTS\": which application opens so many; past "
        "max_client_conn new clients are refused. Raise max_client_conn (and the open-files "
        "limit) or shrink the applications' own pools.";
  }
  return step;
}

DiagnosisStep budget_step(const core::PgBouncerPoolsDetails& d) {
  DiagnosisStep step{"pgbouncer_budget", "Does PgBouncer's budget fit the server?", Severity::Ok,
                     "", ""};
  step.measure("server_budget", d.server_budget, "connections");
  if (d.server_known) {
    step.measure("server_usable_connections", d.server_usable_connections, "connections", d.server);
    step.measure("server_budget_ratio", d.server_budget_ratio, "ratio", d.server);
  }
  std::string budget = "PgBouncer may open " + std::to_string(d.server_budget) +
                       " server connections (pool size + reserve of its pools)";
  if (d.server.empty()) {
    step.severity = Severity::Skipped;
    step.finding = budget + "; no server linked (set server: <postgres target> on this target)";
    return step;
  }
  if (!d.server_known) {
    step.severity = Severity::Skipped;
    step.finding = budget + "; no connection data from " + d.server + " yet";
    return step;
  }
  step.finding = budget + " against " + std::to_string(d.server_usable_connections) +
                 " usable slots of " + d.server + " (ratio " + fmt_ratio(d.server_budget_ratio) +
                 ")";
  if (d.server_budget_ratio > 1) {
    step.severity = Severity::Warning;
    step.finding += ": under load PgBouncer alone can exhaust the server";
    step.action =
        "Lower pool_size / reserve_pool of the largest databases, or cap them with "
        "max_db_connections / max_user_connections, until the budget fits max_connections - "
        "reserved of " +
        d.server + "; or raise max_connections there (restart).";
  }
  return step;
}

}  // namespace

std::vector<DiagnosisStep> pgbouncer_steps(const DiagnosisInput& input) {
  const auto& health = input.target.health;
  std::vector<DiagnosisStep> steps{up_step(health)};
  const auto* pools = input.target.find<core::PgBouncerPoolsDetails>();
  if (!health.up || !pools) {
    std::string why = health.up ? "no pool data yet" : "not connected";
    steps.push_back(
        {"pgbouncer_waiting", "Who waits for a server connection?", Severity::Skipped, why, ""});
    steps.push_back({"pgbouncer_pools", "Which pool is full?", Severity::Skipped, why, ""});
    steps.push_back({"pgbouncer_clients", "Client connections", Severity::Skipped, why, ""});
    steps.push_back({"pgbouncer_budget", "Does PgBouncer's budget fit the server?",
                     Severity::Skipped, why, ""});
    return steps;
  }
  steps.push_back(waiting_step(*pools));
  steps.push_back(full_pools_step(*pools));
  steps.push_back(clients_step(input.target.find<core::PgBouncerClientsDetails>()));
  steps.push_back(budget_step(*pools));
  return steps;
}

std::string through_pgbouncer(const DiagnosisInput& input, int pid) {
  const auto* d = input.target.find<core::PgBouncerBackendsDetails>();
  if (!d) return "";
  auto via = d->via(pid);
  return via.empty() ? "" : " (through " + via + ")";
}

std::string pgbouncer_share(const DiagnosisInput& input) {
  const auto* d = input.target.find<core::PgBouncerBackendsDetails>();
  if (!d) return "";
  std::string pools;
  auto ranked = d->pools;
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.backends > b.backends; });
  for (std::size_t i = 0; i < ranked.size() && i < 5; ++i) {
    pools += (pools.empty() ? "" : ", ") + ranked[i].pgbouncer + " pool " + ranked[i].database +
             "/" + ranked[i].user + " " + std::to_string(ranked[i].backends);
  }
  return "; " + std::to_string(d->pgbouncer_backends) + " through PgBouncer" +
         (pools.empty() ? "" : " (" + pools + ")") + ", " + std::to_string(d->direct_clients) +
         " direct";
}

std::string pgbouncer_idle_transactions(const DiagnosisInput& input) {
  const auto* d = input.target.find<core::PgBouncerBackendsDetails>();
  if (!d) return "";
  std::string text;
  for (const auto& pool : d->pools) {
    if (pool.idle_in_transaction == 0) continue;
    text += "; " + std::to_string(pool.idle_in_transaction) +
            " idle in transaction through pgbouncer " + pool.pgbouncer + " pool " + pool.database +
            "/" + pool.user;
  }
  return text;
}

}  // namespace pgpulse::analysis
