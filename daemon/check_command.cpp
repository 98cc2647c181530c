#include "daemon/check_command.hpp"

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <optional>

#include "analysis/diagnosis.hpp"
#include "core/target_view.hpp"
#include "core/time.hpp"
#include "daemon/daemon_report.hpp"
#include "daemon/database_scanner.hpp"
#include "daemon/target_poller.hpp"
#include "pgpulse_version.hpp"

namespace pgpulse::daemon {

namespace {

// The daemon's own poller and scanner, run once into a private store: the same connect options,
// password file, per-database visits, failure reasons and collectors as the daemon's first
// poll. One connection at a time: the fast collectors' connection is closed before the visits.
// One store for every target, as in the daemon, so a PgBouncer's pools are compared with the
// server it fronts (polled before it: see run_check).
analysis::DiagnosisInput check_target(const config::TargetConfig& target,
                                      const config::Config& config,
                                      const pg::Interrupter& interrupter,
                                      core::SnapshotStore& store) {
  auto collectors = collectors_for(target, config);
  HealthBoard board(initial_health(target, collectors), store);
  DatabaseScanner scanner(target, config, std::move(collectors.per_database), store, board,
                          interrupter);
  bool connected = false;
  {
    TargetPoller poller(target, config, std::move(collectors.fast), store, board, interrupter,
                        PollerHooks{[&] { connected = true; }, {}, {}});
    poller.poll_all();
  }
  if (connected) scanner.scan_all();
  analysis::DiagnosisInput input;
  input.has_history = false;
  for (auto& view : core::group_by_target(store.view())) {
    if (view.target == target.name) input.target = std::move(view);
  }
  return input;
}

}  // namespace

int run_check(const config::Config& config) {
  pg::Interrupter interrupter;
  std::vector<analysis::TargetReport> reports;
  if (!config.daemon_url.empty()) {
    auto fetched = fetch_daemon_report(config.daemon_url);
    if (!fetched.error.empty()) {
      std::cerr << "pgpulse check: " << fetched.error << "\n";
      return 3;
    }
    reports = std::move(fetched.reports);
  } else {
    core::SnapshotStore store;
    // PostgreSQL targets first: a PgBouncer's budget reads its server's fresh connection data.
    // (The server's pgbouncer_backends then has no SHOW SERVERS data yet: the daemon's has.)
    std::vector<std::optional<analysis::TargetReport>> ordered(config.targets.size());
    for (auto kind : {config::TargetKind::Postgres, config::TargetKind::PgBouncer}) {
      for (std::size_t i = 0; i < config.targets.size(); ++i) {
        if (config.targets[i].kind != kind) continue;
        ordered[i] =
            analysis::diagnose(check_target(config.targets[i], config, interrupter, store));
      }
    }
    for (auto& report : ordered) reports.push_back(std::move(*report));
  }
  if (config.output == "json") {
    std::cout << analysis::report_json(reports, {PGPULSE_VERSION, core::unix_now()})
                     .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    const char* no_color = std::getenv("NO_COLOR");
    bool color = isatty(STDOUT_FILENO) && !(no_color && *no_color);
    std::cout << analysis::report_text(reports, color);
  }
  return analysis::exit_code_for(reports);
}

}  // namespace pgpulse::daemon
