#pragma once
// The one small interface every signal implements. A collector runs its SQL through the
// PollContext, hands the rows to pure functions, and returns metric families plus its typed
// details (core/details/); it never touches HTTP, the snapshot store or globals.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include <string>

#include "collectors/activity.hpp"
#include "collectors/pg/connection.hpp"
#include "collectors/server_settings.hpp"
#include "core/details.hpp"
#include "core/exposition.hpp"
#include "core/target_view.hpp"

namespace pgpulse::collectors {

// The exposition vocabulary every collector uses.
using core::add_counter;
using core::add_gauge;
using core::add_sample;
using core::Families;
using core::Family;
using core::LabelPairs;

struct CollectorOutput {
  Families families;         // without the target label: the runner adds it
  core::DetailsPtr details;  // core::make_details(SomeDetails{...}); null when none
};

// Whether a collector applies to the target it was made for. "Not applicable" is neither a
// failure nor a readiness blocker: the collector does not run until the next (re)connect asks
// again.
struct Applicability {
  bool applicable = true;
  std::string reason;  // why not, for /readyz and the status page
  static Applicability yes() { return {}; }
  static Applicability no(std::string why) { return {false, std::move(why)}; }
};

// What one scheduler tick offers the collectors due in it. Lives for one tick on the poller's
// thread; borrows the connection and the interrupter, which outlive it.
class PollContext {
 public:
  // Opens a short-lived connection to another database of the same server, with the target's
  // credentials and timeouts (catalog scans that live in per-database catalogs).
  using DatabaseOpener = std::function<pg::Connection(const std::string& dbname)>;

  PollContext(pg::Connection& connection, const pg::Interrupter& interrupter,
              std::chrono::system_clock::time_point now, std::size_t label_limit,
              DatabaseOpener open_database = {}, std::function<void()> request_scan = {})
      : connection_(connection),
        interrupter_(interrupter),
        now_(now),
        label_limit_(label_limit),
        open_database_(std::move(open_database)),
        request_scan_(std::move(request_scan)) {}

  // Asks the target's per-database visits to run now (something they read has changed).
  void request_scan() {
    if (request_scan_) request_scan_();
  }

  pg::Result query(std::string_view sql, const std::vector<std::string>& params = {}) {
    return connection_.query(sql, interrupter_, params);
  }

  pg::Connection open_database(const std::string& dbname) {
    if (!open_database_) throw pg::Error(pg::ErrorKind::Other, "no database opener");
    return open_database_(dbname);
  }

  // The latest published snapshots of the targets linked to this one: a pgbouncer target's
  // server, a postgres target's PgBouncers (config targets[].server). Read-only copies of what
  // their own pollers published (at most one of their intervals old), taken at most once per
  // tick; no collector ever reaches another target's connection. Empty when none is linked.
  using LinkedTargets = std::function<std::vector<core::TargetView>()>;
  void set_linked_targets(LinkedTargets linked) { linked_source_ = std::move(linked); }
  const std::vector<core::TargetView>& linked_targets() {
    if (!linked_) linked_ = linked_source_ ? linked_source_() : std::vector<core::TargetView>{};
    return *linked_;
  }
  // The linked target of that name, or nullptr when it has published nothing (yet).
  const core::TargetView* linked_target(const std::string& name) {
    for (const auto& view : linked_targets()) {
      if (view.target == name) return &view;
    }
    return nullptr;
  }

  // pg_stat_activity, read at most once per tick however many collectors ask.
  const ActivitySample& activity() {
    if (!activity_) activity_ = parse_activity(query(kActivitySql));
    return *activity_;
  }

  // Connection limits and settings, likewise read at most once per tick.
  const ServerSettings& settings() {
    if (!settings_) settings_ = parse_server_settings(query(kServerSettingsSql));
    return *settings_;
  }

  std::chrono::system_clock::time_point now() const { return now_; }
  std::size_t label_limit() const { return label_limit_; }
  int server_version() const { return connection_.server_version(); }
  pg::Connection& connection() { return connection_; }
  const pg::Interrupter& interrupter() const { return interrupter_; }

 private:
  pg::Connection& connection_;
  const pg::Interrupter& interrupter_;
  std::chrono::system_clock::time_point now_;
  std::size_t label_limit_;
  DatabaseOpener open_database_;
  std::function<void()> request_scan_;
  std::optional<ActivitySample> activity_;
  std::optional<ServerSettings> settings_;
  LinkedTargets linked_source_;
  std::optional<std::vector<core::TargetView>> linked_;
};

// Thread-safety: a collector belongs to one target's poller and is only ever called from that
// poller's thread; it may keep state between calls (trend windows, previous counters).
class Collector {
 public:
  virtual ~Collector() = default;
  // Asked after every (re)connect, before the first collect() on that connection. Throws
  // pg::Error like collect() when the database fails.
  virtual Applicability applicability(PollContext& /*context*/) { return Applicability::yes(); }
  // Throws pg::Error when the database fails; the runner records it and carries on.
  virtual CollectorOutput collect(PollContext& context) = 0;
};

}  // namespace pgpulse::collectors
