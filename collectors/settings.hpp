#pragma once
// The `settings` collector: when the postmaster started (a change is a restart), settings changed
// in the configuration that only a restart puts in force, and a short curated list of settings in
// base units (bytes, seconds) for dashboards and alert thresholds — not all 350 of them.
// pg_settings is built in full on every read, so this runs on a longer interval (default 1m).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/collector.hpp"
#include "core/details/settings.hpp"

namespace pgpulse::collectors {

// The curated settings, as pg_settings names them. Those a server version lacks are just absent.
extern const std::vector<std::string> kCuratedSettings;

struct SettingRow {
  std::string name, setting, unit, vartype;
  // "client" or "session": set by pgpulse's own connection (statement_timeout, lock_timeout,
  // idle_session_timeout in its startup packet and its first SETs), so this session cannot see
  // the server's value: left out rather than misreported.
  std::string source;
  bool pending_restart = false;
};

// setting × unit in base units: bytes for 8kB/kB/MB/B, seconds for ms/s/min; booleans 1 or 0;
// negative values (-1: disabled, or "use another setting") unchanged. nullopt for enums and
// strings, or text that is not a number.
std::optional<double> setting_in_base_units(std::string_view setting, std::string_view unit,
                                            std::string_view vartype);

struct SettingsSummary {
  double postmaster_start_time = 0;
  std::vector<std::pair<std::string, double>> values;  // curated, in base units
  std::vector<std::string> pending_restart;            // sorted
};

SettingsSummary summarize_settings(const std::vector<SettingRow>& rows, double start_time);
Families settings_families(const SettingsSummary& summary);

extern const char* const kSettingsSql;

// Thread-safety and ownership: as every Collector (one poller thread, no state kept).
class SettingsCollector : public Collector {
 public:
  CollectorOutput collect(PollContext& context) override;
};

}  // namespace pgpulse::collectors
