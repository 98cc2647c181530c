#include "daemon/check_command.hpp"

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "collectors/diagnosis.hpp"
#include "config/dsn.hpp"
#include "daemon/collector_registry.hpp"

namespace pgpulse::daemon {

namespace {

collectors::DiagnosisInput check_target(const config::TargetConfig& target,
                                        const config::Config& config,
                                        const pg::Interrupter& interrupter) {
  collectors::DiagnosisInput input;
  input.has_history = false;
  auto& health = input.health;
  health.target = target.name;
  health.dsn = config::redact_dsn(target.dsn);
  pg::ConnectOptions options;
  options.dsn = target.dsn;
  options.connect_timeout = config.pg.connect_timeout;
  options.statement_timeout = config.pg.statement_timeout;
  std::optional<pg::Connection> connection;
  try {
    options.password = pg::read_password_file(target.password_file);
    connection.emplace(pg::Connection::open(options, interrupter));
  } catch (const pg::Error& error) {
    health.last_error = error.what();
    health.last_error_reason = std::string(pg::reason_label(error.kind()));
    health.connect_errors[health.last_error_reason] = 1;
    return input;
  }
  health.up = health.connected_once = true;
  health.server_version = connection->server_version();
  auto open_database = [&](const std::string& dbname) {
    auto per_database = options;
    per_database.dbname = dbname;
    per_database.application_name = "pgpulse-catalog";
    return pg::Connection::open(per_database, interrupter);
  };
  collectors::PollContext context(*connection, interrupter, std::chrono::system_clock::now(),
                                  static_cast<std::size_t>(config.label_max_values), open_database);
  for (const auto& entry : collector_registry()) {
    if (!config.collectors.at(entry.info.name).enabled) continue;
    collectors::CollectorHealth collector;
    collector.name = entry.info.name;
    try {
      auto output = entry.make(config, target)->collect(context);
      input.details[entry.info.name] = std::move(output.details);
      collector.success = true;
    } catch (const std::exception& error) {
      collector.last_error = error.what();
      if (!connection->usable()) {
        health.up = false;
        health.last_error = error.what();
        health.last_error_reason = "other";
        break;
      }
    }
    collector.ran = true;
    health.collectors.push_back(collector);
  }
  return input;
}

}  // namespace

int run_check(const config::Config& config) {
  pg::Interrupter interrupter;
  std::vector<collectors::TargetReport> reports;
  for (const auto& target : config.targets) {
    reports.push_back(collectors::diagnose(check_target(target, config, interrupter)));
  }
  if (config.output == "json") {
    std::cout << collectors::report_json(reports).dump(2, ' ', false,
                                                       nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    const char* no_color = std::getenv("NO_COLOR");
    bool color = isatty(STDOUT_FILENO) && !(no_color && *no_color);
    std::cout << collectors::report_text(reports, color);
  }
  return collectors::exit_code_for(reports);
}

}  // namespace pgpulse::daemon
