#include "daemon/target_poller.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "config/dsn.hpp"
#include "core/time.hpp"
#include "daemon/collector_registry.hpp"

namespace pgpulse::daemon {

std::vector<ScheduledCollector> collectors_for(const config::TargetConfig& target,
                                               const config::Config& config) {
  std::vector<ScheduledCollector> scheduled;
  for (const auto& entry : collector_registry()) {
    const auto& settings = config.collectors.at(entry.info.name);
    if (!settings.enabled || !entry.serves(target.kind)) continue;
    scheduled.push_back(
        ScheduledCollector{entry.info.name, entry.make(config, target), settings.interval});
  }
  return scheduled;
}

TargetPoller::TargetPoller(config::TargetConfig target, const config::Config& config,
                           std::vector<ScheduledCollector> collectors, core::SnapshotStore& store,
                           const pg::Interrupter& interrupter)
    : target_(std::move(target)),
      connector_(target_, config),
      label_limit_(static_cast<std::size_t>(config.label_max_values)),
      collectors_(std::move(collectors)),
      store_(store),
      interrupter_(interrupter) {
  // Never wait longer than one interval between attempts: recovery must show within two.
  auto shortest = config.pg.max_backoff;
  for (const auto& c : collectors_) shortest = std::min(shortest, c.interval);
  backoff_cap_ = std::max(shortest, config::Millis{100});
  health_.target = target_.name;
  health_.kind = config::target_kind_name(target_.kind);
  health_.dsn = config::redact_dsn(target_.dsn);
  auto now = std::chrono::steady_clock::now();
  for (auto& c : collectors_) {
    c.next_due = now;
    core::CollectorHealth ch;
    ch.name = c.name;
    ch.interval_seconds = std::chrono::duration<double>(c.interval).count();
    health_.collectors.push_back(ch);
  }
}

std::optional<SteadyTime> TargetPoller::next_due() const {
  auto next = std::min_element(collectors_.begin(), collectors_.end(),
                               [](auto& a, auto& b) { return a.next_due < b.next_due; });
  if (next == collectors_.end()) return std::nullopt;
  return next->next_due;
}

void TargetPoller::poll_all() {
  auto now = std::chrono::steady_clock::now();
  for (auto& c : collectors_) c.next_due = now;
  poll(now);
}

void TargetPoller::poll(SteadyTime now) {
  std::vector<ScheduledCollector*> due;
  for (auto& c : collectors_) {
    if (c.next_due > now) continue;
    due.push_back(&c);
    // Fixed cadence without drift; a run that overran its slot skips ticks instead of queueing.
    c.next_due += c.interval;
    if (c.next_due <= now) c.next_due = now + c.interval;
  }
  if (due.empty()) return;
  if (!ensure_connected(now)) {
    // Nothing is known while disconnected: every collector's data goes, the slow ones' too.
    for (auto& c : collectors_) fail_collector(c, health_.last_error);
    publish_health();
    return;
  }
  if (fresh_connection_) {
    // A new connection has no data yet: every collector runs now, whatever its interval.
    for (auto& c : collectors_) {
      if (std::find(due.begin(), due.end(), &c) != due.end()) continue;
      due.push_back(&c);
      c.next_due = now + c.interval;
    }
  }
  run_due(due);
}

void TargetPoller::run_due(const std::vector<ScheduledCollector*>& due) {
  collectors::PollContext context(
      *connection_, interrupter_, std::chrono::system_clock::now(), label_limit_,
      [this](const std::string& dbname) { return connector_.open_database(dbname, interrupter_); });
  if (fresh_connection_) assess_applicability(context);
  for (auto* c : due) {
    if (interrupter_.triggered()) break;
    if (!connection_) {
      fail_collector(*c, "connection lost earlier in this poll");
      continue;
    }
    if (!health_of(c->name).applicable) {
      store_.remove(target_.name, c->name);
      continue;
    }
    run_collector(*c, context);
  }
  health_.up = connection_.has_value();
  publish_health();
}

void TargetPoller::assess_applicability(collectors::PollContext& context) {
  fresh_connection_ = false;
  for (auto& c : collectors_) {
    auto& health = health_of(c.name);
    collectors::Applicability answer;
    try {
      answer = c.collector->applicability(context);
    } catch (const pg::Error& error) {
      if (error.connection_lost()) {
        note_connection_lost(error);
        return;
      }
      // A probe that fails says nothing either way: run the collector, it reports its own error.
      answer = collectors::Applicability::yes();
    }
    if (answer.applicable != health.applicable || answer.reason != health.not_applicable_reason) {
      if (answer.applicable) {
        spdlog::info("target {}: collector {} applies again", target_.name, c.name);
      } else {
        spdlog::info("target {}: collector {} does not apply: {}", target_.name, c.name,
                     answer.reason);
      }
    }
    health.applicable = answer.applicable;
    health.not_applicable_reason = answer.applicable ? "" : answer.reason;
  }
}

bool TargetPoller::ensure_connected(SteadyTime now) {
  if (connection_ && connection_->usable()) return true;
  connection_.reset();
  if (now < next_connect_) return false;  // backing off; the due collectors report failure
  try {
    connection_.emplace(connector_.open(interrupter_));
    if (!health_.up && connect_failures_ > 0) {
      spdlog::info("target {}: connected again after {} failed attempts", target_.name,
                   connect_failures_);
    } else if (!health_.connected_once) {
      spdlog::info("target {}: connected to {} (server_version_num {})", target_.name, health_.dsn,
                   connection_->server_version());
    }
    connect_failures_ = 0;
    fresh_connection_ = true;
    health_.up = true;
    health_.connected_once = true;
    health_.server_version = connection_->server_version();
    return true;
  } catch (const pg::Error& error) {
    if (error.kind() == pg::ErrorKind::Interrupted) return false;
    ++connect_failures_;
    std::string reason(pg::reason_label(error.kind()));
    health_.connect_errors[reason] += 1;
    auto delay =
        pg::backoff_delay(connect_failures_, std::min(config::Millis{1000}, backoff_cap_),
                          backoff_cap_, std::uniform_real_distribution<double>(0, 1)(random_));
    next_connect_ = now + delay;
    // Log when the failure changes, not on every retry of the same one.
    if (health_.up || reason != health_.last_error_reason || error.what() != health_.last_error) {
      spdlog::warn("target {}: cannot connect ({}): {}; retrying with backoff (next in {}ms)",
                   target_.name, reason, error.what(), delay.count());
    } else {
      spdlog::debug("target {}: connect attempt {} failed ({})", target_.name, connect_failures_,
                    reason);
    }
    health_.up = false;
    health_.last_error = error.what();
    health_.last_error_reason = reason;
    return false;
  }
}

void TargetPoller::run_collector(ScheduledCollector& scheduled, collectors::PollContext& context) {
  auto started = std::chrono::steady_clock::now();
  auto& health = health_of(scheduled.name);
  try {
    auto output = scheduled.collector->collect(context);
    auto snapshot = std::make_shared<core::Snapshot>();
    snapshot->target = target_.name;
    snapshot->collector = scheduled.name;
    snapshot->taken_at = context.now();
    snapshot->families = core::render_families(target_.name, std::move(output.families));
    snapshot->details = std::move(output.details);
    store_.publish(std::move(snapshot));
    health.success = true;
    health.last_success_unix = core::unix_now();
    if (!health.last_error.empty()) {
      spdlog::info("target {}: collector {} recovered", target_.name, scheduled.name);
    }
    health.last_error.clear();
  } catch (const pg::Error& error) {
    if (error.connection_lost()) note_connection_lost(error);
    fail_collector(scheduled, error.what());
  } catch (const std::exception& error) {
    fail_collector(scheduled, error.what());
  }
  health.ran = true;
  health.duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

void TargetPoller::fail_collector(ScheduledCollector& scheduled, const std::string& error) {
  auto& health = health_of(scheduled.name);
  if (!health.applicable) {
    store_.remove(target_.name, scheduled.name);
    return;
  }
  if (health.last_error != error && error != health_.last_error) {
    spdlog::warn("target {}: collector {} failed: {}", target_.name, scheduled.name, error);
  }
  health.success = false;
  health.ran = true;
  health.last_error = error;
  // Stale values must not look fresh: the data series go, the health series stay.
  store_.remove(target_.name, scheduled.name);
}

void TargetPoller::note_connection_lost(const pg::Error& error) {
  if (error.kind() == pg::ErrorKind::Interrupted) return;
  spdlog::warn("target {}: connection lost ({}): {}", target_.name, pg::reason_label(error.kind()),
               error.what());
  connection_.reset();
  health_.up = false;
  health_.last_error = error.what();
  health_.last_error_reason = std::string(pg::reason_label(error.kind()));
  // What the collectors measured on the lost connection is no longer known to be true.
  for (auto& c : collectors_) {
    auto& health = health_of(c.name);
    if (health.applicable) health.success = false;
    store_.remove(target_.name, c.name);
  }
}

core::CollectorHealth& TargetPoller::health_of(const std::string& name) {
  for (auto& c : health_.collectors) {
    if (c.name == name) return c;
  }
  throw std::logic_error("unknown collector " + name);
}

void TargetPoller::publish_health() {
  auto snapshot = std::make_shared<core::Snapshot>();
  snapshot->target = target_.name;
  snapshot->collector = core::kHealthSnapshot;
  snapshot->taken_at = std::chrono::system_clock::now();
  snapshot->families = core::render_families(target_.name, health_families(health_));
  snapshot->details = core::make_details(health_);
  store_.publish(std::move(snapshot));
}

}  // namespace pgpulse::daemon
