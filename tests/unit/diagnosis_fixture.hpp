#pragma once
// The runbook's test fixture (tests/unit/diagnosis_test.cpp, report_json_test.cpp): every
// collector's details, built by the collectors' own pure functions from made-up
// pg_stat_activity rows, so a renamed or retyped field breaks the build and a changed meaning
// breaks the checks.
#include <catch2/catch.hpp>

#include <cmath>
#include <optional>
#include <string>

#include "analysis/diagnosis.hpp"
#include "collectors/connections.hpp"
#include "collectors/database_stats.hpp"
#include "collectors/horizon.hpp"
#include "collectors/idle_trend.hpp"
#include "collectors/locks.hpp"
#include "collectors/long_queries.hpp"
#include "collectors/pools.hpp"
#include "collectors/replication.hpp"
#include "collectors/rls_report.hpp"
#include "collectors/settings.hpp"
#include "collectors/standby.hpp"
#include "collectors/statements.hpp"

namespace pgpulse::testing::diagnosis {

using namespace pgpulse::analysis;
using namespace pgpulse::core;
namespace collectors = pgpulse::collectors;

inline constexpr double kNow = 1'800'000'000;

inline collectors::ActivityRow client(int pid, std::string app, std::string user,
                                      std::string state) {
  collectors::ActivityRow row;
  row.pid = pid;
  row.application_name = std::move(app);
  row.usename = std::move(user);
  row.datname = "app";
  row.state = std::move(state);
  row.backend_type = "client backend";
  row.state_change = row.query_start = kNow - 1;
  row.xact_start = row.state == "active" ? kNow - 2 : std::nan("");
  row.query = "SELECT 1";
  return row;
}

// Every collector's details, typed; input() hands them to the analysis as the daemon would.
struct Fixture {
  TargetHealth health;
  ConnectionsDetails connections;
  IdleTrendDetails idle;
  LongQueriesDetails queries;
  LocksDetails locks;
  std::optional<PoolsDetails> pools;
  RlsDetails rls;
  DatabaseDetails database;
  HorizonDetails horizon;
  ReplicationDetails replication;
  std::optional<StandbyDetails> standby;  // set: the target is a standby (no replication)
  std::optional<StatementsDetails> statements;

  DiagnosisInput input() const {
    DiagnosisInput in;
    in.target.target = health.target;
    in.target.health = health;
    in.target.add("connections", connections);
    in.target.add("idle_trend", idle);
    in.target.add("long_queries", queries);
    in.target.add("locks", locks);
    if (pools) in.target.add("pools", *pools);
    in.target.add("rls", rls);
    in.target.add("database", database);
    in.target.add("horizon", horizon);
    if (standby) {
      in.target.add("standby", *standby);
    } else {
      in.target.add("replication", replication);
    }
    if (statements) in.target.add("statements", *statements);
    return in;
  }
};

inline Fixture healthy() {
  collectors::ActivitySample sample;
  sample.server_now = kNow;
  sample.server_started = kNow - 86400;
  for (int i = 0; i < 9; ++i)
    sample.rows.push_back(client(i + 1, "web", "app", i % 3 ? "idle" : "active"));
  auto self = client(99, "pgpulse", "pgpulse", "active");
  self.is_self = true;
  sample.rows.push_back(self);
  collectors::ServerLimits limits{100, 3, 0};
  pgpulse::config::ActivityConfig activity;

  Fixture f;
  f.health.target = "main";
  f.health.up = f.health.connected_once = true;
  f.health.server_version = 150020;
  f.connections =
      collectors::connections_details(collectors::summarize_connections(sample, limits, {}, 50));
  collectors::IdleTrendState state;
  auto report = collectors::update_idle_trend(state, sample, limits, {}, 50);
  f.idle = collectors::idle_trend_details(report, state, limits);
  f.queries = collectors::long_query_details(
      collectors::summarize_long_queries(sample, activity, 50), activity);
  f.locks = collectors::summarize_locks(sample, {}, 50, 200).details;
  collectors::ClusterScan scan;
  scan.bypass_roles = {{"postgres", "superuser", true}};
  collectors::DatabaseScanResult app;
  app.datname = "app";
  app.ok = true;
  scan.databases.push_back(app);
  auto output = collectors::rls_report(scan, pgpulse::config::RlsConfig{}, 50);
  f.rls = *details_as<RlsDetails>(output.details.get());
  collectors::DatabaseRow app_db;
  app_db.datname = "app";
  app_db.xid_age = 20'000'000;
  f.database = collectors::database_details({app_db});
  f.horizon = collectors::summarize_horizon(sample, {});
  f.replication = collectors::replication_details({});
  return f;
}

inline TargetReport diagnose(const Fixture& f) {
  return pgpulse::analysis::diagnose(f.input());
}

inline const DiagnosisStep& step(const TargetReport& report, const std::string& id) {
  for (const auto& s : report.steps) {
    if (s.id == id) return s;
  }
  FAIL("no step " << id);
  throw;
}

}  // namespace pgpulse::testing::diagnosis
