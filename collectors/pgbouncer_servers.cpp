#include "collectors/pgbouncer_servers.hpp"

namespace pgpulse::collectors {

core::PgBouncerServersDetails parse_pgbouncer_servers(const ShowTable& t) {
  core::PgBouncerServersDetails details;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    core::PgBouncerServerConnection server;
    server.database = t.text(r, {"database"});
    server.user = t.text(r, {"user"});
    server.state = t.text(r, {"state"});
    server.local_addr = t.text(r, {"local_addr"});
    server.local_port = static_cast<int>(t.integer(r, {"local_port"}));
    server.remote_pid = static_cast<int>(t.integer(r, {"remote_pid"}));
    details.servers.push_back(std::move(server));
  }
  return details;
}

CollectorOutput PgBouncerServersCollector::collect(PollContext& context) {
  return CollectorOutput{
      {}, core::make_details(parse_pgbouncer_servers(show_table(context.query("SHOW SERVERS"))))};
}

}  // namespace pgpulse::collectors
