#include "collectors/standby.hpp"

#include <algorithm>
#include <cmath>

#include "collectors/replication.hpp"

namespace pgpulse::collectors {

// LSNs become bytes since 0/0 so they compare as integers. pg_stat_wal_receiver has one row while
// a WAL receiver runs and none otherwise; latest_end_lsn is the end of WAL the primary reported
// in its last message.
const char* const kStandbySql = R"SQL(
SELECT pg_is_in_recovery() AS in_recovery,
       pg_wal_lsn_diff(pg_last_wal_receive_lsn(), '0/0')::bigint AS received,
       pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint AS replayed,
       date_part('epoch', pg_last_xact_replay_timestamp()) AS last_replay,
       date_part('epoch', statement_timestamp()) AS now,
       r.status AS receiver_status,
       pg_wal_lsn_diff(r.flushed_lsn, '0/0')::bigint AS receiver_flushed,
       pg_wal_lsn_diff(r.latest_end_lsn, '0/0')::bigint AS receiver_latest_end,
       date_part('epoch', r.last_msg_receipt_time) AS last_message
FROM (SELECT 1) one
LEFT JOIN pg_catalog.pg_stat_wal_receiver r ON true)SQL";

StandbyRow parse_standby(const pg::Result& result) {
  StandbyRow row;
  if (result.rows() < 1) return row;
  const double nan = std::nan("");
  auto optional = [&](const char* name) -> std::optional<long long> {
    int column = result.column_index(name);
    if (result.is_null(0, column)) return std::nullopt;
    return result.integer(0, column);
  };
  row.in_recovery = result.boolean(0, result.column_index("in_recovery"));
  row.received = optional("received");
  row.replayed = optional("replayed");
  row.last_replay = result.number(0, result.column_index("last_replay"), nan);
  row.now = result.number(0, result.column_index("now"), nan);
  row.receiver_status = result.text(0, result.column_index("receiver_status"));
  row.receiver_flushed = optional("receiver_flushed");
  row.receiver_latest_end = optional("receiver_latest_end");
  row.last_message = result.number(0, result.column_index("last_message"), nan);
  return row;
}

std::optional<double> standby_replay_lag(const StandbyRow& row) {
  // Replay caught up with what arrived: nothing is waiting, however old the last commit is.
  if (row.received && row.replayed && *row.replayed >= *row.received) return 0.0;
  // Archive recovery without streaming has no receive position: the last commit's age is all
  // there is, as for WAL that waits.
  if (!std::isfinite(row.last_replay) || !std::isfinite(row.now)) return std::nullopt;
  return std::max(0.0, row.now - row.last_replay);
}

core::StandbyDetails summarize_standby(const StandbyRow& row) {
  core::StandbyDetails details;
  details.wal_receiver_status = row.receiver_status.empty() ? "stopped" : row.receiver_status;
  details.replay_lag_seconds = standby_replay_lag(row);
  if (row.receiver_flushed && row.receiver_latest_end) {
    details.receive_lag_bytes = std::max(0LL, *row.receiver_latest_end - *row.receiver_flushed);
  }
  if (row.received && row.replayed) {
    details.replay_lag_bytes = std::max(0LL, *row.received - *row.replayed);
  }
  if (std::isfinite(row.last_message) && std::isfinite(row.now)) {
    details.last_message_age_seconds = std::max(0.0, row.now - row.last_message);
  }
  return details;
}

Families standby_families(const core::StandbyDetails& d, bool in_recovery) {
  Families families;
  add_sample(add_gauge(families, "pgpulse_in_recovery",
                       "1 on a standby (pg_is_in_recovery()), 0 on a primary."),
             {}, in_recovery ? 1 : 0);
  if (!in_recovery) return families;  // promoted: the primary's collectors apply at reconnect
  auto& lag = add_gauge(families, "pgpulse_standby_replay_lag_seconds",
                        "Age of the last replayed transaction while received WAL waits to be "
                        "replayed; 0 when everything received is replayed (an idle primary is "
                        "not lag).");
  if (d.replay_lag_seconds) add_sample(lag, {}, *d.replay_lag_seconds);
  add_sample(
      add_gauge(families, "pgpulse_standby_replay_lag_bytes", "WAL received but not replayed yet."),
      {}, static_cast<double>(d.replay_lag_bytes));
  add_sample(add_gauge(families, "pgpulse_standby_receive_lag_bytes",
                       "WAL the primary reported it has that this standby has not received and "
                       "flushed yet (pg_stat_wal_receiver latest_end_lsn - flushed_lsn)."),
             {}, static_cast<double>(d.receive_lag_bytes));
  auto& status = add_gauge(families, "pgpulse_standby_wal_receiver_status",
                           "1 for the WAL receiver's status (streaming, starting, waiting, "
                           "restarting, stopping), or stopped when no WAL receiver runs.");
  for (const char* value : kWalReceiverStatuses) {
    add_sample(status, {{"status", value}}, d.wal_receiver_status == value ? 1 : 0);
  }
  auto& message = add_gauge(families, "pgpulse_standby_last_message_age_seconds",
                            "Seconds since the WAL receiver last heard from the primary.");
  if (d.last_message_age_seconds) add_sample(message, {}, *d.last_message_age_seconds);
  return families;
}

Applicability StandbyCollector::applicability(PollContext& context) {
  return in_recovery(context) ? Applicability::yes() : Applicability::no("primary");
}

CollectorOutput StandbyCollector::collect(PollContext& context) {
  auto row = parse_standby(context.query(kStandbySql));
  auto details = summarize_standby(row);
  auto families = standby_families(details, row.in_recovery);
  if (!row.in_recovery) return CollectorOutput{std::move(families), nullptr};
  return CollectorOutput{std::move(families), core::make_details(std::move(details))};
}

}  // namespace pgpulse::collectors
