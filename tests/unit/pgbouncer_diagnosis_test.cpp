// A pgbouncer target's runbook, the PgBouncer share of a PostgreSQL target's findings, the
// status page's placing of PgBouncers beside their servers, the health series of the kind and
// the registry's kinds: all on made-up details.
#include <catch2/catch.hpp>

#include <algorithm>

#include "analysis/diagnosis.hpp"
#include "collectors/pgbouncer_pools.hpp"
#include "core/details/connections.hpp"
#include "core/details/long_queries.hpp"
#include "core/details/pgbouncer.hpp"
#include "core/target_health.hpp"
#include "daemon/collector_registry.hpp"
#include "exporter/diagnose_page.hpp"
#include "exporter/status_page.hpp"

using namespace pgpulse::analysis;
using namespace pgpulse::core;

namespace {

PgBouncerPool pool(std::string database, long active, long size, long waiting, double wait) {
  PgBouncerPool p;
  p.database = std::move(database);
  p.user = "app";
  p.pool_mode = "session";
  p.servers_active = active;
  p.size = size;
  p.clients_waiting = waiting;
  p.clients_active = active;
  p.max_wait_seconds = wait;
  p.saturation = static_cast<double>(active) / static_cast<double>(size);
  return p;
}

struct Bouncer {
  TargetHealth health;
  PgBouncerPoolsDetails pools;
  PgBouncerClientsDetails clients{10, 100, 0.1};

  Bouncer() {
    health.target = "bouncer";
    health.kind = "pgbouncer";
    health.server = "db";
    health.up = health.connected_once = true;
    health.server_version = 11800;
    pools.pools = {pool("app", 1, 20, 0, 0)};
    pools.server = "db";
    pools.server_known = true;
    pools.server_budget = 20;
    pools.server_usable_connections = 97;
    pools.server_budget_ratio = 20.0 / 97;
  }
  DiagnosisInput input() const {
    DiagnosisInput in;
    in.target.target = health.target;
    in.target.health = health;
    in.target.add("pgbouncer_pools", pools);
    in.target.add("pgbouncer_clients", clients);
    return in;
  }
};

const DiagnosisStep& step(const TargetReport& report, const std::string& id) {
  for (const auto& s : report.steps) {
    if (s.id == id) return s;
  }
  FAIL("no step " << id);
  throw;
}

}  // namespace

TEST_CASE("a healthy PgBouncer passes the pool steps in order") {
  auto report = diagnose(Bouncer().input());
  CHECK(report.verdict == Severity::Ok);
  std::vector<std::string> order;
  for (const auto& s : report.steps) order.push_back(s.id);
  CHECK(order == std::vector<std::string>{"health", "pgbouncer_waiting", "pgbouncer_pools",
                                          "pgbouncer_clients", "pgbouncer_budget"});
  CHECK(step(report, "health").finding ==
        "PgBouncer's admin console answers (PgBouncer 1.18.0), in front of db");
  CHECK(step(report, "pgbouncer_budget").finding ==
        "PgBouncer may open 20 server connections (pool size + reserve of its pools) against 97 "
        "usable slots of db (ratio 0.21)");
}

TEST_CASE("waiting clients warn from a second and are critical from 30 seconds") {
  Bouncer b;
  b.pools.pools = {pool("app", 2, 2, 3, 4.2), pool("other", 0, 20, 0, 0)};
  b.pools.clients_waiting = 3;
  b.pools.max_wait_seconds = 4.2;
  auto report = diagnose(b.input());
  const auto& waiting = step(report, "pgbouncer_waiting");
  CHECK(waiting.severity == Severity::Warning);
  CHECK(waiting.finding ==
        "3 client(s) waiting, the oldest for 4s: app/app (3 waiting, 2/2 servers active, session "
        "mode, oldest 4s)");
  CHECK(waiting.action.find("SHOW POOLS") != std::string::npos);
  CHECK(waiting.action.find("default_pool_size") != std::string::npos);
  const auto& full = step(report, "pgbouncer_pools");
  CHECK(full.severity == Severity::Warning);
  CHECK(full.finding == "every server connection is taken in app/app 2/2 (session mode)");
  b.pools.max_wait_seconds = 31;
  CHECK(step(diagnose(b.input()), "pgbouncer_waiting").severity == Severity::Critical);
  b.pools.max_wait_seconds = 0.5;  // queued for less than a second: normal churn
  CHECK(step(diagnose(b.input()), "pgbouncer_waiting").severity == Severity::Ok);
}

TEST_CASE("a budget over the server's slots warns and names the server") {
  Bouncer b;
  b.pools.server_budget = 162;
  b.pools.server_budget_ratio = 162.0 / 97;
  const auto budget =
      step(diagnose(b.input()), "pgbouncer_budget");  // a copy: the report is a temporary
  CHECK(budget.severity == Severity::Warning);
  CHECK(budget.finding.find("exhaust the server") != std::string::npos);
  CHECK(budget.action.find("max_db_connections") != std::string::npos);
  b.pools.server_known = false;
  CHECK(step(diagnose(b.input()), "pgbouncer_budget").severity == Severity::Skipped);
  b.pools.server.clear();
  CHECK(step(diagnose(b.input()), "pgbouncer_budget").finding.find("no server linked") !=
        std::string::npos);
}

TEST_CASE("client connections near max_client_conn warn, then are critical") {
  Bouncer b;
  b.clients = {85, 100, 0.85};
  CHECK(step(diagnose(b.input()), "pgbouncer_clients").severity == Severity::Warning);
  b.clients = {96, 100, 0.96};
  CHECK(step(diagnose(b.input()), "pgbouncer_clients").severity == Severity::Critical);
}

TEST_CASE("a PgBouncer that does not answer is critical and its pool steps are skipped") {
  Bouncer b;
  b.health.up = false;
  b.health.last_error_reason = "refused";
  b.health.last_error = "connection refused";
  auto report = diagnose(b.input());
  CHECK(report.verdict == Severity::Critical);
  CHECK(step(report, "health").action.find("Is PgBouncer running?") != std::string::npos);
  CHECK(step(report, "pgbouncer_pools").severity == Severity::Skipped);
  CHECK(exit_code_for({report}) == 2);
}

TEST_CASE("a PostgreSQL target's findings say which sessions come through PgBouncer") {
  DiagnosisInput in;
  in.target.target = "db";
  in.target.health.target = "db";
  in.target.health.up = true;
  ConnectionsDetails connections;
  connections.client_backends = 5;
  connections.usable_connections = 97;
  connections.saturation = 5.0 / 97;
  in.target.add("connections", connections);
  LongQueriesDetails queries;
  queries.longest_query_seconds = 400;
  queries.thresholds_seconds = {300};
  Offender offender;
  offender.pid = 42;
  offender.application_name = "web";
  offender.usename = "app";
  offender.query = "SELECT pg_sleep(?)";
  queries.offenders = {offender};
  in.target.add("long_queries", queries);
  PgBouncerBackendsDetails backends;
  backends.direct_clients = 1;
  backends.pgbouncer_backends = 3;
  backends.pools = {{"bouncer", "transaction", "app", 3, 1, 1, 1}};
  backends.backends = {{42, "pgbouncer bouncer pool transaction/app"}};
  in.target.add("pgbouncer_backends", backends);
  auto report = diagnose(in);
  CHECK(step(report, "connections")
            .finding.find("; 3 through PgBouncer (bouncer pool transaction/app 3), 1 direct") !=
        std::string::npos);
  CHECK(step(report, "queries_and_locks")
            .finding.find("pid 42 (web, app) (through pgbouncer bouncer pool transaction/app)") !=
        std::string::npos);
}

TEST_CASE("the status page shows each PgBouncer right after the server it fronts") {
  SnapshotStore store;
  auto publish_health = [&](TargetHealth h) {
    auto snapshot = std::make_shared<Snapshot>();
    snapshot->target = h.target;
    snapshot->collector = kHealthSnapshot;
    snapshot->details = make_details(h);
    store.publish(snapshot);
  };
  Bouncer b;
  b.health.target = "a-bouncer";  // sorts before its server
  publish_health(b.health);
  auto pools = std::make_shared<Snapshot>();
  pools->target = "a-bouncer";
  pools->collector = "pgbouncer_pools";
  b.pools.pools = {pool("<app>", 2, 2, 1, 3)};
  pools->details = make_details(b.pools);
  store.publish(pools);
  TargetHealth db;
  db.target = "db";
  db.up = true;
  publish_health(db);
  auto publish = [&](const std::string& collector, auto details) {
    auto snapshot = std::make_shared<Snapshot>();
    snapshot->target = "db";
    snapshot->collector = collector;
    snapshot->details = make_details(details);
    store.publish(snapshot);
  };
  LongQueriesDetails queries;
  Offender offender;
  offender.pid = 42;
  offender.application_name = "web";
  queries.offenders = {offender};
  publish("long_queries", queries);
  PgBouncerBackendsDetails backends;
  backends.backends = {{42, "pgbouncer a-bouncer pool app/app"}};
  publish("pgbouncer_backends", backends);
  auto page = pgpulse::exporter::render_status_page(store.view(), 0);
  auto db_at = page.find("<section id=\"target-db\"");
  auto bouncer_at = page.find("<section id=\"target-a-bouncer\"");
  REQUIRE(db_at != std::string::npos);
  REQUIRE(bouncer_at != std::string::npos);
  CHECK(db_at < bouncer_at);
  CHECK(page.find("behind PgBouncer: <a href=\"#target-a-bouncer\">") != std::string::npos);
  CHECK(page.find("PgBouncer in front of <a href=\"#target-db\">db</a>") != std::string::npos);
  CHECK(page.find("<td>&lt;app&gt;/app</td><td>session</td>") != std::string::npos);
  CHECK(page.find("against 97 usable slots of db") != std::string::npos);
  CHECK(
      page.find("web <span class=\"muted via\">through pgbouncer a-bouncer pool app/app</span>") !=
      std::string::npos);
  // /diagnose reads in the same order; a PgBouncer whose server is not watched keeps its place
  TargetHealth lone = b.health;
  lone.target = "0-lone";
  lone.server = "elsewhere";
  publish_health(lone);
  std::vector<std::string> order;
  for (const auto& report : pgpulse::exporter::diagnose_all(store.view())) {
    order.push_back(report.target);
  }
  CHECK(order == std::vector<std::string>{"0-lone", "db", "a-bouncer"});
}

TEST_CASE("a pgbouncer target's health has its own up and version series") {
  TargetHealth h;
  h.kind = "pgbouncer";
  h.up = true;
  h.server_version = 11800;
  std::string all;
  for (const auto& f : render_families("b", health_families(h))) all += f.samples;
  CHECK(all.find("pgpulse_pgbouncer_up{target=\"b\"} 1") != std::string::npos);
  CHECK(all.find("pgpulse_up{target=\"b\"} 1") != std::string::npos);
  CHECK(all.find("pgpulse_pgbouncer_version_num{target=\"b\"} 11800") != std::string::npos);
  CHECK(all.find("pgpulse_server_version_num") == std::string::npos);
  h.up = false;
  all.clear();
  for (const auto& f : render_families("b", health_families(h))) all += f.samples;
  CHECK(all.find("pgpulse_pgbouncer_up{target=\"b\"} 0") != std::string::npos);
}

TEST_CASE("the registry serves pgbouncer collectors to pgbouncer targets only") {
  using pgpulse::config::TargetKind;
  for (const auto& entry : pgpulse::daemon::collector_registry()) {
    bool pgbouncer_kind =
        entry.info.name.rfind("pgbouncer_", 0) == 0 && entry.info.name != "pgbouncer_backends";
    INFO(entry.info.name);
    CHECK(entry.serves(TargetKind::PgBouncer) == pgbouncer_kind);
    CHECK(entry.serves(TargetKind::Postgres) == !pgbouncer_kind);
  }
  pgpulse::config::Config config;
  pgpulse::config::TargetConfig db{"db", "host=db", "", TargetKind::Postgres, ""};
  pgpulse::config::TargetConfig bouncer{"bouncer", "dbname=pgbouncer", "", TargetKind::PgBouncer,
                                        "db"};
  config.targets = {db, bouncer};
  CHECK(pgpulse::daemon::linked_target_names(db, config) == std::vector<std::string>{"bouncer"});
  CHECK(pgpulse::daemon::linked_target_names(bouncer, config) == std::vector<std::string>{"db"});
}
