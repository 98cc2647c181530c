#include "analysis/health_steps.hpp"

#include <algorithm>
#include <cmath>

#include "analysis/steps.hpp"
#include "core/details/database.hpp"
#include "core/details/horizon.hpp"
#include "core/details/replication.hpp"
#include "core/details/settings.hpp"

namespace pgpulse::analysis {

namespace {

std::string percent(double ratio) {
  return fmt_ratio(ratio * 100) + "%";
}

std::string describe(const core::HorizonHolder& h) {
  std::string who;
  if (h.holder == "replication_slot") {
    who = "replication slot " + h.name + (h.pid > 0 ? " (pid " + std::to_string(h.pid) + ")" : "");
  } else if (h.holder == "prepared_transaction") {
    who = "prepared transaction '" + h.name + "'" + (h.datname.empty() ? "" : " in " + h.datname);
  } else if (h.holder == "standby_feedback") {
    who = "standby " + (h.name.empty() ? std::string("(no application_name)") : h.name) +
          " (hot_standby_feedback, walsender pid " + std::to_string(h.pid) + ")";
  } else {
    who = std::string(h.holder == "idle_in_transaction" ? "idle transaction" : "backend") +
          " pid " + std::to_string(h.pid) + " (" +
          (h.name.empty() ? std::string("no application_name") : h.name) + ", " + h.usename + "@" +
          h.datname + ")";
  }
  return who + " holds it " + fmt_count(static_cast<double>(h.xid_age)) + " transactions back" +
         (h.seconds ? " for " + fmt_seconds(*h.seconds) : "");
}

std::string horizon_action(const core::HorizonHolder& h) {
  if (h.holder == "replication_slot") {
    return "Is the slot still used? SELECT slot_name, active, active_pid, xmin, catalog_xmin FROM "
           "pg_replication_slots; drop an abandoned one: SELECT pg_drop_replication_slot('" +
           h.name + "');";
  }
  if (h.holder == "prepared_transaction") {
    return "A two-phase commit its coordinator never finished: SELECT * FROM pg_prepared_xacts; "
           "then COMMIT PREPARED '" +
           h.name + "' or ROLLBACK PREPARED '" + h.name + "' in database " + h.datname + ".";
  }
  if (h.holder == "standby_feedback") {
    return "A long query on standby " + h.name +
           " (hot_standby_feedback): find it there in pg_stat_activity and cancel it, or bound "
           "it with statement_timeout on the standby.";
  }
  return "SELECT pid, state, now() - xact_start, left(query, 80) FROM pg_stat_activity WHERE pid "
         "= " +
         std::to_string(h.pid) + "; end it with SELECT pg_terminate_backend(" +
         std::to_string(h.pid) +
         "); bound it with idle_in_transaction_session_timeout or statement_timeout.";
}

}  // namespace

DiagnosisStep wraparound_step(const DiagnosisInput& input) {
  const char* title = "Transaction ID wraparound";
  const auto* d = input.target.find<core::DatabaseDetails>();
  if (!d) return skipped("wraparound", title, "no database data");
  DiagnosisStep step{"wraparound", title, Severity::Ok, "", ""};
  double ratio = std::max(d->xid_wraparound_ratio, d->mxid_wraparound_ratio);
  step.measure("xid_wraparound", d->xid_wraparound_ratio, "ratio");
  step.measure("mxid_wraparound", d->mxid_wraparound_ratio, "ratio");
  if (d->oldest.empty()) {
    step.finding = "no databases";
    return step;
  }
  const auto& worst = d->oldest.front();
  bool by_mxid = d->mxid_wraparound_ratio > d->xid_wraparound_ratio;
  step.measure("oldest_database_xid_age", static_cast<double>(worst.xid_age), "transactions",
               worst.datname);
  step.measure("oldest_database_mxid_age", static_cast<double>(worst.mxid_age), "multixacts",
               worst.datname);
  step.finding = "oldest database " + worst.datname + ": " +
                 fmt_count(static_cast<double>(by_mxid ? worst.mxid_age : worst.xid_age)) +
                 (by_mxid ? " multixacts" : " transactions") + " since it was last frozen, " +
                 percent(ratio) + " of the way to wraparound";
  if (ratio >= kWraparoundCritical) {
    step.severity = Severity::Critical;
  } else if (ratio >= kWraparoundWarning) {
    step.severity = Severity::Warning;
  }
  if (step.severity != Severity::Ok) {
    step.action = "In database " + worst.datname +
                  ": VACUUM (FREEZE, VERBOSE) of its oldest tables (SELECT relname, "
                  "age(relfrozenxid) FROM pg_class WHERE relkind IN ('r','m','t') ORDER BY 2 "
                  "DESC LIMIT 10); first remove what holds the horizon back (the horizon step), "
                  "or VACUUM cannot freeze past it.";
  }
  return step;
}

DiagnosisStep horizon_step(const DiagnosisInput& input) {
  const char* title = "Who holds the xmin horizon back";
  const auto* d = input.target.find<core::HorizonDetails>();
  if (!d) return skipped("horizon", title, "no horizon data");
  DiagnosisStep step{"horizon", title, Severity::Ok, "", ""};
  if (d->holders.empty()) {
    step.finding = "nothing holds it back: VACUUM can remove every dead row";
    return step;
  }
  for (const auto& h : d->holders) {
    std::string subject = h.holder + " " + (h.pid ? "pid " + std::to_string(h.pid) : h.name);
    step.measure("holder_xid_age", static_cast<double>(h.xid_age), "transactions", subject);
    if (h.seconds) step.measure("holder_age", *h.seconds, "seconds", subject);
  }
  const auto& oldest = d->holders.front();
  step.finding = "oldest: " + describe(oldest);
  for (std::size_t i = 1; i < d->holders.size(); ++i) {
    step.finding +=
        "; " + d->holders[i].holder + " " + fmt_count(static_cast<double>(d->holders[i].xid_age));
  }
  for (const auto& h : d->holders) {
    auto severity = Severity::Ok;
    if (static_cast<double>(h.xid_age) >= kHorizonCriticalXids) {
      severity = Severity::Critical;
    } else if (static_cast<double>(h.xid_age) >= kHorizonWarningXids ||
               h.seconds.value_or(0) >= kHorizonWarningSeconds) {
      severity = Severity::Warning;
    }
    if (severity > step.severity) {
      step.severity = severity;
      step.action = horizon_action(h);
    }
  }
  return step;
}

DiagnosisStep replication_step(const DiagnosisInput& input) {
  const char* title = "Replication";
  const auto* standby = input.target.find<core::StandbyDetails>();
  const auto* primary = input.target.find<core::ReplicationDetails>();
  if (!standby && !primary) return skipped("replication", title, "no replication data");
  DiagnosisStep step{"replication", title, Severity::Ok, "", ""};
  auto lag_severity = [](double seconds) {
    return seconds >= kLagCriticalSeconds  ? Severity::Critical
           : seconds >= kLagWarningSeconds ? Severity::Warning
                                           : Severity::Ok;
  };
  if (standby) {
    step.measure("streaming", standby->wal_receiver_status == "streaming" ? 1 : 0, "boolean");
    step.measure("replay_lag", standby->replay_lag_seconds.value_or(std::nan("")), "seconds");
    step.measure("replay_lag_bytes", static_cast<double>(standby->replay_lag_bytes), "bytes");
    step.finding = "standby; WAL receiver " + standby->wal_receiver_status + ", replay lag " +
                   (standby->replay_lag_seconds ? fmt_seconds(*standby->replay_lag_seconds)
                                                : std::string("unknown")) +
                   " (" + fmt_count(static_cast<double>(standby->replay_lag_bytes), "B") +
                   " to replay)";
    if (standby->wal_receiver_status != "streaming") {
      step.severity = Severity::Critical;
      step.action =
          "The standby does not stream: SELECT * FROM pg_stat_wal_receiver; read the standby's "
          "log (connection refused, authentication, a removed WAL segment or slot), check "
          "primary_conninfo and primary_slot_name.";
    } else if (standby->replay_lag_seconds) {
      step.severity = lag_severity(*standby->replay_lag_seconds);
      if (step.severity != Severity::Ok) {
        step.action =
            "Replay waits: SELECT pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn(), "
            "pg_is_wal_replay_paused(); a long query on the standby conflicting with replay "
            "(max_standby_streaming_delay), or the standby's disk cannot keep up.";
      }
    }
    return step;
  }
  step.finding = std::to_string(primary->standbys.size()) + " standby(s), " +
                 std::to_string(primary->slots.size()) + " slot(s)";
  step.measure("standbys", static_cast<double>(primary->standbys.size()), "count");
  step.measure("slots", static_cast<double>(primary->slots.size()), "count");
  for (const auto& s : primary->standbys) {
    step.measure("standby_replay_lag", s.replay_lag_seconds, "seconds", s.application_name);
    auto severity = lag_severity(s.replay_lag_seconds);
    if (severity == Severity::Ok) continue;
    step.finding += "; " + s.application_name + " (" + s.client_addr + ") replays " +
                    fmt_seconds(s.replay_lag_seconds) + " behind";
    if (severity > step.severity) {
      step.severity = severity;
      step.action =
          "SELECT application_name, state, sent_lsn, replay_lsn, replay_lag FROM "
          "pg_stat_replication; check the standby's load, disk and network.";
    }
  }
  for (const auto& slot : primary->slots) {
    if (slot.retained_bytes) {
      step.measure("slot_retained", static_cast<double>(*slot.retained_bytes), "bytes",
                   slot.slot_name);
    }
    if (slot.active) continue;
    double retained = static_cast<double>(slot.retained_bytes.value_or(0));
    auto severity = slot.wal_status == "lost" || slot.wal_status == "unreserved"
                        ? Severity::Critical
                    : retained >= kInactiveSlotWarningBytes ? Severity::Warning
                                                            : Severity::Ok;
    if (severity == Severity::Ok) continue;
    step.finding += "; inactive slot " + slot.slot_name + " retains " + fmt_count(retained, "B") +
                    " of WAL" + (slot.wal_status.empty() ? "" : " (" + slot.wal_status + ")");
    if (severity > step.severity) {
      step.severity = severity;
      step.action =
          "A slot nobody reads keeps WAL until the disk fills: is its consumer coming "
          "back? If not, SELECT pg_drop_replication_slot('" +
          slot.slot_name + "');";
    }
  }
  return step;
}

void note_pending_restart(DiagnosisStep& health, const DiagnosisInput& input) {
  const auto* settings = input.target.find<core::SettingsDetails>();
  if (!settings || settings->pending_restart.empty()) return;
  std::string names;
  for (const auto& name : settings->pending_restart) names += (names.empty() ? "" : ", ") + name;
  health.finding += "; " + std::to_string(settings->pending_restart.size()) +
                    " setting(s) changed but waiting for a restart: " + names;
}

}  // namespace pgpulse::analysis
