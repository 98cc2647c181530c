#include "daemon/daemon.hpp"

#include <spdlog/spdlog.h>

#include "daemon/collector_registry.hpp"
#include "daemon/process_metrics.hpp"
#include "daemon/target_poller.hpp"
#include "pgpulse_version.hpp"

namespace pgpulse::daemon {

namespace {

// Everything but the target list: when this changes every runner restarts.
bool same_settings(config::Config a, config::Config b) {
  a.targets.clear();
  b.targets.clear();
  a.config_file.clear();
  b.config_file.clear();
  return a == b;
}

}  // namespace

std::unique_ptr<TargetRunner> Daemon::make_runner(const config::TargetConfig& target,
                                                  const config::Config& config) {
  return std::make_unique<TargetRunner>(target, config, collectors_for(target, config), store_);
}

void Daemon::apply(const config::Config& config) {
  bool restart_all = !current_ || !same_settings(*current_, config);
  std::vector<std::unique_ptr<TargetRunner>> kept;
  for (auto& runner : runners_) {
    bool still_wanted = false;
    // A target whose links changed (a PgBouncer added in front of it) restarts: its collectors
    // were built knowing which targets name it.
    for (const auto& target : config.targets) {
      still_wanted |=
          target == runner->target() && linked_target_names(target, config) == runner->linked();
    }
    if (still_wanted && !restart_all) {
      kept.push_back(std::move(runner));
    } else {
      spdlog::info("target {}: stopping", runner->target().name);
      runner->stop();
    }
  }
  runners_ = std::move(kept);
  for (const auto& target : config.targets) {
    bool running = false;
    for (const auto& runner : runners_) {
      running |=
          runner->target() == target && runner->linked() == linked_target_names(target, config);
    }
    if (running) continue;
    spdlog::info("target {}: starting", target.name);
    runners_.push_back(make_runner(target, config));
    runners_.back()->start();
  }
  current_ = std::make_unique<config::Config>(config);
}

void Daemon::stop() {
  if (process_refresher_.joinable()) {
    process_refresher_.request_stop();
    process_wakeup_.notify_all();
    process_refresher_.join();
  }
  for (auto& runner : runners_) runner->stop();
  runners_.clear();
}

void Daemon::publish_process_metrics(bool last_reload_ok, double last_reload_success_unix) {
  std::lock_guard lock(process_mutex_);
  last_reload_ok_ = last_reload_ok;
  last_reload_success_unix_ = last_reload_success_unix;
  publish_process_snapshot();
  if (!process_refresher_.joinable()) {
    process_refresher_ =
        std::jthread([this](const std::stop_token& stop) { refresh_process_metrics(stop); });
  }
}

void Daemon::refresh_process_metrics(const std::stop_token& stop) {
  std::unique_lock lock(process_mutex_);
  while (!process_wakeup_.wait_for(lock, stop, process_refresh_, [] { return false; })) {
    if (stop.stop_requested()) return;
    publish_process_snapshot();
  }
}

void Daemon::publish_process_snapshot() {
  core::Families families;
  core::add_sample(core::add_gauge(families, "pgpulse_build_info",
                                   "Always 1; the labels say which pgpulse build is running."),
                   {{"version", PGPULSE_VERSION}, {"revision", PGPULSE_REVISION}}, 1);
  core::add_sample(
      core::add_gauge(families, "pgpulse_config_last_reload_successful",
                      "1 when the last configuration load (start or SIGHUP) succeeded, else 0."),
      {}, last_reload_ok_ ? 1 : 0);
  core::add_sample(core::add_gauge(families, "pgpulse_config_last_reload_success_timestamp_seconds",
                                   "Unix time of the last successful configuration load."),
                   {}, last_reload_success_unix_);
  if (auto stats = read_process_stats()) add_process_families(families, *stats);
  auto snapshot = std::make_shared<core::Snapshot>();
  snapshot->collector = "process";
  snapshot->taken_at = std::chrono::system_clock::now();
  snapshot->families = core::render_families("", std::move(families));
  store_.publish(std::move(snapshot));
}

}  // namespace pgpulse::daemon
