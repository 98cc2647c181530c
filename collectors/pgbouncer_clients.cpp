#include "collectors/pgbouncer_clients.hpp"

namespace pgpulse::collectors {

std::map<std::string, long> parse_pgbouncer_lists(const ShowTable& t) {
  std::map<std::string, long> lists;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    lists[t.text(r, {"list"})] = static_cast<long>(t.integer(r, {"items"}));
  }
  return lists;
}

core::PgBouncerClientsDetails summarize_pgbouncer_clients(
    const std::map<std::string, long>& lists, const std::map<std::string, std::string>& config) {
  core::PgBouncerClientsDetails clients;
  // used_clients counts every client slot PgBouncer has allocated, those still logging in too:
  // the number it compares with max_client_conn.
  if (auto it = lists.find("used_clients"); it != lists.end()) {
    clients.client_connections = it->second;
  }
  clients.max_client_conn = static_cast<long>(config_integer(config, "max_client_conn", 100));
  clients.ratio = clients.max_client_conn > 0 ? static_cast<double>(clients.client_connections) /
                                                    static_cast<double>(clients.max_client_conn)
                                              : 0.0;
  return clients;
}

Families pgbouncer_client_families(const core::PgBouncerClientsDetails& c) {
  Families families;
  add_sample(add_gauge(families, "pgpulse_pgbouncer_client_connections",
                       "Client connections PgBouncer holds (SHOW LISTS used_clients), the admin "
                       "console's and those logging in included."),
             {}, static_cast<double>(c.client_connections));
  add_sample(add_gauge(families, "pgpulse_pgbouncer_max_client_connections",
                       "PgBouncer's max_client_conn: past it new clients are refused."),
             {}, static_cast<double>(c.max_client_conn));
  add_sample(add_gauge(families, "pgpulse_pgbouncer_client_connections_ratio",
                       "pgpulse_pgbouncer_client_connections / max_client_conn."),
             {}, c.ratio);
  return families;
}

CollectorOutput PgBouncerClientsCollector::collect(PollContext& context) {
  auto lists = parse_pgbouncer_lists(show_table(context.query("SHOW LISTS")));
  auto config = show_config_values(show_table(context.query("SHOW CONFIG")));
  auto clients = summarize_pgbouncer_clients(lists, config);
  return CollectorOutput{pgbouncer_client_families(clients), core::make_details(clients)};
}

}  // namespace pgpulse::collectors
