#include "collectors/settings.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>

namespace pgpulse::collectors {

// Not statement_timeout, lock_timeout nor idle_session_timeout: pgpulse's own session sets them,
// so it cannot read the server's values (summarize_settings() drops such rows anyway).
const std::vector<std::string> kCuratedSettings{
    "shared_buffers",
    "work_mem",
    "maintenance_work_mem",
    "effective_cache_size",
    "max_connections",
    "max_wal_size",
    "min_wal_size",
    "checkpoint_timeout",
    "max_wal_senders",
    "max_replication_slots",
    "wal_keep_size",
    "max_slot_wal_keep_size",
    "hot_standby_feedback",
    "autovacuum_max_workers",
    "autovacuum_naptime",
    "autovacuum_freeze_max_age",
    "autovacuum_multixact_freeze_max_age",
    "autovacuum_vacuum_cost_limit",
    "idle_in_transaction_session_timeout",
    "temp_file_limit",
    "max_prepared_transactions",
    "max_locks_per_transaction",
};

// Every curated setting and every pending restart in one pass over pg_settings, and the start
// time on a row of its own ($1: the curated names).
const char* const kSettingsSql = R"SQL(
SELECT name, setting, unit, vartype, source, pending_restart
  FROM pg_catalog.pg_settings
 WHERE name = ANY ($1::text[]) OR pending_restart
UNION ALL
SELECT NULL, date_part('epoch', pg_postmaster_start_time())::text, NULL, NULL, NULL, NULL)SQL";

std::optional<double> setting_in_base_units(std::string_view setting, std::string_view unit,
                                            std::string_view vartype) {
  if (vartype == "bool") {
    if (setting == "on") return 1.0;
    if (setting == "off") return 0.0;
    return std::nullopt;
  }
  if (vartype != "integer" && vartype != "real") return std::nullopt;
  std::string text(setting);
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size()) return std::nullopt;
  if (value < 0) return value;  // -1 and the like are sentinels, not quantities
  // A unit is an optional count and a suffix: "8kB" is 8 kilobytes (blocks of shared_buffers).
  std::string_view suffix = unit;
  double count = 1;
  auto digits = std::find_if(unit.begin(), unit.end(), [](char c) { return c < '0' || c > '9'; });
  if (digits != unit.begin()) {
    std::from_chars(unit.data(), unit.data() + (digits - unit.begin()), count);
    suffix = unit.substr(static_cast<std::size_t>(digits - unit.begin()));
  }
  double scale = 1;
  if (suffix == "B") {
    scale = 1;
  } else if (suffix == "kB") {
    scale = 1024;
  } else if (suffix == "MB") {
    scale = 1024.0 * 1024;
  } else if (suffix == "GB") {
    scale = 1024.0 * 1024 * 1024;
  } else if (suffix == "ms") {
    scale = 0.001;
  } else if (suffix == "s") {
    scale = 1;
  } else if (suffix == "min") {
    scale = 60;
  } else if (suffix == "h") {
    scale = 3600;
  } else if (suffix == "d") {
    scale = 86400;
  } else if (!suffix.empty()) {
    return std::nullopt;  // a unit this code does not know: better absent than wrong
  }
  return value * count * scale;
}

SettingsSummary summarize_settings(const std::vector<SettingRow>& rows, double start_time) {
  SettingsSummary summary;
  summary.postmaster_start_time = start_time;
  for (const auto& row : rows) {
    if (row.pending_restart) summary.pending_restart.push_back(row.name);
    if (std::find(kCuratedSettings.begin(), kCuratedSettings.end(), row.name) ==
            kCuratedSettings.end() ||
        row.source == "client" || row.source == "session") {
      continue;
    }
    if (auto value = setting_in_base_units(row.setting, row.unit, row.vartype)) {
      summary.values.emplace_back(row.name, *value);
    }
  }
  std::sort(summary.pending_restart.begin(), summary.pending_restart.end());
  std::sort(summary.values.begin(), summary.values.end());
  return summary;
}

Families settings_families(const SettingsSummary& s) {
  Families families;
  add_sample(add_gauge(families, "pgpulse_postmaster_start_time_seconds",
                       "Unix time the server (postmaster) started: a change is a restart."),
             {}, s.postmaster_start_time);
  add_sample(add_gauge(families, "pgpulse_settings_pending_restart",
                       "Settings changed in the configuration that take effect only after a "
                       "restart (pg_settings.pending_restart); /diagnose names them."),
             {}, static_cast<double>(s.pending_restart.size()));
  auto& setting = add_gauge(families, "pgpulse_setting",
                            "A curated setting in base units: bytes, seconds, 1/0 for booleans; "
                            "-1 where PostgreSQL uses it for disabled.");
  for (const auto& [name, value] : s.values) add_sample(setting, {{"name", name}}, value);
  return families;
}

namespace {

std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const auto& item : items) out += (out.size() > 1 ? "," : "") + item;  // plain identifiers
  return out + "}";
}

}  // namespace

CollectorOutput SettingsCollector::collect(PollContext& context) {
  auto result = context.query(kSettingsSql, {text_array(kCuratedSettings)});
  const int name = result.column_index("name"), setting = result.column_index("setting"),
            unit = result.column_index("unit"), vartype = result.column_index("vartype"),
            source = result.column_index("source"),
            pending = result.column_index("pending_restart");
  std::vector<SettingRow> rows;
  double start_time = 0;
  for (int r = 0; r < result.rows(); ++r) {
    if (result.is_null(r, name)) {
      start_time = result.number(r, setting);
      continue;
    }
    SettingRow& row = rows.emplace_back();
    row.name = result.text(r, name);
    row.setting = result.text(r, setting);
    row.unit = result.text(r, unit);
    row.vartype = result.text(r, vartype);
    row.source = result.text(r, source);
    row.pending_restart = result.boolean(r, pending);
  }
  auto summary = summarize_settings(rows, start_time);
  core::SettingsDetails details{summary.postmaster_start_time, summary.pending_restart};
  return CollectorOutput{settings_families(summary), core::make_details(std::move(details))};
}

}  // namespace pgpulse::collectors
