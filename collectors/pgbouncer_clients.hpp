#pragma once
// PgBouncer's client connections (SHOW LISTS used_clients, login included) against
// max_client_conn (SHOW CONFIG): past it PgBouncer refuses new clients, whatever its pools do.
//
// Thread-safety: like every collector, called from its target's poller thread only.
#include <map>
#include <string>

#include "collectors/collector.hpp"
#include "collectors/pgbouncer_show.hpp"
#include "core/details/pgbouncer.hpp"

namespace pgpulse::collectors {

// SHOW LISTS as list -> items ("list" and "items" columns).
std::map<std::string, long> parse_pgbouncer_lists(const ShowTable& lists);

core::PgBouncerClientsDetails summarize_pgbouncer_clients(
    const std::map<std::string, long>& lists, const std::map<std::string, std::string>& config);
Families pgbouncer_client_families(const core::PgBouncerClientsDetails& clients);

class PgBouncerClientsCollector : public Collector {
 public:
  CollectorOutput collect(PollContext& context) override;
};

}  // namespace pgpulse::collectors
