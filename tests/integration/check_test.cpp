// `pgpulse check`, /diagnose and the status page against each runbook situation on a real server.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "support.hpp"

using namespace pgpulse::testing;

namespace {

// A least-privilege monitoring role, so a healthy server gives a clean report.
std::string monitor_dsn() {
  Session admin(TestDatabase::dsn());
  admin.exec(
      "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'it_monitor') "
      "THEN CREATE ROLE it_monitor LOGIN IN ROLE pg_monitor; END IF; END $$");
  return TestDatabase::dsn("user=it_monitor");
}

struct CheckResult {
  int code;
  std::string output;
  nlohmann::json json;
};

CheckResult check(std::vector<std::string> extra) {
  std::vector<std::string> argv{pgpulse_binary(),          "check",   "--target-name", "main",
                                "--rls.databases.include", "postgres"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  CheckResult result;
  result.code = run_command(argv, result.output);
  auto json_argv = argv;
  json_argv.insert(json_argv.end(), {"--output", "json"});
  std::string json_text;
  int json_code = run_command(json_argv, json_text);
  REQUIRE(json_code == result.code);  // same verdict in both formats
  result.json = nlohmann::json::parse(json_text);
  return result;
}

std::string severity(const nlohmann::json& report, const std::string& step_id) {
  for (const auto& step : report["targets"][0]["steps"]) {
    if (step["id"] == step_id) return step["severity"];
  }
  return "missing";
}

std::string finding(const nlohmann::json& report, const std::string& step_id) {
  for (const auto& step : report["targets"][0]["steps"]) {
    if (step["id"] == step_id) return step["finding"];
  }
  return "";
}

// The value of a step's measurement, null when the step has no such measurement.
nlohmann::json measured(const nlohmann::json& report, const std::string& step_id,
                        const std::string& name, const std::string& subject = "") {
  for (const auto& step : report.at("targets").at(0).at("steps")) {
    if (step.at("id") != step_id) continue;
    for (const auto& m : step.at("measurements")) {
      if (m["name"] == name && m.value("subject", std::string()) == subject) return m["value"];
    }
  }
  return nullptr;
}

// The status page as headless Chromium renders it at 1280 px wide: its DOM, and a screenshot.
std::string render_in_chromium(int port, const std::string& screenshot) {
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  std::vector<std::string> chromium{
      "/usr/bin/chromium",
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--user-data-dir=" + write_temp_file("chromium-profile-unused", "") + ".d",
      "--window-size=1280,1600"};
  auto dump = chromium;
  dump.insert(dump.end(), {"--dump-dom", url});
  std::string dom;
  CHECK(run_command(dump, dom) == 0);
  auto shot = chromium;
  shot.insert(shot.end(), {"--screenshot=" + screenshot, url});
  std::string shot_output;
  CHECK(run_command(shot, shot_output) == 0);
  return dom;
}

// PGPULSE_SCREENSHOT_DIR=docs/screenshots refreshes the README's pictures.
void keep_screenshot(const std::string& screenshot, const std::string& name) {
  WARN("status page screenshot: " << screenshot);
  if (const char* dir = std::getenv("PGPULSE_SCREENSHOT_DIR"); dir && *dir) {
    std::filesystem::copy_file(screenshot, std::filesystem::path(dir) / name,
                               std::filesystem::copy_options::overwrite_existing);
  }
}

}  // namespace

TEST_CASE("check on a healthy server exits 0 with every step ok", "[check][matrix]") {
  auto result = check({"--dsn", monitor_dsn()});
  INFO(result.output);
  CHECK(result.code == 0);
  CHECK(result.json["verdict"] == "ok");
  CHECK(result.json["schema_version"] == 2);
  std::string version;
  run_command({pgpulse_binary(), "--version"}, version);
  CHECK(version.find("pgpulse " + result.json["pgpulse_version"].get<std::string>() + " ") == 0);
  CHECK(result.json["generated_at"].get<std::string>().size() == 20);  // 2026-12-02T07:42:46Z
  CHECK(measured(result.json, "health", "up") == 1);
  CHECK(measured(result.json, "health", "server_version_num").get<double>() >= 130000);
  CHECK(result.output.find("target main: ok") != std::string::npos);
  CHECK(result.output.find("[ OK ] 1. Is the database up? PostgreSQL " +
                           TestDatabase::env("PGPULSE_TEST_PGMAJOR") + ".") != std::string::npos);
  CHECK(result.output.find("\033[") == std::string::npos);  // not a terminal: no colours
}

TEST_CASE("check reports connection exhaustion as critical and names the holders",
          "[check][matrix]") {
  auto dsn = monitor_dsn();
  std::vector<Session> held;
  for (int i = 0; i < 92; ++i) held.emplace_back(TestDatabase::dsn("application_name=it-hog"));
  auto result = check({"--dsn", dsn});
  held.clear();
  INFO(result.output);
  CHECK(result.code == 2);
  CHECK(severity(result.json, "connections") == "critical");
  CHECK(finding(result.json, "connections").find("by application: it-hog 92") != std::string::npos);
  CHECK(measured(result.json, "connections", "application_connections", "it-hog") == 92);
  CHECK(measured(result.json, "connections", "saturation").get<double>() >= 0.95);
  CHECK(result.output.find("[CRIT] 3. Connections and saturation:") != std::string::npos);
  CHECK(result.output.find("next: psql -c") != std::string::npos);
}

// The severities come from the shipped alert thresholds (analysis/thresholds.cpp, checked against
// alerts.yml by a unit test): a 3-second query and a 2-second lock wait are named, not flagged.
TEST_CASE("check names a long query and a blocked query with their pids", "[check][matrix]") {
  Session admin(TestDatabase::dsn());
  admin.exec("DROP TABLE IF EXISTS it_check_lock; CREATE TABLE it_check_lock (id int)");
  Session sleeper(TestDatabase::dsn("application_name=it-check-sleeper"));
  sleeper.send("SELECT pg_sleep(30)");  // first, so it is the oldest offender
  std::this_thread::sleep_for(1s);
  Session holder(TestDatabase::dsn("application_name=it-check-holder"));
  holder.exec("BEGIN");
  holder.exec("LOCK TABLE it_check_lock IN ACCESS EXCLUSIVE MODE");
  Session waiter(TestDatabase::dsn("application_name=it-check-waiter"));
  waiter.send("SELECT count(*) FROM it_check_lock");
  std::this_thread::sleep_for(2s);
  auto result = check({"--dsn", monitor_dsn(), "--long-queries.thresholds", "2s"});
  holder.exec("ROLLBACK");
  admin.exec(
      "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = "
      "'it-check-sleeper'");
  INFO(result.output);
  CHECK(result.code == 0);
  CHECK(severity(result.json, "queries_and_locks") == "ok");  // below PostgresQueriesBlocked's 30s
  auto text = finding(result.json, "queries_and_locks");
  CHECK(text.find("1 backends blocked on locks") != std::string::npos);
  CHECK(measured(result.json, "queries_and_locks", "blocked_backends") == 1);
  CHECK(measured(result.json, "queries_and_locks", "longest_query").get<double>() >= 2);
  CHECK(text.find("root blocker pid(s) " + std::to_string(holder.backend_pid())) !=
        std::string::npos);
  CHECK(text.find("longest query 3s") != std::string::npos);
  admin.exec("DROP TABLE it_check_lock");
}

TEST_CASE("check reports an unprotected tenant table as critical where RLS is in use",
          "[check][matrix]") {
  Session admin(TestDatabase::dsn());
  admin.exec(
      "DROP TABLE IF EXISTS it_tenant_orders, it_tenant_users; "
      "CREATE TABLE it_tenant_orders (id int, tenant_id int); "
      "CREATE TABLE it_tenant_users (id int, tenant_id int); "
      "ALTER TABLE it_tenant_users ENABLE ROW LEVEL SECURITY; "
      "CREATE POLICY isolation ON it_tenant_users "
      "  USING (tenant_id = current_setting('app.current_tenant_id')::int)");
  auto result = check({"--dsn", monitor_dsn()});
  admin.exec("DROP TABLE it_tenant_orders, it_tenant_users");
  INFO(result.output);
  CHECK(result.code == 2);
  CHECK(severity(result.json, "rls") == "critical");
  CHECK(finding(result.json, "rls").find("postgres:public.it_tenant_orders (unprotected)") !=
        std::string::npos);
  // The advice names the setting this database's own policies use.
  CHECK(result.output.find("current_setting('app.current_tenant_id')") != std::string::npos);
}

TEST_CASE("check: a tenant column in a database that never used RLS is information, exit 0",
          "[check][matrix]") {
  Session admin(TestDatabase::dsn());
  admin.exec(
      "DROP TABLE IF EXISTS it_quiet_orders; CREATE TABLE it_quiet_orders (id int, tenant_id int)");
  auto in_use = check({"--dsn", monitor_dsn()});
  auto all = check({"--dsn", monitor_dsn(), "--rls.scope", "all"});
  admin.exec("DROP TABLE it_quiet_orders");
  INFO(in_use.output);
  CHECK(in_use.code == 0);
  CHECK(severity(in_use.json, "rls") == "ok");
  CHECK(finding(in_use.json, "rls").find("RLS not in use in database(s) postgres") !=
        std::string::npos);
  CHECK(all.code == 2);  // rls.scope all judges it
}

TEST_CASE("check: a database pgpulse may not connect to makes RLS unknown, never all-clear",
          "[check][rls][matrix]") {
  Session admin(TestDatabase::dsn());
  admin.exec("DROP DATABASE IF EXISTS it_check_closed WITH (FORCE)");
  admin.exec("CREATE DATABASE it_check_closed");
  {
    Session closed(TestDatabase::dsn("dbname=it_check_closed"));
    closed.exec(
        "CREATE TABLE tickets (id int, tenant_id int); CREATE TABLE users (id int, tenant_id "
        "int); ALTER TABLE users ENABLE ROW LEVEL SECURITY");
  }
  admin.exec("REVOKE CONNECT ON DATABASE it_check_closed FROM PUBLIC");
  auto result =
      check({"--dsn", monitor_dsn(), "--rls.databases.include", "postgres,it_check_closed"});
  admin.exec("DROP DATABASE it_check_closed WITH (FORCE)");
  INFO(result.output);
  CHECK(result.code == 1);
  CHECK(severity(result.json, "rls") == "warning");
  CHECK(finding(result.json, "rls").find("unknown for it_check_closed: ") != std::string::npos);
  CHECK(finding(result.json, "rls").find("in force on every tenant table") == std::string::npos);
}

TEST_CASE("check: the database down is critical; a wrong monitoring password is no outage",
          "[check][faults][matrix]") {
  auto dsn = monitor_dsn();
  TestDatabase::control("stop");
  auto down = check({"--dsn", dsn});
  TestDatabase::control("start");
  INFO(down.output);
  CHECK(down.code == 2);
  CHECK(severity(down.json, "health") == "critical");
  CHECK(finding(down.json, "health").find("PostgreSQL does not answer (refused)") !=
        std::string::npos);
  CHECK(severity(down.json, "rls") == "skipped");

  Session admin(TestDatabase::dsn());
  admin.exec("DROP ROLE IF EXISTS it_check_pw");
  admin.exec("CREATE ROLE it_check_pw LOGIN PASSWORD 'right' IN ROLE password_auth");
  auto wrong = write_temp_file("check-wrong-pw", "wrong\n");
  auto auth = check({"--dsn", TestDatabase::dsn("user=it_check_pw"), "--password-file", wrong});
  INFO(auth.output);
  CHECK(auth.code == 1);                              // unknown, not an outage
  CHECK(severity(auth.json, "health") == "warning");  // the server answered: health unknown
  CHECK(severity(auth.json, "connectivity") == "warning");
  CHECK(finding(auth.json, "connectivity") == "cannot connect: auth_failed");
  admin.exec("DROP ROLE it_check_pw");
}

TEST_CASE("check --daemon names who holds the slots of a server too full for check to connect",
          "[check]") {
  PgpulseProcess pgpulse(
      {"--dsn", monitor_dsn(), "--target-name", "main", "--interval", "1s", "--no-collector.rls"});
  REQUIRE(eventually([&] { return pgpulse.scrape().value("pgpulse_up") == 1; }, 10s));
  std::vector<Session> held;  // every slot ordinary roles may use, the daemon's one aside
  for (int i = 0; i < 96; ++i) {
    try {
      held.emplace_back(TestDatabase::dsn("application_name=it-slot-hog"));
    } catch (const std::exception&) {
      break;  // full already
    }
  }
  auto direct = check({"--dsn", monitor_dsn()});
  REQUIRE(eventually(
      [&] { return pgpulse.scrape().value("pgpulse_connection_saturation_ratio") >= 0.99; }, 10s));
  std::string output;
  int code = run_command(
      {pgpulse_binary(), "check", "--daemon", "http://127.0.0.1:" + std::to_string(pgpulse.port())},
      output);
  held.clear();
  INFO(direct.output);
  CHECK(direct.code == 2);
  CHECK(finding(direct.json, "connectivity") == "cannot connect: too_many_connections");
  CHECK(direct.output.find("pgpulse check --daemon") != std::string::npos);
  INFO(output);
  CHECK(code == 2);
  CHECK(output.find("[CRIT] 3. Connections and saturation:") != std::string::npos);
  CHECK(output.find("it-slot-hog") != std::string::npos);
  std::string unreachable;
  CHECK(run_command({pgpulse_binary(), "check", "--daemon", "http://127.0.0.1:1"}, unreachable) ==
        3);
}

TEST_CASE("check exits 3 when it cannot run", "[check]") {
  std::string output;
  CHECK(run_command({pgpulse_binary(), "check", "--interval", "soon"}, output) == 3);
  CHECK(output.find("invalid duration") != std::string::npos);
}

TEST_CASE("the daemon's /diagnose flags a leak from its trend window", "[check][idle]") {
  PgpulseProcess pgpulse({"--dsn", monitor_dsn(), "--target-name", "main", "--interval", "1s",
                          "--idle-trend.window", "20s", "--idle-trend.min-growth-per-minute", "6",
                          "--rls.databases.include", "postgres"});
  std::vector<Session> leaky;
  bool flagged = false;
  nlohmann::json report;
  for (int second = 0; second < 40 && !flagged; ++second) {
    leaky.emplace_back(TestDatabase::dsn("application_name=it-diag-leak"));
    std::this_thread::sleep_for(1s);
    report = nlohmann::json::parse(http_get(pgpulse.port(), "/diagnose").body);
    flagged = finding(report, "idle").find("leak suspected in it-diag-leak") != std::string::npos;
  }
  CHECK(flagged);
  CHECK(severity(report, "idle") != "ok");
  CHECK(report["exit_code"].get<int>() >= 1);
}

TEST_CASE("the status page renders in headless Chromium with the verdict and offenders",
          "[check][ui]") {
  REQUIRE(std::filesystem::exists("/usr/bin/chromium"));  // scripts/test.sh installs it
  Session admin(TestDatabase::dsn());
  admin.exec(
      "DROP TABLE IF EXISTS it_page_tenant; CREATE TABLE it_page_tenant (id int, tenant_id int)");
  PgpulseProcess pgpulse({"--dsn", monitor_dsn(), "--target-name", "main", "--interval", "1s",
                          "--collector.rls.interval", "1s", "--rls.databases.include", "postgres",
                          "--rls.scope", "all"});
  Session sleeper(TestDatabase::dsn("application_name=it-page-<b>sleeper</b>"));
  sleeper.send("SELECT pg_sleep(20)");
  REQUIRE(eventually(
      [&] {
        return http_get(pgpulse.port(), "/").body.find("it_page_tenant") != std::string::npos &&
               http_get(pgpulse.port(), "/").body.find("it-page-") != std::string::npos;
      },
      15s));
  std::this_thread::sleep_for(2s);  // a few points for the sparkline
  std::string screenshot = std::filesystem::absolute("status-page.png").string();
  std::string dom = render_in_chromium(pgpulse.port(), screenshot);
  admin.exec(
      "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name LIKE "
      "'it-page-%'");
  admin.exec("DROP TABLE it_page_tenant");

  CHECK(dom.find("<h1>pgpulse status</h1>") != std::string::npos);
  CHECK(
      dom.find(
          "<section id=\"target-main\"><h2>main <span class=\"badge critical\">critical</span>") !=
      std::string::npos);  // the unprotected tenant table makes it critical
  CHECK(dom.find("class=\"num saturation\"") != std::string::npos);
  CHECK(dom.find("<polyline") != std::string::npos);
  CHECK(dom.find("it-page-&lt;b&gt;sleeper&lt;/b&gt;") !=
        std::string::npos);  // escaped, not markup
  CHECK(dom.find("<b>sleeper</b>") == std::string::npos);
  CHECK(dom.find("postgres</code>") == std::string::npos);
  CHECK(dom.find("public.it_page_tenant") != std::string::npos);
  CHECK(dom.find("<th>idle for</th>") != std::string::npos);  // offenders: database, idle, blocker
  CHECK(dom.find("<th>blocked by</th>") != std::string::npos);
  CHECK(dom.find("sparkline-caption\">client backends over the last ") !=
        std::string::npos);  // window, scale, threshold
  CHECK(dom.find("class=\"threshold\"") != std::string::npos);
  CHECK(dom.find("href=\"/diagnose\"") != std::string::npos);
  CHECK(dom.find("<td>rls</td>") != std::string::npos);               // collector health
  CHECK(dom.find("<table class=\"summary\">") != std::string::npos);  // one row per target
  CHECK(dom.find("generated at ") != std::string::npos);
  CHECK(dom.find("PostgreSQL " + TestDatabase::env("PGPULSE_TEST_PGMAJOR") + ".") !=
        std::string::npos);  // 15.18, not 150018
  REQUIRE(std::filesystem::exists(screenshot));
  CHECK(std::filesystem::file_size(screenshot) > 10000);
  keep_screenshot(screenshot, "status-incident.png");
}

TEST_CASE("the status page of a healthy server renders in headless Chromium", "[check][ui]") {
  REQUIRE(std::filesystem::exists("/usr/bin/chromium"));
  PgpulseProcess pgpulse({"--dsn", monitor_dsn(), "--target-name", "main", "--interval", "1s",
                          "--rls.databases.include", "postgres"});
  REQUIRE(eventually(
      [&] { return http_get(pgpulse.port(), "/").body.find("<polyline") != std::string::npos; },
      15s));
  std::this_thread::sleep_for(2s);  // a few points for the sparkline
  std::string screenshot = std::filesystem::absolute("status-healthy.png").string();
  std::string dom = render_in_chromium(pgpulse.port(), screenshot);
  // The shared test server may carry another test's statements (a warning at most): no
  // critical step, the health step ok, and no blocking tree while nothing is blocked.
  CHECK(dom.find("badge critical") == std::string::npos);
  CHECK(dom.find("<tr class=\"step-health\"><td><span class=\"badge ok\">ok</span>") !=
        std::string::npos);
  CHECK(dom.find("<h3>Blocking tree</h3>") == std::string::npos);
  REQUIRE(std::filesystem::exists(screenshot));
  CHECK(std::filesystem::file_size(screenshot) > 10000);
  keep_screenshot(screenshot, "status-healthy.png");
}
