#include "collectors/target_health.hpp"

namespace pgpulse::collectors {

const std::vector<std::string>& connect_error_reasons() {
  static const std::vector<std::string> reasons{"refused", "timeout", "auth_failed",
                                                "too_many_connections", "other"};
  return reasons;
}

Families health_families(const TargetHealth& h) {
  Families families;
  add_sample(add_gauge(families, "pgpulse_up",
                       "1 when the last poll connected and its queries reached the server, else 0."),
             {}, h.up ? 1 : 0);
  auto& errors = add_counter(families, "pgpulse_connect_errors_total",
                             "Failed connection attempts by classified reason.");
  for (const auto& reason : connect_error_reasons()) {
    auto it = h.connect_errors.find(reason);
    add_sample(errors, {{"reason", reason}}, it == h.connect_errors.end() ? 0 : it->second);
  }
  if (h.server_version > 0) {
    add_sample(add_gauge(families, "pgpulse_server_version_num",
                         "server_version_num of the target, e.g. 150018."),
               {}, h.server_version);
  }
  auto& success = add_gauge(families, "pgpulse_collector_success",
                            "1 when the collector's last run succeeded, else 0.");
  auto& duration = add_gauge(families, "pgpulse_collector_duration_seconds",
                             "Wall time of the collector's last run, database round trips included.");
  auto& last = add_gauge(families, "pgpulse_collector_last_success_timestamp_seconds",
                         "Unix time of the collector's last successful run (0: never).");
  auto& interval = add_gauge(families, "pgpulse_collector_interval_seconds",
                             "Configured poll interval of the collector (staleness is judged "
                             "against it: /readyz allows three).");
  for (const auto& c : h.collectors) {
    LabelPairs labels{{"collector", c.name}};
    add_sample(interval, labels, c.interval_seconds);
    add_sample(success, labels, c.success ? 1 : 0);
    add_sample(duration, labels, c.duration_seconds);
    add_sample(last, labels, c.last_success_unix);
  }
  return families;
}

void to_json(nlohmann::json& j, const CollectorHealth& h) {
  j = {{"name", h.name},
       {"interval_seconds", h.interval_seconds},
       {"ran", h.ran},
       {"success", h.success},
       {"duration_seconds", h.duration_seconds},
       {"last_success_unix", h.last_success_unix},
       {"last_error", h.last_error}};
}

void from_json(const nlohmann::json& j, CollectorHealth& h) {
  j.at("name").get_to(h.name);
  j.at("interval_seconds").get_to(h.interval_seconds);
  j.at("ran").get_to(h.ran);
  j.at("success").get_to(h.success);
  j.at("duration_seconds").get_to(h.duration_seconds);
  j.at("last_success_unix").get_to(h.last_success_unix);
  j.at("last_error").get_to(h.last_error);
}

void to_json(nlohmann::json& j, const TargetHealth& h) {
  j = {{"target", h.target},
       {"dsn", h.dsn},
       {"up", h.up},
       {"connected_once", h.connected_once},
       {"last_error", h.last_error},
       {"last_error_reason", h.last_error_reason},
       {"connect_errors", h.connect_errors},
       {"server_version", h.server_version},
       {"collectors", h.collectors}};
}

void from_json(const nlohmann::json& j, TargetHealth& h) {
  j.at("target").get_to(h.target);
  j.at("dsn").get_to(h.dsn);
  j.at("up").get_to(h.up);
  j.at("connected_once").get_to(h.connected_once);
  j.at("last_error").get_to(h.last_error);
  j.at("last_error_reason").get_to(h.last_error_reason);
  j.at("connect_errors").get_to(h.connect_errors);
  j.at("server_version").get_to(h.server_version);
  j.at("collectors").get_to(h.collectors);
}

}  // namespace pgpulse::collectors
