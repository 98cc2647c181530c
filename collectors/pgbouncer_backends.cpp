#include "collectors/pgbouncer_backends.hpp"

#include "core/label_folding.hpp"

namespace pgpulse::collectors {

bool is_pgbouncer_backend(const ActivityRow& row, const core::PgBouncerServerConnection& server) {
  bool tcp = row.client_port > 0 && server.local_port > 0 && server.local_addr != "unix";
  if (server.remote_pid > 0) {
    return server.remote_pid == row.pid && (!tcp || server.local_port == row.client_port);
  }
  return tcp && server.local_port == row.client_port && server.local_addr == row.client_addr;
}

namespace {

std::string state_of(const ActivityRow& row) {
  return row.state.empty() ? "unknown" : row.state;
}

struct Match {
  const ActivityRow* row;
  std::string pgbouncer;
  const core::PgBouncerServerConnection* server;
};

}  // namespace

PgBouncerBackendsSummary summarize_pgbouncer_backends(const ActivitySample& sample,
                                                      const std::vector<LinkedPgBouncer>& linked,
                                                      std::size_t label_limit) {
  PgBouncerBackendsSummary summary;
  auto& details = summary.details;
  std::vector<Match> matches;
  for (const auto& [name, servers] : linked) {
    if (!servers) details.pgbouncers_without_data.push_back(name);
  }
  for (const auto& row : sample.rows) {
    if (!row.is_client() || row.is_self) continue;
    const Match* found = nullptr;
    for (const auto& [name, servers] : linked) {
      if (!servers || found) continue;
      for (const auto& server : servers->servers) {
        if (is_pgbouncer_backend(row, server)) {
          matches.push_back({&row, name, &server});
          found = &matches.back();
          break;
        }
      }
    }
    if (!found) ++details.direct_clients;
  }
  std::map<std::string, std::size_t> by_database, by_user;
  for (const auto& m : matches) {
    ++by_database[m.server->database];
    ++by_user[m.server->user];
  }
  core::LabelFold database(by_database, label_limit), user(by_user, label_limit);
  summary.folded_values = {{"database", database.folded_values()}, {"user", user.folded_values()}};
  std::map<std::tuple<std::string, std::string, std::string>, core::PgBouncerPoolBackends> pools;
  for (const auto& m : matches) {
    const auto& db = database.apply(m.server->database);
    const auto& u = user.apply(m.server->user);
    auto state = state_of(*m.row);
    ++summary.backends[{m.pgbouncer, db, u, state}];
    auto& pool = pools[{m.pgbouncer, db, u}];
    pool.pgbouncer = m.pgbouncer;
    pool.database = db;
    pool.user = u;
    ++pool.backends;
    if (state == "idle") ++pool.idle;
    if (state == "idle in transaction" || state == "idle in transaction (aborted)") {
      ++pool.idle_in_transaction;
    }
    if (state == "active") ++pool.active;
    // Not folded: the text names the pool a pid belongs to; it is never a label.
    details.backends.push_back({m.row->pid, "pgbouncer " + m.pgbouncer + " pool " +
                                                m.server->database + "/" + m.server->user});
  }
  for (auto& [key, pool] : pools) details.pools.push_back(pool);
  details.pgbouncer_backends = static_cast<long>(matches.size());
  return summary;
}

Families pgbouncer_backend_families(const PgBouncerBackendsSummary& s) {
  Families families;
  auto& backends = add_gauge(families, "pgpulse_pgbouncer_backends",
                             "Client backends that are a linked PgBouncer's server connections, "
                             "by its pool (database, user) and pg_stat_activity state.");
  for (const auto& [key, count] : s.backends) {
    const auto& [pgbouncer, database, user, state] = key;
    add_sample(backends,
               {{"pgbouncer", pgbouncer}, {"database", database}, {"user", user}, {"state", state}},
               static_cast<double>(count));
  }
  add_sample(add_gauge(families, "pgpulse_direct_client_backends",
                       "Client backends no linked PgBouncer holds: applications connected "
                       "directly (pgpulse's own excluded)."),
             {}, static_cast<double>(s.details.direct_clients));
  core::add_folded_values(families, "pgbouncer_backends", s.folded_values);
  return families;
}

Applicability PgBouncerBackendsCollector::applicability(PollContext&) {
  if (pgbouncers_.empty()) {
    return Applicability::no("no pgbouncer target names this server (targets[].server)");
  }
  return Applicability::yes();
}

CollectorOutput PgBouncerBackendsCollector::collect(PollContext& context) {
  std::vector<LinkedPgBouncer> linked;
  for (const auto& name : pgbouncers_) {
    const auto* view = context.linked_target(name);
    linked.emplace_back(name, view ? view->find<core::PgBouncerServersDetails>() : nullptr);
  }
  auto summary = summarize_pgbouncer_backends(context.activity(), linked, context.label_limit());
  return CollectorOutput{pgbouncer_backend_families(summary), core::make_details(summary.details)};
}

}  // namespace pgpulse::collectors
