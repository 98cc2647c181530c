#include "collectors/connections.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/label_folding.hpp"

namespace pgpulse::collectors {

using core::LabelFold;

double saturation_ratio(long client_backends, long max_connections, long reserved) {
  long usable = max_connections - reserved;
  if (usable <= 0) return std::numeric_limits<double>::infinity();
  return static_cast<double>(client_backends) / static_cast<double>(usable);
}

namespace {

std::string state_label(const ActivityRow& row) {
  return row.state.empty() ? "unknown" : row.state;
}

std::vector<LimitUsage> usage_for(const std::vector<ConnectionLimit>& limits, const char* kind,
                                  const std::map<std::string, long>& counts, std::size_t cap) {
  std::vector<LimitUsage> usage;
  for (const auto& limit : limits) {
    if (limit.kind != kind) continue;
    auto it = counts.find(limit.name);
    long used = it == counts.end() ? 0 : it->second;
    double ratio = limit.limit > 0 ? static_cast<double>(used) / limit.limit
                                   : (used > 0 ? std::numeric_limits<double>::infinity() : 0.0);
    usage.push_back(LimitUsage{limit.name, limit.limit, used, ratio});
  }
  // Bounded like every other label: keep the limits closest to being hit.
  std::stable_sort(usage.begin(), usage.end(),
                   [](const auto& a, const auto& b) { return a.ratio > b.ratio; });
  if (usage.size() > cap) usage.resize(cap);
  return usage;
}

}  // namespace

ConnectionsSummary summarize_connections(const ActivitySample& sample, const ServerLimits& limits,
                                         const std::vector<ConnectionLimit>& explicit_limits,
                                         std::size_t label_limit) {
  ConnectionsSummary summary;
  summary.limits = limits;
  std::map<std::string, std::size_t> by_db, by_user, by_app, by_state;
  std::map<std::string, long> slots_by_db, slots_by_role;
  for (const auto& row : sample.rows) {
    if (!row.is_client()) continue;
    ++summary.client_backends;
    ++slots_by_db[row.datname];
    ++slots_by_role[row.usename];
    if (row.is_self) continue;
    ++by_db[row.datname];
    ++by_user[row.usename];
    ++by_app[row.application_name];
    ++by_state[state_label(row)];
  }
  LabelFold db(by_db, label_limit), user(by_user, label_limit), app(by_app, label_limit),
      state(by_state, label_limit);
  for (const auto& row : sample.rows) {
    if (!row.is_client() || row.is_self) continue;
    ++summary.connections[{db.apply(row.datname), user.apply(row.usename),
                           app.apply(row.application_name), state.apply(state_label(row))}];
  }
  summary.folded_values = {{"datname", db.folded_values()},
                           {"usename", user.folded_values()},
                           {"application_name", app.folded_values()},
                           {"state", state.folded_values()}};
  summary.saturation =
      saturation_ratio(summary.client_backends, limits.max_connections, limits.reserved());
  summary.databases = usage_for(explicit_limits, "database", slots_by_db, label_limit);
  summary.roles = usage_for(explicit_limits, "role", slots_by_role, label_limit);
  return summary;
}

Families connection_families(const ConnectionsSummary& s) {
  Families families;
  auto& connections = add_gauge(
      families, "pgpulse_connections",
      "Client backends by database, role, application and state (pgpulse's own excluded).");
  for (const auto& [key, count] : s.connections) {
    const auto& [datname, usename, application_name, state] = key;
    add_sample(connections,
               {{"datname", datname},
                {"usename", usename},
                {"application_name", application_name},
                {"state", state}},
               static_cast<double>(count));
  }
  add_sample(add_gauge(families, "pgpulse_client_backends",
                       "Client backends holding a connection slot, pgpulse's own included."),
             {}, static_cast<double>(s.client_backends));
  add_sample(add_gauge(families, "pgpulse_max_connections", "The server's max_connections."), {},
             static_cast<double>(s.limits.max_connections));
  add_sample(add_gauge(families, "pgpulse_reserved_connections",
                       "Slots ordinary roles cannot use: superuser_reserved_connections plus "
                       "reserved_connections (PostgreSQL 16+)."),
             {}, static_cast<double>(s.limits.reserved()));
  add_sample(add_gauge(families, "pgpulse_connection_saturation_ratio",
                       "Client backends / (max_connections - reserved). At 1 ordinary roles are "
                       "refused."),
             {}, s.saturation);
  core::add_folded_values(families, "connections", s.folded_values);
  auto limit_families = [&](const std::vector<LimitUsage>& usage, const char* kind,
                            const char* label) {
    auto& limit =
        add_gauge(families, std::string("pgpulse_") + kind + "_connection_limit",
                  std::string("Connection limit set on the ") + kind + " (" +
                      (std::string(kind) == "database" ? "datconnlimit" : "rolconnlimit") +
                      "), only where one is set.");
    auto& ratio =
        add_gauge(families, std::string("pgpulse_") + kind + "_connection_saturation_ratio",
                  std::string("Client backends of the ") + kind + " / its connection limit.");
    for (const auto& u : usage) {
      add_sample(limit, {{label, u.name}}, static_cast<double>(u.limit));
      add_sample(ratio, {{label, u.name}}, u.ratio);
    }
  };
  limit_families(s.databases, "database", "datname");
  limit_families(s.roles, "role", "usename");
  return families;
}

core::ConnectionsDetails connections_details(const ConnectionsSummary& s) {
  std::map<std::string, long> by_app, by_user;
  core::ConnectionsDetails details;
  for (const auto& [key, count] : s.connections) {
    by_app[std::get<2>(key)] += count;
    by_user[std::get<1>(key)] += count;
    details.by_state[std::get<3>(key)] += count;
  }
  auto top = [](const std::map<std::string, long>& counts) {
    std::vector<core::NamedCount> ranked;
    for (const auto& [name, count] : counts) ranked.push_back({name, count});
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& a, const auto& b) { return a.connections > b.connections; });
    if (ranked.size() > 5) ranked.resize(5);
    return ranked;
  };
  details.client_backends = s.client_backends;
  details.max_connections = s.limits.max_connections;
  details.reserved_connections = s.limits.reserved();
  details.usable_connections = s.limits.usable();
  details.saturation = s.saturation;
  details.top_applications = top(by_app);
  details.top_users = top(by_user);
  details.database_limits = s.databases;
  details.role_limits = s.roles;
  return details;
}

CollectorOutput ConnectionsCollector::collect(PollContext& context) {
  const auto& settings = context.settings();
  auto summary = summarize_connections(context.activity(), settings.limits,
                                       settings.explicit_limits, context.label_limit());
  return CollectorOutput{connection_families(summary),
                         core::make_details(connections_details(summary))};
}

}  // namespace pgpulse::collectors
