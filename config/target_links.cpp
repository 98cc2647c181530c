#include "config/target_links.hpp"

#include <algorithm>

#include "config/dsn.hpp"

namespace pgpulse::config {

std::vector<ConfigError> check_target_kind(const TargetConfig& target, const YamlRecord& record) {
  std::vector<ConfigError> errors;
  if (auto dsn = record.fields.find("dsn");
      dsn != record.fields.end() && target.kind == TargetKind::PgBouncer) {
    // SHOW POOLS sent to a pooled database reaches PostgreSQL and fails there: say so now.
    auto parsed = parse_dsn(dsn->second.value);
    auto dbname = parsed.dsn ? parsed.dsn->get("dbname") : std::nullopt;
    if (dbname && *dbname != "pgbouncer") {
      errors.push_back({dsn->second.origin, "targets.dsn",
                        "a pgbouncer target connects to the admin console: dbname=pgbouncer, "
                        "not \"" +
                            *dbname + "\""});
    }
  }
  if (auto server = record.fields.find("server");
      server != record.fields.end() && target.kind != TargetKind::PgBouncer) {
    errors.push_back({server->second.origin, "targets.server",
                      "only a pgbouncer target (kind: pgbouncer) names the server it fronts"});
  }
  return errors;
}

std::vector<ConfigError> check_target_links(const std::vector<TargetConfig>& targets,
                                            const std::vector<std::string>& origins) {
  std::vector<ConfigError> errors;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const auto& target = targets[i];
    if (target.server.empty()) continue;
    std::string origin = i < origins.size() ? origins[i] : "targets";
    auto linked = std::find_if(targets.begin(), targets.end(),
                               [&](const auto& t) { return t.name == target.server; });
    if (linked == targets.end()) {
      errors.push_back({origin, "targets.server", "no target is named \"" + target.server + "\""});
    } else if (linked->kind != TargetKind::Postgres) {
      errors.push_back({origin, "targets.server",
                        "\"" + target.server +
                            "\" is not a postgres target: server names the PostgreSQL target "
                            "this PgBouncer fronts"});
    }
  }
  return errors;
}

}  // namespace pgpulse::config
