#include "collectors/replication.hpp"

#include <algorithm>
#include <map>

#include "core/label_folding.hpp"

namespace pgpulse::collectors {

// One round trip for standbys and slots. The lag intervals are NULL once a standby has caught up
// and stays idle (and briefly after it connects): caught up, so 0. A Unix-socket standby has no
// client_addr. restart_lsn is NULL for a slot that never reserved WAL (or lost it).
const char* const kReplicationSql = R"SQL(
SELECT 'standby' AS kind, application_name AS name, coalesce(host(client_addr), 'local') AS addr,
       state, sync_state,
       date_part('epoch', write_lag) AS write_lag, date_part('epoch', flush_lag) AS flush_lag,
       date_part('epoch', replay_lag) AS replay_lag,
       pg_wal_lsn_diff(sent_lsn, replay_lsn)::bigint AS lag_bytes,
       NULL::bool AS active, NULL::bigint AS retained_bytes, NULL::text AS wal_status
  FROM pg_catalog.pg_stat_replication
UNION ALL
SELECT 'slot', slot_name::text, slot_type, NULL, NULL, NULL, NULL, NULL, NULL, active,
       pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint, wal_status
  FROM pg_catalog.pg_replication_slots)SQL";

ReplicationRows parse_replication(const pg::Result& result) {
  ReplicationRows rows;
  const int kind = result.column_index("kind"), name = result.column_index("name"),
            addr = result.column_index("addr"), state = result.column_index("state"),
            sync_state = result.column_index("sync_state"),
            write_lag = result.column_index("write_lag"),
            flush_lag = result.column_index("flush_lag"),
            replay_lag = result.column_index("replay_lag"),
            lag_bytes = result.column_index("lag_bytes"), active = result.column_index("active"),
            retained = result.column_index("retained_bytes"),
            wal_status = result.column_index("wal_status");
  for (int r = 0; r < result.rows(); ++r) {
    if (result.text(r, kind) == "standby") {
      core::StandbyLag& s = rows.standbys.emplace_back();
      s.application_name = result.text(r, name);
      s.client_addr = result.text(r, addr);
      s.state = result.text(r, state);
      s.sync_state = result.text(r, sync_state);
      s.write_lag_seconds = result.number(r, write_lag);
      s.flush_lag_seconds = result.number(r, flush_lag);
      s.replay_lag_seconds = result.number(r, replay_lag);
      s.lag_bytes = std::max(0LL, result.integer(r, lag_bytes));
    } else {
      core::SlotState& s = rows.slots.emplace_back();
      s.slot_name = result.text(r, name);
      s.slot_type = result.text(r, addr);
      s.active = result.boolean(r, active);
      if (!result.is_null(r, retained))
        s.retained_bytes = std::max(0LL, result.integer(r, retained));
      s.wal_status = result.text(r, wal_status);
    }
  }
  return rows;
}

namespace {

int status_rank(const std::string& status) {  // worse is higher
  for (int i = 0; i < 4; ++i) {
    if (status == kWalStatuses[i]) return i + 1;
  }
  return 0;
}

}  // namespace

ReplicationSummary summarize_replication(const ReplicationRows& rows, std::size_t label_limit) {
  ReplicationSummary summary;
  std::map<std::string, std::size_t> apps, addrs, slots;
  for (const auto& s : rows.standbys) {
    ++apps[s.application_name];
    ++addrs[s.client_addr];
    ++summary.replicas[{s.state, s.sync_state}];
  }
  for (const auto& s : rows.slots) ++slots[s.slot_name];
  core::LabelFold app(apps, label_limit), addr(addrs, label_limit), slot(slots, label_limit);
  summary.folded = {{"application_name", app.folded_values()},
                    {"client_addr", addr.folded_values()},
                    {"slot_name", slot.folded_values()}};
  std::map<std::pair<std::string, std::string>, core::StandbyLag> standbys;
  for (const auto& s : rows.standbys) {
    auto key = std::make_pair(app.apply(s.application_name), addr.apply(s.client_addr));
    auto [it, fresh] = standbys.try_emplace(key, s);
    auto& into = it->second;
    if (!fresh) {
      into.write_lag_seconds = std::max(into.write_lag_seconds, s.write_lag_seconds);
      into.flush_lag_seconds = std::max(into.flush_lag_seconds, s.flush_lag_seconds);
      into.replay_lag_seconds = std::max(into.replay_lag_seconds, s.replay_lag_seconds);
      into.lag_bytes = std::max(into.lag_bytes, s.lag_bytes);
    }
    into.application_name = key.first;
    into.client_addr = key.second;
  }
  for (auto& [key, s] : standbys) summary.standbys.push_back(std::move(s));
  std::map<std::pair<std::string, std::string>, core::SlotState> folded_slots;
  for (const auto& s : rows.slots) {
    auto key = std::make_pair(slot.apply(s.slot_name), s.slot_type);
    auto [it, fresh] = folded_slots.try_emplace(key, s);
    auto& into = it->second;
    if (!fresh) {
      into.active = into.active && s.active;
      if (s.retained_bytes) {
        into.retained_bytes = std::max(into.retained_bytes.value_or(0), *s.retained_bytes);
      }
      if (status_rank(s.wal_status) > status_rank(into.wal_status)) into.wal_status = s.wal_status;
    }
    into.slot_name = key.first;
  }
  for (auto& [key, s] : folded_slots) summary.slots.push_back(std::move(s));
  return summary;
}

Families replication_families(const ReplicationSummary& s) {
  Families families;
  add_sample(add_gauge(families, "pgpulse_in_recovery",
                       "1 on a standby (pg_is_in_recovery()), 0 on a primary."),
             {}, 0);
  auto& lag =
      add_gauge(families, "pgpulse_replication_lag_seconds",
                "Time until the standby had written, flushed and replayed recent WAL "
                "(pg_stat_replication write_lag, flush_lag, replay_lag); 0 once caught up.");
  auto& bytes = add_gauge(families, "pgpulse_replication_lag_bytes",
                          "WAL sent to the standby but not replayed there yet.");
  for (const auto& standby : s.standbys) {
    LabelPairs labels{{"application_name", standby.application_name},
                      {"client_addr", standby.client_addr}};
    auto with = [&](const char* kind) {
      auto l = labels;
      l.emplace_back("kind", kind);
      return l;
    };
    add_sample(lag, with("write"), standby.write_lag_seconds);
    add_sample(lag, with("flush"), standby.flush_lag_seconds);
    add_sample(lag, with("replay"), standby.replay_lag_seconds);
    add_sample(bytes, labels, static_cast<double>(standby.lag_bytes));
  }
  auto& replicas = add_gauge(families, "pgpulse_replicas",
                             "WAL senders by state (streaming, catchup, backup, ...) and "
                             "sync_state (async, sync, potential, quorum).");
  for (const auto& [key, count] : s.replicas) {
    add_sample(replicas, {{"state", key.first}, {"sync_state", key.second}},
               static_cast<double>(count));
  }
  auto& active = add_gauge(families, "pgpulse_replication_slot_active",
                           "1 when a process is using the replication slot.");
  auto& retained = add_gauge(families, "pgpulse_replication_slot_retained_bytes",
                             "WAL the slot keeps from being removed: pg_current_wal_lsn() - "
                             "restart_lsn.");
  auto& status = add_gauge(families, "pgpulse_replication_slot_wal_status",
                           "1 for the slot's wal_status: reserved (within max_wal_size), extended "
                           "(beyond it, kept by the slot), unreserved (will be removed at the "
                           "next checkpoint), lost (the slot is unusable).");
  for (const auto& slot : s.slots) {
    LabelPairs labels{{"slot_name", slot.slot_name}, {"slot_type", slot.slot_type}};
    add_sample(active, labels, slot.active ? 1 : 0);
    if (slot.retained_bytes)
      add_sample(retained, labels, static_cast<double>(*slot.retained_bytes));
    for (const char* value : kWalStatuses) {
      auto l = labels;
      l.emplace_back("status", value);
      add_sample(status, l, slot.wal_status == value ? 1 : 0);
    }
  }
  core::add_folded_values(families, "replication", s.folded);
  return families;
}

core::ReplicationDetails replication_details(ReplicationRows rows) {
  core::ReplicationDetails details;
  details.standbys = std::move(rows.standbys);
  details.slots = std::move(rows.slots);
  std::stable_sort(
      details.standbys.begin(), details.standbys.end(),
      [](const auto& a, const auto& b) { return a.replay_lag_seconds > b.replay_lag_seconds; });
  std::stable_sort(details.slots.begin(), details.slots.end(), [](const auto& a, const auto& b) {
    if (a.active != b.active) return !a.active;
    return a.retained_bytes.value_or(0) > b.retained_bytes.value_or(0);
  });
  return details;
}

bool in_recovery(PollContext& context) {
  return context.query("SELECT pg_is_in_recovery()").boolean(0, 0);
}

Applicability ReplicationCollector::applicability(PollContext& context) {
  return in_recovery(context) ? Applicability::no("standby") : Applicability::yes();
}

CollectorOutput ReplicationCollector::collect(PollContext& context) {
  auto rows = parse_replication(context.query(kReplicationSql));
  auto summary = summarize_replication(rows, context.label_limit());
  return CollectorOutput{replication_families(summary),
                         core::make_details(replication_details(std::move(rows)))};
}

}  // namespace pgpulse::collectors
