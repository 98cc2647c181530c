#include "daemon/target_runner.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "config/dsn.hpp"

namespace pgpulse::daemon {

namespace {

double unix_seconds(std::chrono::system_clock::time_point time) {
  return std::chrono::duration<double>(time.time_since_epoch()).count();
}

}  // namespace

TargetRunner::TargetRunner(config::TargetConfig target, const config::Config& config,
                           std::vector<ScheduledCollector> collectors,
                           collectors::SnapshotStore& store)
    : target_(std::move(target)),
      label_limit_(static_cast<std::size_t>(config.label_max_values)),
      collectors_(std::move(collectors)),
      store_(store) {
  options_.dsn = target_.dsn;
  options_.connect_timeout = config.pg.connect_timeout;
  options_.statement_timeout = config.pg.statement_timeout;
  // Never wait longer than one interval between attempts: recovery must show within two.
  auto shortest = config.pg.max_backoff;
  for (const auto& c : collectors_) shortest = std::min(shortest, c.interval);
  backoff_cap_ = std::max(shortest, config::Millis{100});
  health_.target = target_.name;
  health_.dsn = config::redact_dsn(target_.dsn);
  for (const auto& c : collectors_) {
    collectors::CollectorHealth ch;
    ch.name = c.name;
    ch.interval_seconds = std::chrono::duration<double>(c.interval).count();
    health_.collectors.push_back(ch);
  }
}

TargetRunner::~TargetRunner() {
  stop();
}

void TargetRunner::start() {
  publish_health();
  thread_ = std::thread([this] { loop(); });
}

void TargetRunner::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  interrupter_.trigger();
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  store_.remove_target(target_.name);
}

void TargetRunner::loop() {
  auto now = std::chrono::steady_clock::now();
  for (auto& c : collectors_) c.next_due = now;
  while (true) {
    tick(std::chrono::steady_clock::now());
    auto next = std::min_element(collectors_.begin(), collectors_.end(),
                                 [](auto& a, auto& b) { return a.next_due < b.next_due; });
    std::unique_lock lock(mutex_);
    if (stopping_) break;
    if (next == collectors_.end()) {
      wake_.wait(lock, [this] { return stopping_; });
    } else {
      wake_.wait_until(lock, next->next_due, [this] { return stopping_; });
    }
    if (stopping_) break;
  }
  connection_.reset();
}

void TargetRunner::tick(SteadyTime now) {
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
    for (auto* c : due) fail_collector(*c, health_.last_error);
    publish_health();
    return;
  }
  auto open_database = [this](const std::string& dbname) {
    auto options = options_;
    options.password = pg::read_password_file(target_.password_file);
    options.dbname = dbname;
    options.application_name = "pgpulse-catalog";
    return pg::Connection::open(options, interrupter_);
  };
  collectors::PollContext context(*connection_, interrupter_, std::chrono::system_clock::now(),
                                  label_limit_, open_database);
  for (auto* c : due) {
    if (interrupter_.triggered()) break;
    if (!connection_) {
      fail_collector(*c, "connection lost earlier in this poll");
      continue;
    }
    run_collector(*c, context);
  }
  health_.up = connection_.has_value();
  publish_health();
}

bool TargetRunner::ensure_connected(SteadyTime now) {
  if (connection_ && connection_->usable()) return true;
  connection_.reset();
  if (now < next_connect_) return false;  // backing off; the due collectors report failure
  try {
    auto options = options_;
    options.password = pg::read_password_file(target_.password_file);
    connection_.emplace(pg::Connection::open(options, interrupter_));
    if (!health_.up && connect_failures_ > 0) {
      spdlog::info("target {}: connected again after {} failed attempts", target_.name,
                   connect_failures_);
    } else if (!health_.connected_once) {
      spdlog::info("target {}: connected to {} (server_version_num {})", target_.name, health_.dsn,
                   connection_->server_version());
    }
    connect_failures_ = 0;
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

void TargetRunner::run_collector(ScheduledCollector& scheduled, collectors::PollContext& context) {
  auto started = std::chrono::steady_clock::now();
  auto& health = health_of(scheduled.name);
  try {
    auto output = scheduled.collector->collect(context);
    auto snapshot = std::make_shared<collectors::Snapshot>();
    snapshot->target = target_.name;
    snapshot->collector = scheduled.name;
    snapshot->taken_at = context.now();
    snapshot->families = collectors::render_families(target_.name, std::move(output.families));
    snapshot->details = std::move(output.details);
    store_.publish(std::move(snapshot));
    health.success = true;
    health.last_success_unix = unix_seconds(std::chrono::system_clock::now());
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

void TargetRunner::fail_collector(ScheduledCollector& scheduled, const std::string& error) {
  auto& health = health_of(scheduled.name);
  if (health.last_error != error && error != health_.last_error) {
    spdlog::warn("target {}: collector {} failed: {}", target_.name, scheduled.name, error);
  }
  health.success = false;
  health.ran = true;
  health.last_error = error;
  // Stale values must not look fresh: the data series go, the health series stay.
  store_.remove(target_.name, scheduled.name);
}

void TargetRunner::note_connection_lost(const pg::Error& error) {
  if (error.kind() == pg::ErrorKind::Interrupted) return;
  spdlog::warn("target {}: connection lost ({}): {}", target_.name, pg::reason_label(error.kind()),
               error.what());
  connection_.reset();
  health_.up = false;
  health_.last_error = error.what();
  health_.last_error_reason = std::string(pg::reason_label(error.kind()));
}

collectors::CollectorHealth& TargetRunner::health_of(const std::string& name) {
  for (auto& c : health_.collectors) {
    if (c.name == name) return c;
  }
  throw std::logic_error("unknown collector " + name);
}

void TargetRunner::publish_health() {
  auto snapshot = std::make_shared<collectors::Snapshot>();
  snapshot->target = target_.name;
  snapshot->collector = collectors::kHealthSnapshot;
  snapshot->taken_at = std::chrono::system_clock::now();
  snapshot->families = collectors::render_families(target_.name, health_families(health_));
  snapshot->details = health_;
  store_.publish(std::move(snapshot));
}

}  // namespace pgpulse::daemon
