#include "collectors/horizon.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace pgpulse::collectors {

// A logical slot's catalog_xmin holds back the system catalogs' horizon only, but also what
// datfrozenxid can advance to: both count. pg_stat_replication.backend_xmin is the standby's
// feedback when it streams without a slot (with one, the slot's xmin carries it).
const char* const kHorizonSql = R"SQL(
SELECT 'replication_slot' AS holder, slot_name::text AS name, active_pid AS pid,
       database::text AS datname, NULL::text AS usename,
       greatest(age(xmin), age(catalog_xmin)) AS xid_age, NULL::float8 AS since
  FROM pg_catalog.pg_replication_slots
 WHERE xmin IS NOT NULL OR catalog_xmin IS NOT NULL
UNION ALL
SELECT 'prepared_transaction', gid, NULL, database::text, owner::text, age(transaction),
       date_part('epoch', prepared)
  FROM pg_catalog.pg_prepared_xacts
UNION ALL
SELECT 'standby_feedback', application_name, pid, NULL, usename::text, age(backend_xmin), NULL
  FROM pg_catalog.pg_stat_replication
 WHERE backend_xmin IS NOT NULL)SQL";

std::vector<HorizonRow> parse_horizon(const pg::Result& result) {
  std::vector<HorizonRow> rows;
  const int holder = result.column_index("holder"), name = result.column_index("name"),
            pid = result.column_index("pid"), datname = result.column_index("datname"),
            usename = result.column_index("usename"), xid_age = result.column_index("xid_age"),
            since = result.column_index("since");
  for (int r = 0; r < result.rows(); ++r) {
    HorizonRow& row = rows.emplace_back();
    row.holder = result.text(r, holder);
    row.name = result.text(r, name);
    row.pid = static_cast<int>(result.integer(r, pid));
    row.datname = result.text(r, datname);
    row.usename = result.text(r, usename);
    row.xid_age = result.integer(r, xid_age, -1);
    row.since = result.number(r, since, std::nan(""));
  }
  return rows;
}

namespace {

std::optional<double> seconds_since(double start, double now) {
  if (!std::isfinite(start) || !std::isfinite(now)) return std::nullopt;
  return std::max(0.0, now - start);
}

}  // namespace

core::HorizonDetails summarize_horizon(const ActivitySample& sample,
                                       const std::vector<HorizonRow>& rows) {
  std::map<std::string, core::HorizonHolder> oldest;
  auto offer = [&](core::HorizonHolder candidate) {
    auto [it, fresh] = oldest.try_emplace(candidate.holder, candidate);
    // The oldest wins; on a tie, the one held longest, then the lowest pid: stable across polls.
    auto longer = [](const core::HorizonHolder& a, const core::HorizonHolder& b) {
      if (a.xid_age != b.xid_age) return a.xid_age > b.xid_age;
      if (a.seconds.value_or(-1) != b.seconds.value_or(-1)) {
        return a.seconds.value_or(-1) > b.seconds.value_or(-1);
      }
      return a.pid < b.pid;
    };
    if (!fresh && longer(candidate, it->second)) it->second = std::move(candidate);
  };
  for (const auto& row : sample.rows) {
    if (row.is_self || row.xmin_age < 0 || row.backend_type == "walsender") continue;
    core::HorizonHolder h;
    h.holder = row.state.rfind("idle in transaction", 0) == 0 ? "idle_in_transaction" : "backend";
    h.name = row.application_name;
    h.pid = row.pid;
    h.datname = row.datname;
    h.usename = row.usename;
    h.xid_age = row.xmin_age;
    h.seconds = seconds_since(row.xact_start, sample.server_now);
    offer(std::move(h));
  }
  for (const auto& row : rows) {
    if (row.xid_age < 0) continue;
    core::HorizonHolder h;
    h.holder = row.holder;
    h.name = row.name;
    h.pid = row.pid;
    h.datname = row.datname;
    h.usename = row.usename;
    h.xid_age = row.xid_age;
    h.seconds = seconds_since(row.since, sample.server_now);
    offer(std::move(h));
  }
  core::HorizonDetails details;
  for (auto& [kind, holder] : oldest) details.holders.push_back(std::move(holder));
  std::stable_sort(details.holders.begin(), details.holders.end(),
                   [](const auto& a, const auto& b) { return a.xid_age > b.xid_age; });
  return details;
}

Families horizon_families(const core::HorizonDetails& details) {
  Families families;
  auto& age = add_gauge(families, "pgpulse_xmin_horizon_age",
                        "Transactions the oldest holder of each kind holds the xmin horizon back "
                        "by (0 when none): VACUUM keeps every row version newer than that.");
  auto& seconds = add_gauge(families, "pgpulse_xmin_horizon_age_seconds",
                            "How long the oldest holder of each kind has held the horizon, where "
                            "known: transaction age of backends, prepare age of prepared "
                            "transactions.");
  auto& info = add_gauge(families, "pgpulse_xmin_horizon_holder_info",
                         "1 for the oldest holder of each kind, named: pid and application_name, "
                         "slot name, or the prepared transaction's gid.");
  for (const char* kind : kHorizonHolders) {
    auto it = std::find_if(details.holders.begin(), details.holders.end(),
                           [&](const auto& h) { return h.holder == kind; });
    bool present = it != details.holders.end();
    add_sample(age, {{"holder", kind}}, present ? static_cast<double>(it->xid_age) : 0.0);
    if (present && it->seconds) add_sample(seconds, {{"holder", kind}}, *it->seconds);
    if (present) {
      add_sample(info,
                 {{"holder", kind},
                  {"name", it->name},
                  {"pid", it->pid > 0 ? std::to_string(it->pid) : std::string()}},
                 1);
    }
  }
  return families;
}

CollectorOutput HorizonCollector::collect(PollContext& context) {
  auto rows = parse_horizon(context.query(kHorizonSql));
  auto details = summarize_horizon(context.activity(), rows);
  auto families = horizon_families(details);
  return CollectorOutput{std::move(families), core::make_details(std::move(details))};
}

}  // namespace pgpulse::collectors
