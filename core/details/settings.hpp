#pragma once
// What the settings collector tells its readers: when the server started and which changed
// settings wait for a restart.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pgpulse::core {

struct SettingsDetails {
  double postmaster_start_time_unix = 0;
  std::vector<std::string> pending_restart;  // names of settings changed but not yet in effect
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(SettingsDetails, postmaster_start_time_unix, pending_restart)

}  // namespace pgpulse::core
