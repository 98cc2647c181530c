#include "daemon/target_poller.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "config/dsn.hpp"
#include "core/time.hpp"
#include "daemon/collector_registry.hpp"

namespace pgpulse::daemon {

TargetCollectors collectors_for(const config::TargetConfig& target, const config::Config& config) {
  TargetCollectors out;
  for (const auto& entry : collector_registry()) {
    const auto& settings = config.collectors.at(entry.info.name);
    if (!settings.enabled || !entry.serves(target.kind)) continue;
    auto made = entry.make(config, target);
    if (auto* fast = std::get_if<std::unique_ptr<collectors::Collector>>(&made)) {
      out.fast.push_back({entry.info.name, std::move(*fast), settings.interval});
    } else {
      out.per_database.push_back(
          {entry.info.name,
           std::move(std::get<std::unique_ptr<collectors::DatabaseCollector>>(made)),
           settings.interval});
    }
  }
  return out;
}

core::TargetHealth initial_health(const config::TargetConfig& target,
                                  const TargetCollectors& collectors) {
  core::TargetHealth health;
  health.target = target.name;
  health.kind = config::target_kind_name(target.kind);
  health.server = target.server;
  health.dsn = config::redact_dsn(target.dsn);
  auto add = [&](const std::string& name, config::Millis interval) {
    core::CollectorHealth c;
    c.name = name;
    c.interval_seconds = std::chrono::duration<double>(interval).count();
    health.collectors.push_back(c);
  };
  for (const auto& c : collectors.fast) add(c.name, c.interval);
  for (const auto& c : collectors.per_database) add(c.name, c.interval);
  return health;
}

TargetPoller::TargetPoller(config::TargetConfig target, const config::Config& config,
                           std::vector<ScheduledCollector> collectors, core::SnapshotStore& store,
                           HealthBoard& board, const pg::Interrupter& interrupter,
                           PollerHooks hooks)
    : target_(std::move(target)),
      linked_(linked_target_names(target_, config)),
      connector_(target_, config),
      label_limit_(static_cast<std::size_t>(config.label_max_values)),
      collectors_(std::move(collectors)),
      store_(store),
      board_(board),
      interrupter_(interrupter),
      hooks_(std::move(hooks)) {
  // Never wait longer than one interval between attempts: recovery must show within two.
  auto shortest = config.pg.max_backoff;
  for (const auto& c : collectors_) shortest = std::min(shortest, c.interval);
  backoff_cap_ = std::max(shortest, config::Millis{100});
  auto now = std::chrono::steady_clock::now();
  for (auto& c : collectors_) c.next_due = now;
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
  bool was_up = up_;
  if (!ensure_connected(now)) {
    // Nothing is known while disconnected: every collector's data goes, the slow ones' too.
    board_.update([&](core::TargetHealth& health) {
      for (auto& c : collectors_) fail_collector(health, c, last_error_);
    });
    if (was_up && hooks_.connection_lost) hooks_.connection_lost();
    return;
  }
  if (fresh_connection_) {
    // A new connection has no data yet: every collector runs now, whatever its interval.
    for (auto& c : collectors_) {
      if (std::find(due.begin(), due.end(), &c) != due.end()) continue;
      due.push_back(&c);
      c.next_due = now + c.interval;
    }
    if (hooks_.connected) hooks_.connected();
  }
  run_due(due);
}

void TargetPoller::run_due(const std::vector<ScheduledCollector*>& due) {
  collectors::PollContext context(
      *connection_, interrupter_, std::chrono::system_clock::now(), label_limit_,
      [this](const std::string& dbname) { return connector_.open_database(dbname, interrupter_); },
      hooks_.scan_wanted);
  if (!linked_.empty()) {
    // What the linked targets' own pollers last published: immutable snapshots, read under the
    // store's short lock; nothing here waits on their connections.
    context.set_linked_targets([this] {
      std::vector<core::TargetView> views;
      for (auto& view : core::group_by_target(store_.view())) {
        if (std::find(linked_.begin(), linked_.end(), view.target) != linked_.end()) {
          views.push_back(std::move(view));
        }
      }
      return views;
    });
  }
  if (fresh_connection_) assess_applicability(context);
  auto health = board_.copy();
  for (auto* c : due) {
    if (interrupter_.triggered()) break;
    if (!connection_) {
      board_.update([&](core::TargetHealth& h) {
        fail_collector(h, *c, "connection lost earlier in this poll");
      });
      continue;
    }
    if (!HealthBoard::collector(health, c->name).applicable) {
      store_.remove(target_.name, c->name);
      continue;
    }
    run_collector(*c, context);
  }
  bool up = connection_.has_value();
  board_.update([&](core::TargetHealth& h) { h.up = up; });
}

void TargetPoller::assess_applicability(collectors::PollContext& context) {
  fresh_connection_ = false;
  for (auto& c : collectors_) {
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
    board_.update([&](core::TargetHealth& health) {
      auto& entry = HealthBoard::collector(health, c.name);
      if (answer.applicable != entry.applicable ||
          (!answer.applicable && answer.reason != entry.not_applicable_reason)) {
        if (answer.applicable) {
          spdlog::info("target {}: collector {} applies again", target_.name, c.name);
        } else {
          spdlog::info("target {}: collector {} does not apply: {}", target_.name, c.name,
                       answer.reason);
        }
      }
      entry.applicable = answer.applicable;
      entry.not_applicable_reason = answer.applicable ? "" : answer.reason;
    });
  }
}

bool TargetPoller::ensure_connected(SteadyTime now) {
  if (connection_ && connection_->usable()) return true;
  connection_.reset();
  if (now < next_connect_) return false;  // backing off; the due collectors report failure
  try {
    connection_.emplace(connector_.open(interrupter_));
    if (!up_ && connect_failures_ > 0) {
      spdlog::info("target {}: connected again after {} failed attempts", target_.name,
                   connect_failures_);
    } else if (!connected_once_) {
      spdlog::info("target {}: connected to {} (server_version_num {})", target_.name,
                   config::redact_dsn(target_.dsn), connection_->server_version());
    }
    connect_failures_ = 0;
    fresh_connection_ = true;
    up_ = connected_once_ = true;
    int version = connection_->server_version();
    board_.update([&](core::TargetHealth& health) {
      health.up = health.connected_once = true;
      health.server_version = version;
    });
    return true;
  } catch (const pg::Error& error) {
    if (error.kind() == pg::ErrorKind::Interrupted) return false;
    ++connect_failures_;
    std::string reason(pg::reason_label(error.kind()));
    auto delay =
        pg::backoff_delay(connect_failures_, std::min(config::Millis{1000}, backoff_cap_),
                          backoff_cap_, std::uniform_real_distribution<double>(0, 1)(random_));
    next_connect_ = now + delay;
    // Log when the failure changes, not on every retry of the same one.
    if (up_ || reason != last_error_reason_ || error.what() != last_error_) {
      spdlog::warn("target {}: cannot connect ({}): {}; retrying with backoff (next in {}ms)",
                   target_.name, reason, error.what(), delay.count());
    } else {
      spdlog::debug("target {}: connect attempt {} failed ({})", target_.name, connect_failures_,
                    reason);
    }
    up_ = false;
    last_error_ = error.what();
    last_error_reason_ = reason;
    board_.update([&](core::TargetHealth& health) {
      health.connect_errors[reason] += 1;
      health.up = false;
      health.last_error = last_error_;
      health.last_error_reason = reason;
    });
    return false;
  }
}

void TargetPoller::run_collector(ScheduledCollector& scheduled, collectors::PollContext& context) {
  auto started = std::chrono::steady_clock::now();
  std::optional<std::string> error;
  bool lost = false;
  try {
    auto output = scheduled.collector->collect(context);
    auto snapshot = std::make_shared<core::Snapshot>();
    snapshot->target = target_.name;
    snapshot->collector = scheduled.name;
    snapshot->taken_at = context.now();
    snapshot->families = core::render_families(target_.name, std::move(output.families));
    snapshot->details = std::move(output.details);
    store_.publish(std::move(snapshot));
  } catch (const pg::Error& e) {
    if (e.connection_lost()) {
      note_connection_lost(e);
      lost = true;
    }
    error = e.what();
  } catch (const std::exception& e) {
    error = e.what();
  }
  double duration =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  board_.update([&](core::TargetHealth& health) {
    auto& entry = HealthBoard::collector(health, scheduled.name);
    if (error) {
      fail_collector(health, scheduled, *error);
    } else {
      if (!entry.last_error.empty()) {
        spdlog::info("target {}: collector {} recovered", target_.name, scheduled.name);
      }
      entry.success = true;
      entry.last_success_unix = core::unix_now();
      entry.last_error.clear();
    }
    entry.ran = true;
    entry.duration_seconds = duration;
  });
  if (lost && hooks_.connection_lost) hooks_.connection_lost();
}

void TargetPoller::fail_collector(core::TargetHealth& health, ScheduledCollector& scheduled,
                                  const std::string& error) {
  auto& entry = HealthBoard::collector(health, scheduled.name);
  store_.remove(target_.name, scheduled.name);  // stale values must not look fresh
  if (!entry.applicable) return;
  if (entry.last_error != error && error != last_error_) {
    spdlog::warn("target {}: collector {} failed: {}", target_.name, scheduled.name, error);
  }
  entry.success = false;
  entry.ran = true;
  entry.last_error = error;
}

void TargetPoller::note_connection_lost(const pg::Error& error) {
  if (error.kind() == pg::ErrorKind::Interrupted) return;
  spdlog::warn("target {}: connection lost ({}): {}", target_.name, pg::reason_label(error.kind()),
               error.what());
  connection_.reset();
  up_ = false;
  last_error_ = error.what();
  last_error_reason_ = std::string(pg::reason_label(error.kind()));
  // What the collectors measured on the lost connection is no longer known to be true.
  board_.update([&](core::TargetHealth& health) {
    health.up = false;
    health.last_error = last_error_;
    health.last_error_reason = last_error_reason_;
    for (auto& c : collectors_) {
      auto& entry = HealthBoard::collector(health, c.name);
      if (entry.applicable) entry.success = false;
      store_.remove(target_.name, c.name);
    }
  });
}

}  // namespace pgpulse::daemon
