// pgpulse: config -> targets -> collectors -> snapshot store -> HTTP exporter.
#include <pthread.h>
#include <signal.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>

#include "config/config_loader.hpp"
#include "config/dsn.hpp"
#include "config/help.hpp"
#include "core/snapshot_store.hpp"
#include "core/time.hpp"
#include "daemon/check_command.hpp"
#include "daemon/collector_registry.hpp"
#include "daemon/daemon.hpp"
#include "daemon/logging.hpp"
#include "exporter/http_server.hpp"
#include "exporter/routes.hpp"
#include "pgpulse_version.hpp"

extern char** environ;

namespace {

using namespace pgpulse;

config::LoadResult load(const std::vector<std::string>& args, const config::Environment& env) {
  auto infos = daemon::collector_infos();
  auto cli = config::parse_command_line(args, config::build_schema(infos));
  return config::load_config(cli, env, infos);
}

void print_targets(const config::Config& config) {
  for (const auto& target : config.targets) {
    if (target.dsn.empty()) {
      // No --dsn, PGPULSE_DSN, DATA_SOURCE_NAME or targets: libpq's own defaults decide.
      std::cout << "  no target configured: pgpulse connects as psql would, with libpq's PG*\n"
                   "  environment variables and defaults (the local socket), as target \""
                << target.name << "\"\n";
      continue;
    }
    std::cout << "  target " << target.name << ": " << config::redact_dsn(target.dsn) << "\n";
  }
}

// SIGHUP: the web config file's basic_auth_users go into the running server, so a revoked
// password stops working without a restart. A file that does not load keeps the previous users;
// so does one without users, which would turn authentication off (a restart does that). Renewed
// certificate and key files are picked up by the server itself; other TLS settings need a restart.
void reload_web_config(exporter::HttpServer& server, exporter::WebConfig& current) {
  if (current.file.empty()) return;
  auto web = exporter::load_web_config(current.file);
  if (!web.ok()) {
    for (const auto& error : web.errors) {
      spdlog::error("web config reload failed, keeping the previous basic-auth users: {}",
                    error.to_string());
    }
    return;
  }
  if (web.config.tls != current.tls) {
    spdlog::warn("tls_server_config changed in {}; a restart is needed to apply it", current.file);
  }
  if (web.config.basic_auth_users.empty() && !current.basic_auth_users.empty()) {
    spdlog::error(
        "web config reload: {} has no basic_auth_users any more, which would turn authentication "
        "off; keeping the previous users (restart pgpulse to serve without authentication)",
        current.file);
    return;
  }
  server.set_basic_auth_users(web.config.basic_auth_users);
  current.basic_auth_users = web.config.basic_auth_users;
  spdlog::info("web config reloaded: {} basic-auth user(s)", current.basic_auth_users.size());
}

// Blocks until SIGTERM/SIGINT; SIGHUP reloads the config file and the web config in between.
void serve_until_stopped(daemon::Daemon& daemon, exporter::HttpServer& server,
                         exporter::WebConfig& web, const std::vector<std::string>& args,
                         const config::Environment& env, const config::Config& started_with,
                         sigset_t& signals) {
  double last_success = core::unix_now();
  while (true) {
    int signal_number = 0;
    if (sigwait(&signals, &signal_number) != 0) continue;
    if (signal_number != SIGHUP) {
      spdlog::info("received signal {}, shutting down", signal_number);
      return;
    }
    reload_web_config(server, web);  // whether or not the main config reloads
    auto reloaded = load(args, env);
    if (!reloaded.ok()) {
      for (const auto& error : reloaded.errors) {
        spdlog::error("reload failed, keeping the previous configuration: {}", error.to_string());
      }
      daemon.publish_process_metrics(false, last_success);
      continue;
    }
    if (reloaded.config.listen_address != started_with.listen_address) {
      spdlog::warn("web.listen_address changed to {}; a restart is needed to apply it",
                   reloaded.config.listen_address);
    }
    if (reloaded.config.web_config_file != started_with.web_config_file) {
      spdlog::warn("web.config_file changed to {}; a restart is needed to apply it",
                   reloaded.config.web_config_file);
    }
    spdlog::set_level(spdlog::level::from_str(reloaded.config.log_level));
    daemon.apply(reloaded.config);
    last_success = core::unix_now();
    daemon.publish_process_metrics(true, last_success);
    spdlog::info("configuration reloaded ({} targets)", reloaded.config.targets.size());
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Signals are taken synchronously by sigwait in main; every thread started later inherits the
  // mask, so no handler ever runs on a collector or HTTP thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::vector<std::string> args(argv + 1, argv + argc);
  auto env = config::environment_from(environ);
  auto infos = daemon::collector_infos();
  auto cli = config::parse_command_line(args, config::build_schema(infos));
  for (const auto& warning : cli.warnings) std::cerr << "pgpulse: warning: " << warning << "\n";
  if (cli.action == config::Action::Help) {
    std::cout << config::render_help(config::build_schema(infos), infos);
    return 0;
  }
  if (cli.action == config::Action::Version) {
    std::cout << "pgpulse " << PGPULSE_VERSION << " (revision " << PGPULSE_REVISION << ")\n";
    return 0;
  }
  auto loaded = config::load_config(cli, env, infos);
  if (!loaded.ok()) {
    std::cerr << "pgpulse: invalid configuration:\n" << loaded.error_text();
    return cli.action == config::Action::Check ? 3 : 2;  // check: 3 means "could not run"
  }
  const auto& config = loaded.config;
  if (cli.action == config::Action::CheckConfig) {
    if (auto web = exporter::load_web_config(config.web_config_file); !web.ok()) {
      std::cerr << "pgpulse: invalid web configuration:\n" << web.error_text();
      return 2;
    }
    std::cout << "configuration OK"
              << (config.config_file.empty() ? "" : " (" + config.config_file + ")") << "\n";
    print_targets(config);
    return 0;
  }

  if (cli.action == config::Action::Check) {
    daemon::setup_logging("error", config.log_format);  // the report is the output
    return daemon::run_check(config);
  }

  auto web = exporter::load_web_config(config.web_config_file);  // TLS and basic auth
  if (!web.ok()) {
    std::cerr << "pgpulse: invalid web configuration:\n" << web.error_text();
    return 2;
  }
  daemon::setup_logging(config.log_level, config.log_format);
  core::SnapshotStore store;
  daemon::Daemon daemon(store);
  daemon.publish_process_metrics(true, core::unix_now());
  exporter::Routes routes(store, PGPULSE_VERSION);
  std::optional<exporter::HttpServer> server;
  try {
    server.emplace([&routes](const exporter::HttpRequest& r) { return routes.handle(r); },
                   exporter::HttpLimits{}, web.config);
    server->start(config.listen_address);
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  spdlog::info("pgpulse {} listening on {} (port {}, {}{}), {} target(s)", PGPULSE_VERSION,
               config.listen_address, server->port(), web.config.tls ? "https" : "http",
               web.config.basic_auth_users.empty() ? "" : ", basic auth", config.targets.size());
  daemon.apply(config);
  serve_until_stopped(daemon, *server, web.config, args, env, config, signals);
  daemon.stop();
  server->stop();
  spdlog::info("stopped");
  return 0;
}
