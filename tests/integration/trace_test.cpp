// sqlcommenter on a real server: a running query and a lock holder that carry a traceparent
// comment show their trace id, route and link on /activity, /diagnose and the status page; the
// comment never reaches a label.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support.hpp"

using namespace pgpulse::testing;
using nlohmann::json;

namespace {

const std::string kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
const std::string kSpan = "00f067aa0ba902b7";
const std::string kComment = "/*controller='tickets',route='%2Fapi%2Ftickets',traceparent='00-" +
                             kTrace + "-" + kSpan + "-01'*/";

json get_json(const PgpulseProcess& pgpulse, const std::string& path) {
  auto result = http_get(pgpulse.port(), path);
  REQUIRE(result.status == 200);
  return json::parse(result.body);
}

}  // namespace

TEST_CASE("a query with a traceparent comment shows its trace id and link while it runs",
          "[trace]") {
  Session admin(TestDatabase::dsn());
  admin.exec("DROP TABLE IF EXISTS it_trace_locked; CREATE TABLE it_trace_locked (id int)");
  PgpulseProcess pgpulse({"--dsn", TestDatabase::dsn(), "--target-name", "main", "--interval", "1s",
                          "--long-queries.thresholds", "1s", "--tracing.url-template",
                          "http://jaeger:16686/trace/{trace_id}?span={span_id}"});
  Session sleeper(TestDatabase::dsn("application_name=it-trace-sleeper"));
  sleeper.send("SELECT pg_sleep(60) " + kComment);
  // A lock holder whose last statement carried a comment, and a query waiting on it.
  Session holder(TestDatabase::dsn("application_name=it-trace-holder"));
  holder.exec("BEGIN");
  holder.exec("LOCK TABLE it_trace_locked IN ACCESS EXCLUSIVE MODE " + kComment);
  Session waiter(TestDatabase::dsn("application_name=it-trace-waiter"));
  waiter.send("SELECT count(*) FROM it_trace_locked");

  json sleeping, root, worst;
  std::string link = "http://jaeger:16686/trace/" + kTrace + "?span=" + kSpan;
  bool seen = eventually(
      [&] {
        auto activity = get_json(pgpulse, "/activity");
        const auto& target = activity["targets"][0];
        if (!target["long_queries"].is_object() || !target["locks"].is_object()) return false;
        for (const auto& o : target["long_queries"]["offenders"]) {
          if (o["application_name"] == "it-trace-sleeper" && o["query_seconds"] >= 1) sleeping = o;
        }
        for (const auto& node : target["locks"]["blocking_tree"]) {
          if (node["application_name"] == "it-trace-holder") root = node;
        }
        return sleeping.is_object() && root.is_object();
      },
      15s, 200ms);
  auto report = get_json(pgpulse, "/diagnose");
  auto page = http_get(pgpulse.port(), "/");
  auto scrape = pgpulse.scrape();
  holder.exec("ROLLBACK");
  admin.exec(
      "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = "
      "'it-trace-sleeper'");
  REQUIRE(seen);
  const auto& trace = sleeping["trace"];
  CHECK(trace["trace_id"] == kTrace);
  CHECK(trace["span_id"] == kSpan);
  CHECK(trace["route"] == "/api/tickets");
  CHECK(trace["controller"] == "tickets");
  CHECK(trace["url"] == link);
  CHECK(sleeping["query"] == "SELECT pg_sleep(?) /* ? */");  // normalised after the parse
  CHECK(root["trace"]["trace_id"] == kTrace);
  CHECK(root["trace"]["route"] == "/api/tickets");
  CHECK(root["waiting"][0]["trace"]["trace_id"] == "");  // the waiter carried no comment

  std::string queries, idle;
  for (const auto& step : report["targets"][0]["steps"]) {
    if (step["id"] == "queries_and_locks") queries = step["finding"];
  }
  CHECK_THAT(queries, Catch::Contains("trace " + kTrace + ", route /api/tickets"));
  CHECK_THAT(queries, Catch::Contains(link));
  CHECK_THAT(page.body, Catch::Contains("<a class=\"trace\" href=\"http://jaeger:16686/trace/" +
                                        kTrace + "?span=" + kSpan + "\">" + kTrace + "</a>"));
  CHECK_THAT(page.body, Catch::Contains("<code class=\"route\">/api/tickets</code>"));
  CHECK(scrape.text().find(kTrace) == std::string::npos);  // never a label
  CHECK(scrape.text().find("/api/tickets") == std::string::npos);
  admin.exec("DROP TABLE it_trace_locked");
}
