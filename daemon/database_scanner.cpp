#include "daemon/database_scanner.hpp"

#include <spdlog/spdlog.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>

#include "core/time.hpp"

namespace pgpulse::daemon {

// Superusers are not held to rolconnlimit, so their limit is none.
const char* const kScanPlanSql = R"SQL(
SELECT 'database' AS kind, datname::text AS name, NULL::bigint AS value
  FROM pg_catalog.pg_database WHERE datallowconn AND NOT datistemplate
UNION ALL
SELECT 'home', current_database()::text, NULL
UNION ALL
SELECT 'role_limit', rolname::text, rolconnlimit FROM pg_catalog.pg_roles
 WHERE rolname = current_user AND rolconnlimit >= 0 AND NOT rolsuper
UNION ALL
SELECT 'role_connections', current_user::text, count(*) FROM pg_catalog.pg_stat_activity
 WHERE usename = current_user)SQL";

int backoff_scans(int consecutive_timeouts) {
  if (consecutive_timeouts <= 0) return 0;
  return std::min(12, 1 << std::min(consecutive_timeouts - 1, 4));
}

DatabaseScanner::DatabaseScanner(const config::TargetConfig& target, const config::Config& config,
                                 std::vector<ScheduledDatabaseCollector> collectors,
                                 core::SnapshotStore& store, HealthBoard& board,
                                 const pg::Interrupter& interrupter)
    : target_name_(target.name),
      connector_(target, config),
      label_limit_(static_cast<std::size_t>(config.label_max_values)),
      collectors_(std::move(collectors)),
      store_(store),
      board_(board),
      interrupter_(interrupter) {
  // Not due until asked: the first scan follows the target's first connection (request_scan()).
  for (auto& c : collectors_) c.next_due = SteadyTime::max();
}

std::optional<SteadyTime> DatabaseScanner::next_due() const {
  if (collectors_.empty()) return std::nullopt;
  if (requested_) return std::chrono::steady_clock::now();
  auto next = std::min_element(collectors_.begin(), collectors_.end(),
                               [](auto& a, auto& b) { return a.next_due < b.next_due; });
  if (next->next_due == SteadyTime::max()) return std::nullopt;
  return next->next_due;
}

void DatabaseScanner::scan_all() {
  requested_ = true;
  scan(std::chrono::steady_clock::now());
}

void DatabaseScanner::scan(SteadyTime now) {
  bool everything = requested_.exchange(false);
  std::vector<ScheduledDatabaseCollector*> due;
  for (auto& c : collectors_) {
    if (!everything && c.next_due > now) continue;
    due.push_back(&c);
    c.next_due = now + c.interval;
  }
  if (due.empty()) return;
  run(due);
  // A scan of a 10,000-table database allocates several MB (libpq results, rows, posture) and
  // frees them at the end. glibc keeps freed pages in the arena of this thread, counted in RSS
  // until a later allocation reuses them: hand them back once per scan, about a millisecond.
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

void DatabaseScanner::drop_data() {
  for (auto& c : collectors_) store_.remove(target_name_, c.name);
  board_.update([&](core::TargetHealth& health) {
    for (auto& c : collectors_) {
      auto& entry = HealthBoard::collector(health, c.name);
      entry.success = false;
      entry.last_error = "the target's connection was lost: data dropped until the next scan";
    }
  });
}

DatabaseScanner::Plan DatabaseScanner::read_plan(collectors::VisitContext& home) {
  Plan plan;
  auto result = home.query(kScanPlanSql);
  int kind = result.column_index("kind"), name = result.column_index("name"),
      value = result.column_index("value");
  std::optional<long> limit, used;
  for (int r = 0; r < result.rows(); ++r) {
    std::string k(result.text(r, kind));
    if (k == "database") plan.databases.emplace_back(result.text(r, name));
    if (k == "home") plan.home = result.text(r, name);
    if (k == "role_limit") limit = static_cast<long>(result.integer(r, value));
    if (k == "role_connections") used = static_cast<long>(result.integer(r, value));
  }
  std::sort(plan.databases.begin(), plan.databases.end());
  // The home visit's connection is closed before the others: it gives its slot back.
  if (limit && used) plan.role_slots_left = *limit - *used + 1;
  return plan;
}

void DatabaseScanner::run(const std::vector<ScheduledDatabaseCollector*>& due) {
  auto started = std::chrono::steady_clock::now();
  std::vector<ScheduledDatabaseCollector*> active;
  Plan plan;
  {
    std::optional<pg::Connection> home;
    try {
      home.emplace(connector_.open_database("", interrupter_));
    } catch (const pg::Error& error) {
      if (error.kind() == pg::ErrorKind::Interrupted) return;
      return fail(due, std::string("cannot connect for the per-database visits: ") + error.what());
    }
    collectors::VisitContext context{*home, interrupter_, "", std::chrono::system_clock::now(),
                                     label_limit_};
    try {
      plan = read_plan(context);
    } catch (const pg::Error& error) {
      if (error.kind() == pg::ErrorKind::Interrupted) return;
      return fail(due, std::string("cannot list the databases: ") + error.what());
    }
    context.datname = plan.home;
    for (auto* c : due) {
      try {
        c->collector->begin_scan(context);
        active.push_back(c);
      } catch (const pg::Error& error) {
        if (error.kind() == pg::ErrorKind::Interrupted) return;
        fail({c}, error.what());
      }
    }
    if (home->usable()) visit(active, context);
  }  // the home visit's connection closes here, before any other is opened

  for (const auto& datname : plan.databases) {
    if (datname == plan.home || interrupter_.triggered()) continue;
    std::vector<ScheduledDatabaseCollector*> wanting;
    for (auto* c : active) {
      if (c->collector->wants(datname)) wanting.push_back(c);
    }
    if (wanting.empty()) continue;
    auto report = [&](const std::string& reason) {
      for (auto* c : wanting) c->collector->visit_failed(datname, reason);
    };
    auto& backoff = backoff_[datname];
    if (backoff.scans_to_skip > 0) {
      --backoff.scans_to_skip;
      report("not visited: timed out " + std::to_string(backoff.consecutive_timeouts) +
             " scan(s) in a row, retried in " + std::to_string(backoff.scans_to_skip + 1) +
             " scan(s) (last error: " + backoff.last_error + ")");
      continue;
    }
    if (plan.role_slots_left && *plan.role_slots_left < 1) {
      report("not visited: the monitoring role's connection limit leaves no slot for the visit");
      continue;
    }
    try {
      auto connection = connector_.open_database(datname, interrupter_);
      collectors::VisitContext context{connection, interrupter_, datname,
                                       std::chrono::system_clock::now(), label_limit_};
      visit(wanting, context);
      backoff = Backoff{};
    } catch (const pg::Error& error) {
      if (error.kind() == pg::ErrorKind::Interrupted) return;
      if (error.kind() == pg::ErrorKind::Timeout) {
        ++backoff.consecutive_timeouts;
        backoff.scans_to_skip = backoff_scans(backoff.consecutive_timeouts);
        backoff.last_error = error.what();
      }
      spdlog::warn("target {}: cannot visit database {}: {}", target_name_, datname, error.what());
      report(error.what());
    }
  }
  for (auto it = backoff_.begin(); it != backoff_.end();) {  // dropped databases
    bool present = std::binary_search(plan.databases.begin(), plan.databases.end(), it->first);
    it = present ? std::next(it) : backoff_.erase(it);
  }
  double duration =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (auto* c : active) {
    try {
      publish(*c, c->collector->end_scan(label_limit_), duration);
    } catch (const std::exception& error) {
      fail({c}, error.what());
    }
  }
}

// One database, every wanting collector. A collector's query error fails that collector's view
// of this database only; a lost connection fails the rest of the visit.
void DatabaseScanner::visit(const std::vector<ScheduledDatabaseCollector*>& wanting,
                            collectors::VisitContext& context) {
  for (auto* c : wanting) {
    if (!c->collector->wants(context.datname)) continue;
    if (!context.connection.usable()) {
      c->collector->visit_failed(context.datname, "connection lost during the visit");
      continue;
    }
    try {
      c->collector->visit(context);
    } catch (const pg::Error& error) {
      if (error.kind() == pg::ErrorKind::Interrupted) throw;
      spdlog::warn("target {}: {} cannot read database {}: {}", target_name_, c->name,
                   context.datname, error.what());
      c->collector->visit_failed(context.datname, error.what());
    }
  }
}

void DatabaseScanner::fail(const std::vector<ScheduledDatabaseCollector*>& collectors,
                           const std::string& error) {
  for (auto* c : collectors) store_.remove(target_name_, c->name);
  board_.update([&](core::TargetHealth& health) {
    for (auto* c : collectors) {
      auto& entry = HealthBoard::collector(health, c->name);
      if (entry.last_error != error) {
        spdlog::warn("target {}: collector {} failed: {}", target_name_, c->name, error);
      }
      entry.success = false;
      entry.ran = true;
      entry.last_error = error;
    }
  });
}

void DatabaseScanner::publish(ScheduledDatabaseCollector& scheduled,
                              collectors::CollectorOutput output, double duration_seconds) {
  auto failed = scheduled.collector->failed_parts();
  auto snapshot = std::make_shared<core::Snapshot>();
  snapshot->target = target_name_;
  snapshot->collector = scheduled.name;
  snapshot->taken_at = std::chrono::system_clock::now();
  snapshot->families = core::render_families(target_name_, std::move(output.families));
  snapshot->details = std::move(output.details);
  store_.publish(std::move(snapshot));
  board_.update([&](core::TargetHealth& health) {
    auto& entry = HealthBoard::collector(health, scheduled.name);
    if (!entry.last_error.empty() && entry.ran) {
      spdlog::info("target {}: collector {} recovered", target_name_, scheduled.name);
    }
    entry.success = true;
    entry.ran = true;
    entry.failed_parts = failed;
    entry.last_error.clear();
    entry.duration_seconds = duration_seconds;
    entry.last_success_unix = core::unix_now();
  });
}

}  // namespace pgpulse::daemon
