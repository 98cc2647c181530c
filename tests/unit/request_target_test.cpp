// RFC 7230 5.3: the absolute form of a request target is routed by its path.
#include <catch2/catch.hpp>

#include "exporter/request_target.hpp"

using namespace pgpulse::exporter;

TEST_CASE("request target - origin form unchanged - absolute form reduced to its path") {
  CHECK(origin_form("/metrics") == "/metrics");
  CHECK(origin_form("/metrics?x=1") == "/metrics?x=1");
  CHECK(origin_form("*") == "*");
  CHECK(origin_form("") == "");
  CHECK(origin_form("http://127.0.0.1:9187/metrics") == "/metrics");
  CHECK(origin_form("https://db-host:9187/metrics?x=1") == "/metrics?x=1");
  CHECK(origin_form("HTTP://Host/healthz") == "/healthz");
  CHECK(origin_form("http://host") == "/");
  CHECK(origin_form("http://host?x") == "/?x");
  CHECK(origin_form("http://[::1]:9187/readyz") == "/readyz");
  CHECK(origin_form("http://user@host/metrics") == "/metrics");
  // Not an absolute URI pgpulse serves: left alone, to be answered 404 by the routes.
  CHECK(origin_form("ftp://host/metrics") == "ftp://host/metrics");
  CHECK(origin_form("http:///metrics") == "http:///metrics");
  CHECK(origin_form("http:/metrics") == "http:/metrics");
  CHECK(origin_form("metrics") == "metrics");
}
