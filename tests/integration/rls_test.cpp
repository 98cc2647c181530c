// Row-level security posture and drift across two real databases, bypass roles, and a
// seq-scan-heavy table.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support.hpp"

using namespace pgpulse::testing;

namespace {

std::string dsn_for(const std::string& db) {
  return TestDatabase::dsn("dbname=" + db);
}

void recreate_database(Session& admin, const std::string& name) {
  admin.exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  admin.exec("CREATE DATABASE " + name);
}

double value(const Scrape& scrape, const std::string& name,
             std::map<std::string, std::string> labels) {
  return scrape.value(name, labels).value_or(-1);
}

}  // namespace

TEST_CASE("RLS statuses across two databases and their changes move the gauges and counters",
          "[rls][matrix]") {
  Session admin(TestDatabase::dsn());
  recreate_database(admin, "it_rls_a");
  recreate_database(admin, "it_rls_b");
  admin.exec("DROP ROLE IF EXISTS it_bypass");
  {
    Session a(dsn_for("it_rls_a"));
    a.exec(R"SQL(
      CREATE TABLE orders (id int, tenant_id int);
      ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
      CREATE POLICY tenant_isolation ON orders USING (tenant_id = current_setting('app.tenant')::int);
      CREATE TABLE users (id int, tenant_id int);
      ALTER TABLE users ENABLE ROW LEVEL SECURITY;
      ALTER TABLE users FORCE ROW LEVEL SECURITY;
      CREATE POLICY own ON users USING (tenant_id = 1);
      CREATE TABLE locked (id int, tenant_id int);
      ALTER TABLE locked ENABLE ROW LEVEL SECURITY;
      CREATE TABLE notes (id int, tenant_id int);
      CREATE POLICY forgotten ON notes USING (tenant_id = 1);
      CREATE TABLE leads (id int, tenant_id int);
      CREATE TABLE countries (code text);
    )SQL");
    Session b(dsn_for("it_rls_b"));
    b.exec(R"SQL(
      CREATE TABLE invoices (id int, tenant_id int);
      CREATE TABLE accounts (id int, tenant_id int);
      ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;
      CREATE POLICY tenant_isolation ON accounts USING (tenant_id = 1);
    )SQL");
  }
  PgpulseProcess pgpulse({"--dsn", TestDatabase::dsn(), "--target-name", "main", "--interval", "1s",
                          "--collector.rls.interval", "1s", "--rls.databases.include",
                          "it_rls_a,it_rls_b"});
  REQUIRE(eventually(
      [&] {
        return pgpulse.scrape().value("pgpulse_rls_database_scan_success",
                                      {{"datname", "it_rls_b"}}) == 1;
      },
      10s));
  auto scrape = pgpulse.scrape();
  auto status = [&](const std::string& db, const std::string& s) {
    return value(scrape, "pgpulse_rls_tables", {{"datname", db}, {"status", s}});
  };
  CHECK(status("it_rls_a", "protected") == 1);
  CHECK(status("it_rls_a", "forced") == 1);
  CHECK(status("it_rls_a", "enabled_no_policy") == 1);
  CHECK(status("it_rls_a", "policies_but_disabled") == 1);
  CHECK(status("it_rls_a", "unprotected") == 1);
  CHECK(status("it_rls_a", "not_tenant") == 1);
  CHECK(status("it_rls_b", "unprotected") == 1);
  CHECK(status("it_rls_b", "protected") == 1);
  CHECK(value(scrape, "pgpulse_rls_policies", {{"datname", "it_rls_a"}}) == 3);
  CHECK(value(scrape, "pgpulse_rls_unprotected_tenant_tables", {{"datname", "it_rls_a"}}) == 2);
  CHECK(value(scrape, "pgpulse_rls_table_protected",
              {{"datname", "it_rls_a"}, {"schema", "public"}, {"table", "leads"}}) == 0);
  CHECK(value(scrape, "pgpulse_rls_table_protected",
              {{"datname", "it_rls_a"}, {"schema", "public"}, {"table", "orders"}}) == 1);
  CHECK_FALSE(scrape.value("pgpulse_rls_table_protected", {{"table", "countries"}}).has_value());
  CHECK_FALSE(
      scrape.value("pgpulse_rls_tables", {{"datname", "postgres"}}).has_value());  // excluded
  CHECK(value(scrape, "pgpulse_monitoring_role_superuser", {}) == 1);
  auto tables = nlohmann::json::parse(http_get(pgpulse.port(), "/tables").body);
  CHECK(tables["targets"][0]["unprotected_tenant_tables"].size() == 3);

  // Fix one table, break another, and drift the policies.
  {
    Session a(dsn_for("it_rls_a"));
    a.exec("ALTER TABLE leads ENABLE ROW LEVEL SECURITY");
    a.exec("CREATE POLICY tenant_isolation ON leads USING (tenant_id = 1)");
    a.exec("DROP POLICY own ON users");
    a.exec("ALTER POLICY tenant_isolation ON orders USING (tenant_id = 42)");
    Session b(dsn_for("it_rls_b"));
    b.exec("ALTER TABLE accounts DISABLE ROW LEVEL SECURITY");
  }
  admin.exec("CREATE ROLE it_bypass LOGIN BYPASSRLS");
  auto changes = [&](const Scrape& s, const std::string& change) {
    return value(s, "pgpulse_rls_policy_changes_total",
                 {{"datname", "it_rls_a"}, {"change", change}});
  };
  CHECK(eventually(
      [&] {
        auto s = pgpulse.scrape();
        return changes(s, "added") == 1 && changes(s, "removed") == 1 && changes(s, "altered") == 1;
      },
      10s));
  scrape = pgpulse.scrape();
  CHECK(status("it_rls_a", "unprotected") == 0);
  CHECK(status("it_rls_a", "protected") == 2);          // orders, leads
  CHECK(status("it_rls_a", "enabled_no_policy") == 2);  // locked, users lost its only policy
  CHECK(status("it_rls_b", "policies_but_disabled") == 1);
  CHECK(value(scrape, "pgpulse_rls_unprotected_tenant_tables", {{"datname", "it_rls_b"}}) == 2);
  CHECK(value(scrape, "pgpulse_rls_bypass_role",
              {{"rolname", "it_bypass"}, {"reason", "bypassrls"}}) == 1);
  CHECK(value(scrape, "pgpulse_rls_bypass_login_roles", {}) >=
        2);  // postgres (superuser) and it_bypass
  auto log = pgpulse.log();
  CHECK(log.find("RLS policy removed on database it_rls_a: policy \"own\" on table public.users") !=
        std::string::npos);
  CHECK(log.find("RLS policy altered on database it_rls_a: policy \"tenant_isolation\" on table "
                 "public.orders") != std::string::npos);
  admin.exec("DROP ROLE it_bypass");
  admin.exec("DROP DATABASE it_rls_a WITH (FORCE)");
  admin.exec("DROP DATABASE it_rls_b WITH (FORCE)");
}

TEST_CASE("a large table read by sequential scans is a missing-index candidate",
          "[rls][seq_scan][matrix]") {
  Session admin(TestDatabase::dsn());
  recreate_database(admin, "it_seq");
  Session db(dsn_for("it_seq"));
  db.exec("CREATE TABLE events (id int, tenant_id int, status text, created_at timestamptz)");
  db.exec("INSERT INTO events SELECT g, g % 50, 'new', now() FROM generate_series(1, 20000) g");
  db.exec("CREATE TABLE lookups (id int PRIMARY KEY)");
  db.exec("INSERT INTO lookups SELECT generate_series(1, 20000)");
  db.exec("ANALYZE events; ANALYZE lookups");  // sizes come from relpages
  PgpulseProcess pgpulse({"--dsn", TestDatabase::dsn(), "--target-name", "main", "--interval", "1s",
                          "--collector.rls.interval", "1s", "--rls.databases.include", "it_seq",
                          "--seq-scan.min-table-bytes", "100000"});
  for (int i = 0; i < 5; ++i) {
    db.exec("SELECT count(*) FROM events WHERE status = 'new' AND tenant_id = 7");
    db.exec("SELECT * FROM lookups WHERE id = " + std::to_string(100 + i));
  }
  // The scan counters reach the statistics when this session goes idle. From 15,
  // pg_stat_force_next_flush() makes that the next idle moment (else up to 10 s later); before
  // 15 it does not exist and a backend reports to the stats collector at most every 500 ms, when
  // it goes idle: so the wait below also gives it idle moments, a query at each try.
  if (std::stoi(db.scalar("SHOW server_version_num")) >= 150000) {
    db.exec("SELECT pg_stat_force_next_flush()");
  }
  db.exec("SELECT 1");
  CHECK(eventually(
      [&] {
        db.exec("SELECT 1");
        return pgpulse.scrape()
                   .value("pgpulse_seq_scan_heavy_table_ratio",
                          {{"datname", "it_seq"}, {"table", "events"}})
                   .value_or(0) > 0.99;
      },
      15s));
  auto scrape = pgpulse.scrape();
  CHECK(scrape.value("pgpulse_seq_scan_heavy_tables", {{"datname", "it_seq"}}) >= 1);
  CHECK_FALSE(
      scrape.value("pgpulse_seq_scan_heavy_table_ratio", {{"table", "lookups"}}).has_value());
  auto tables = nlohmann::json::parse(http_get(pgpulse.port(), "/tables").body);
  auto heavy = tables["targets"][0]["seq_scan_heavy"];
  bool listed = false;
  for (const auto& t : heavy) {
    if (t["table"] == "events") {
      listed = true;
      CHECK(t["size_bytes"].get<double>() >= 100000);
      CHECK(t["seq_tup_read"].get<double>() >= 20000);
    }
  }
  CHECK(listed);
  // it_seq never used RLS: with rls.scope in_use (the default) its tenant table events is not
  // judged, and the database says so.
  CHECK(scrape.value("pgpulse_rls_unprotected_tenant_tables", {{"datname", "it_seq"}}) == 0);
  CHECK(scrape.value("pgpulse_rls_in_use", {{"datname", "it_seq"}}) == 0);
  admin.exec("DROP DATABASE it_seq WITH (FORCE)");
}
