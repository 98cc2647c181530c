#pragma once
// PgBouncer's server connections (SHOW SERVERS): for each, its pool and the backend it is on the
// server (remote_pid, and PgBouncer's side of the socket, local_addr/local_port, which the server
// sees as client_addr/client_port). No series of its own: the linked PostgreSQL target's
// pgbouncer_backends collector reads these details to tell PgBouncer's sessions from direct ones.
//
// Thread-safety: like every collector, called from its target's poller thread only.
#include "collectors/collector.hpp"
#include "collectors/pgbouncer_show.hpp"
#include "core/details/pgbouncer.hpp"

namespace pgpulse::collectors {

core::PgBouncerServersDetails parse_pgbouncer_servers(const ShowTable& servers);

class PgBouncerServersCollector : public Collector {
 public:
  CollectorOutput collect(PollContext& context) override;
};

}  // namespace pgpulse::collectors
