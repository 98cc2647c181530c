#include <zlib.h>

#include <catch2/catch.hpp>

#include "core/exposition.hpp"
#include "core/snapshot_store.hpp"
#include "exporter/metrics_format.hpp"
#include "exporter/metrics_page.hpp"
#include "exporter/routes.hpp"
#include "http_test_client.hpp"

using namespace pgpulse;
using namespace pgpulse::exporter;

namespace {

// What Prometheus 2.42 sends when it scrapes.
const char* const kPrometheusAccept =
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

std::string gunzip(const std::string& data) {
  z_stream stream{};
  REQUIRE(inflateInit2(&stream, 15 + 16) == Z_OK);
  std::string out;
  char buffer[16384];
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof buffer;
    rc = inflate(&stream, Z_NO_FLUSH);
    out.append(buffer, sizeof buffer - stream.avail_out);
  }
  inflateEnd(&stream);
  REQUIRE(rc == Z_STREAM_END);
  return out;
}

void publish(core::SnapshotStore& store, double value) {
  core::Families families;
  core::add_sample(core::add_counter(families, "example_requests_total", "Requests \"served\"."),
                   {{"code", "200"}}, value);
  core::add_sample(core::add_gauge(families, "example_temperature", "A gauge."), {}, 21.5);
  auto snapshot = std::make_shared<core::Snapshot>();
  snapshot->target = "t";
  snapshot->collector = "example";
  snapshot->families = core::render_families("t", std::move(families));
  store.publish(std::move(snapshot));
}

}  // namespace

TEST_CASE("metrics format: OpenMetrics when the Accept header prefers it, as Prometheus' does") {
  CHECK(negotiate_format(kPrometheusAccept) == MetricsFormat::OpenMetrics);
  CHECK(negotiate_format("application/openmetrics-text") == MetricsFormat::OpenMetrics);
  CHECK(negotiate_format("application/openmetrics-text; version=0.0.1") ==
        MetricsFormat::OpenMetrics);
  CHECK(negotiate_format("") == MetricsFormat::Text);
  CHECK(negotiate_format("*/*") == MetricsFormat::Text);
  CHECK(negotiate_format("text/plain;version=0.0.4") == MetricsFormat::Text);
  CHECK(negotiate_format("application/openmetrics-text;q=0.2, text/plain") == MetricsFormat::Text);
  CHECK(negotiate_format("application/openmetrics-text;version=2.0.0") == MetricsFormat::Text);
  CHECK(negotiate_format("application/openmetrics-text;q=0") == MetricsFormat::Text);
  CHECK(negotiate_format("application/json") == MetricsFormat::Text);
}

TEST_CASE("metrics format: gzip when Accept-Encoding takes it") {
  CHECK(accepts_gzip("gzip"));
  CHECK(accepts_gzip("deflate, gzip;q=0.5"));
  CHECK(accepts_gzip("GZIP"));
  CHECK(accepts_gzip("x-gzip"));
  CHECK(accepts_gzip("*"));
  CHECK_FALSE(accepts_gzip(""));
  CHECK_FALSE(accepts_gzip("identity"));
  CHECK_FALSE(accepts_gzip("gzip;q=0"));
  CHECK_FALSE(accepts_gzip("br, deflate"));
}

TEST_CASE("metrics format: the text format as OpenMetrics") {
  std::string text =
      "# HELP example_requests_total Requests \"served\" \\\\ counted.\n"
      "# TYPE example_requests_total counter\n"
      "example_requests_total{code=\"200\",path=\"/a b}\"} 7\n"
      "example_requests_total{code=\"500\",path=\"x\\\"y\"} 0\n"
      "# HELP example_temperature A gauge.\n"
      "# TYPE example_temperature gauge\n"
      "example_temperature Nan\n"
      "# TYPE example_plain counter\n"
      "example_plain 3 1700000000123\n"
      "# HELP example_other Untyped.\n"
      "# TYPE example_other untyped\n"
      "example_other -Inf\n";
  CHECK(to_openmetrics(text) ==
        "# HELP example_requests Requests \\\"served\\\" \\\\ counted.\n"
        "# TYPE example_requests counter\n"
        "example_requests_total{code=\"200\",path=\"/a b}\"} 7\n"
        "example_requests_total{code=\"500\",path=\"x\\\"y\"} 0\n"
        "# HELP example_temperature A gauge.\n"
        "# TYPE example_temperature gauge\n"
        "example_temperature NaN\n"
        "# TYPE example_plain counter\n"
        "example_plain_total 3 1700000000.123\n"
        "# HELP example_other Untyped.\n"
        "# TYPE example_other unknown\n"
        "example_other -Inf\n"
        "# EOF\n");
  CHECK(to_openmetrics("") == "# EOF\n");
}

TEST_CASE("metrics format: gzip round-trips through zlib") {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "pgpulse_example{i=\"" + std::to_string(i) + "\"} 1\n";
  auto compressed = gzip(text);
  REQUIRE(compressed.size() > 2);
  CHECK(static_cast<unsigned char>(compressed[0]) == 0x1f);
  CHECK(static_cast<unsigned char>(compressed[1]) == 0x8b);
  CHECK(compressed.size() < text.size() / 5);
  CHECK(gunzip(compressed) == text);
  CHECK(gunzip(gzip("")).empty());
}

TEST_CASE("metrics page: each body is compressed once per snapshot generation, not per scrape") {
  core::SnapshotStore store;
  publish(store, 1);
  MetricsPage page(store);
  auto text = page.body(MetricsFormat::Text, false);
  for (int i = 0; i < 50; ++i)
    CHECK(page.body(MetricsFormat::Text, true) == page.body(MetricsFormat::Text, true));
  CHECK(page.compressions() == 1);
  CHECK(gunzip(*page.body(MetricsFormat::Text, true)) == *text);
  auto openmetrics = page.body(MetricsFormat::OpenMetrics, false);
  CHECK(*openmetrics == to_openmetrics(*text));
  for (int i = 0; i < 50; ++i) page.body(MetricsFormat::OpenMetrics, true);
  CHECK(page.compressions() == 2);
  CHECK(gunzip(*page.body(MetricsFormat::OpenMetrics, true)) == *openmetrics);
  publish(store, 2);  // a new generation: compressed again, once
  auto fresh = page.body(MetricsFormat::Text, true);
  for (int i = 0; i < 50; ++i) page.body(MetricsFormat::Text, true);
  CHECK(page.compressions() == 3);
  CHECK(gunzip(*fresh).find("example_requests_total{target=\"t\",code=\"200\"} 2") !=
        std::string::npos);
}

TEST_CASE("/metrics answers with the negotiated format and encoding, and says it varies") {
  core::SnapshotStore store;
  publish(store, 1);
  Routes routes(store, "0.0.0-test");
  auto plain = routes.handle({"GET", "/metrics"});
  CHECK(plain.content_type == kTextContentType);
  CHECK(plain.body->find("# TYPE example_requests_total counter") != std::string::npos);
  auto om = routes.handle({"GET", "/metrics", kPrometheusAccept, "gzip"});
  CHECK(om.content_type == "application/openmetrics-text; version=1.0.0; charset=utf-8");
  auto body = gunzip(*om.body);
  CHECK(body.find("# TYPE example_requests counter\n") != std::string::npos);
  CHECK(body.size() >= 6);
  CHECK(body.substr(body.size() - 6) == "# EOF\n");
  using Header = std::pair<std::string, std::string>;
  CHECK(std::find(om.headers.begin(), om.headers.end(), Header{"Content-Encoding", "gzip"}) !=
        om.headers.end());
  CHECK(std::find(om.headers.begin(), om.headers.end(),
                  Header{"Vary", "Accept, Accept-Encoding"}) != om.headers.end());
  auto identity = routes.handle({"GET", "/metrics", "", "identity"});
  CHECK(std::find(identity.headers.begin(), identity.headers.end(),
                  Header{"Content-Encoding", "gzip"}) == identity.headers.end());
}

TEST_CASE("http server - /metrics over the wire: Content-Encoding gzip when asked, not otherwise") {
  core::SnapshotStore store;
  publish(store, 1);
  Routes routes(store, "0.0.0-test");
  HttpServer server([&routes](const HttpRequest& r) { return routes.handle(r); });
  server.start("127.0.0.1:0");
  testing::Client gzipped(server.port());
  REQUIRE(gzipped.send(testing::get("/metrics", "Accept-Encoding: gzip\r\nConnection: close\r\n")));
  auto response = gzipped.read_all();
  CHECK(testing::status_of(response) == 200);
  CHECK(response.find("Content-Encoding: gzip\r\n") != std::string::npos);
  CHECK(response.find("Vary: Accept, Accept-Encoding\r\n") != std::string::npos);
  CHECK(gunzip(response.substr(response.find("\r\n\r\n") + 4))
            .find("example_temperature{target=\"t\"} 21.5") != std::string::npos);
  testing::Client plain(server.port());
  REQUIRE(plain.send(testing::get("/metrics", "Connection: close\r\n")));
  auto text = plain.read_all();
  CHECK(text.find("Content-Encoding") == std::string::npos);
  CHECK(text.find("example_temperature{target=\"t\"} 21.5\n") != std::string::npos);
  server.stop();
}
