#pragma once
// On a PostgreSQL target that PgBouncer targets front (their `server:`): which client backends
// are PgBouncer's server connections, by PgBouncer pool, and how many clients connect directly.
// The join reads the PgBouncer targets' latest SHOW SERVERS details from the snapshot store
// (PollContext::linked_targets), never their connections.
//
// Thread-safety: like every collector, called from its target's poller thread only.
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "collectors/activity.hpp"
#include "collectors/collector.hpp"
#include "core/details/pgbouncer.hpp"

namespace pgpulse::collectors {

// A linked PgBouncer and its latest server list; nullptr when it has published none (down, or
// not polled yet).
using LinkedPgBouncer = std::pair<std::string, const core::PgBouncerServersDetails*>;

// Whether a backend is that PgBouncer server connection: the pid is the server's (remote_pid),
// and over TCP the server's client_port is PgBouncer's local_port (a pid reused by a direct
// client between two polls then does not match). Without a remote_pid, address and port decide.
bool is_pgbouncer_backend(const ActivityRow& row, const core::PgBouncerServerConnection& server);

struct PgBouncerBackendsSummary {
  // (pgbouncer, database, user, state) -> backends; database and user folded
  std::map<std::tuple<std::string, std::string, std::string, std::string>, long> backends;
  std::map<std::string, std::size_t> folded_values;
  core::PgBouncerBackendsDetails details;
};

PgBouncerBackendsSummary summarize_pgbouncer_backends(const ActivitySample& sample,
                                                      const std::vector<LinkedPgBouncer>& linked,
                                                      std::size_t label_limit);
Families pgbouncer_backend_families(const PgBouncerBackendsSummary& summary);

class PgBouncerBackendsCollector : public Collector {
 public:
  explicit PgBouncerBackendsCollector(std::vector<std::string> pgbouncers)
      : pgbouncers_(std::move(pgbouncers)) {}
  Applicability applicability(PollContext& context) override;
  CollectorOutput collect(PollContext& context) override;

 private:
  std::vector<std::string> pgbouncers_;  // the pgbouncer targets whose server is this target
};

}  // namespace pgpulse::collectors
