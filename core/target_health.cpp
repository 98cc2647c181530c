#include "core/target_health.hpp"

namespace pgpulse::core {

const std::vector<std::string>& connect_error_reasons() {
  static const std::vector<std::string> reasons{
      "refused", "timeout", "auth_failed", "too_many_connections", "role_connection_limit",
      "other"};
  return reasons;
}

Families health_families(const TargetHealth& h) {
  Families families;
  add_sample(
      add_gauge(families, "pgpulse_up",
                "1 when the last poll connected and its queries reached the server, else 0."),
      {}, h.up ? 1 : 0);
  auto& errors = add_counter(families, "pgpulse_connect_errors_total",
                             "Failed connection attempts by classified reason.");
  for (const auto& reason : connect_error_reasons()) {
    auto it = h.connect_errors.find(reason);
    add_sample(errors, {{"reason", reason}}, it == h.connect_errors.end() ? 0 : it->second);
  }
  if (!h.up && !h.last_error_reason.empty()) {
    // The alerts tell an outage (refused, timeout) from pgpulse's own problem (auth_failed,
    // role_connection_limit) with this, not with rate(): it is there from the first failure.
    add_sample(add_gauge(families, "pgpulse_connect_failure_reason",
                         "1 for the reason of the current failure to connect (or of the lost "
                         "connection) while pgpulse_up is 0; absent while up."),
               {{"reason", h.last_error_reason}}, 1);
  }
  if (h.kind == "pgbouncer") {
    // Its own names, so a PgBouncer never counts as a PostgreSQL server down or of version 1.
    add_sample(add_gauge(families, "pgpulse_pgbouncer_up",
                         "1 when the last poll reached PgBouncer's admin console, else 0."),
               {}, h.up ? 1 : 0);
    if (h.server_version > 0) {
      add_sample(add_gauge(families, "pgpulse_pgbouncer_version_num",
                           "PgBouncer's version as major*10000 + minor*100 + patch, e.g. 11800 "
                           "for 1.18.0."),
                 {}, h.server_version);
    }
  } else if (h.server_version > 0) {
    add_sample(add_gauge(families, "pgpulse_server_version_num",
                         "server_version_num of the target, e.g. 150018."),
               {}, h.server_version);
  }
  auto& success = add_gauge(families, "pgpulse_collector_success",
                            "1 when the collector's last run succeeded, else 0.");
  auto& duration =
      add_gauge(families, "pgpulse_collector_duration_seconds",
                "Wall time of the collector's last run, database round trips included.");
  auto& last = add_gauge(families, "pgpulse_collector_last_success_timestamp_seconds",
                         "Unix time of the collector's last successful run (0: never).");
  auto& applicable = add_gauge(families, "pgpulse_collector_applicable",
                               "1 when the collector applies to the target, 0 when it does not "
                               "(extension missing, standby, server version; the reason is on "
                               "/readyz and the status page).");
  auto& failed_parts = add_gauge(families, "pgpulse_collector_failed_parts",
                                 "Parts of the collector's last run that could not be read while "
                                 "the rest was (rls: databases); its data is partial.");
  auto& interval = add_gauge(families, "pgpulse_collector_interval_seconds",
                             "Configured poll interval of the collector (staleness is judged "
                             "against it: /readyz allows three).");
  for (const auto& c : h.collectors) {
    LabelPairs labels{{"collector", c.name}};
    add_sample(interval, labels, c.interval_seconds);
    add_sample(applicable, labels, c.applicable ? 1 : 0);
    if (!c.applicable) continue;  // neither success nor failure: it does not run
    add_sample(success, labels, c.success ? 1 : 0);
    add_sample(duration, labels, c.duration_seconds);
    add_sample(last, labels, c.last_success_unix);
    add_sample(failed_parts, labels, static_cast<double>(c.failed_parts));
  }
  return families;
}

}  // namespace pgpulse::core
