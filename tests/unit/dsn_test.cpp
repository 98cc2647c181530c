#include <catch2/catch.hpp>

#include "config/dsn.hpp"

using namespace pgpulse::config;

TEST_CASE("key=value DSNs parse with quoting and escapes") {
  auto parsed = parse_dsn("host=db.internal port=6432  dbname = 'my db' password='it''s' user=app");
  // libpq quoting: 'it' followed by a new quoted value is an error, but \' escapes inside quotes
  CHECK_FALSE(parsed.dsn.has_value());
  parsed = parse_dsn(R"(host=db.internal port=6432  dbname = 'my db' password='it\'s' user=app)");
  REQUIRE(parsed.dsn.has_value());
  CHECK(parsed.dsn->get("dbname") == "my db");
  CHECK(parsed.dsn->get("password") == "it's");
  CHECK(parsed.dsn->get("port") == "6432");
}

TEST_CASE("URI DSNs parse user - password - hosts - database and parameters") {
  auto parsed = parse_dsn("postgresql://app:s%40cret@db1:5432,db2:5433/orders?sslmode=require");
  REQUIRE(parsed.dsn.has_value());
  CHECK(parsed.dsn->get("user") == "app");
  CHECK(parsed.dsn->get("password") == "s@cret");
  CHECK(parsed.dsn->get("host") == "db1,db2");
  CHECK(parsed.dsn->get("port") == "5432,5433");
  CHECK(parsed.dsn->get("dbname") == "orders");
  CHECK(parsed.dsn->get("sslmode") == "require");
  auto v6 = parse_dsn("postgres://[::1]:5433/x");
  REQUIRE(v6.dsn.has_value());
  CHECK(v6.dsn->get("host") == "::1");
}

TEST_CASE("redaction never shows a password - in any form") {
  struct Case {
    const char* dsn;
    const char* secret;
  };
  Case cases[] = {
      {"host=db password=hunter2 user=app", "hunter2"},
      {"host=db password='hunter 2' user=app", "hunter 2"},
      {"postgresql://app:hunter2@db/orders", "hunter2"},
      {"postgresql://app@db/orders?password=hunter2", "hunter2"},
      {"host=db sslpassword=hunter2", "hunter2"},
      {"host=db password='hunter2", "hunter2"},  // unparseable: nothing of the input is echoed
      {"postgresql://app:hunter2@db/x?bad", "hunter2"},
  };
  for (const auto& c : cases) {
    INFO(c.dsn);
    auto redacted = redact_dsn(c.dsn);
    CHECK(redacted.find(c.secret) == std::string::npos);
  }
  CHECK(redact_dsn("postgresql://app:hunter2@db/orders") ==
        "user=app password=*** host=db dbname=orders");
  CHECK(redact_dsn("host=db dbname='a b'") == "host=db dbname='a b'");
}

TEST_CASE("parse errors say what is wrong without echoing the DSN") {
  auto parsed = parse_dsn("host=db password");
  REQUIRE_FALSE(parsed.dsn.has_value());
  CHECK(parsed.error == "missing \"=\" after keyword \"password\"");
  CHECK(parse_dsn("postgresql://a:b@h:port/x").error == "invalid port in the URI");
  CHECK(parse_dsn("postgresql://a:%zz@h/x").error ==
        "invalid percent-encoding in the password of the URI");
}

TEST_CASE("display names come from host - port and database") {
  CHECK(dsn_display_name(*parse_dsn("host=db port=5433 dbname=orders").dsn) == "db:5433/orders");
  CHECK(dsn_display_name(*parse_dsn("host=db.internal dbname=x").dsn, "db1") == "db.internal/x");
}

TEST_CASE("display names of a server on this machine carry this machine's name") {
  // Two hosts with the packaged config (the local socket) get different target names.
  auto socket = *parse_dsn("host=/var/run/postgresql port=5432 dbname=postgres user=pgpulse").dsn;
  CHECK(dsn_display_name(socket, "db1") == "db1:5432/postgres");
  CHECK(dsn_display_name(socket, "db2") == "db2:5432/postgres");
  CHECK(dsn_display_name(*parse_dsn("postgresql:///orders").dsn, "db1") == "db1/orders");
  CHECK(dsn_display_name(*parse_dsn("host=localhost port=5433").dsn, "db1") == "db1:5433");
  CHECK(dsn_display_name(*parse_dsn("hostaddr=127.0.0.1 dbname=x").dsn, "db1") == "db1/x");
  CHECK(dsn_display_name(*parse_dsn("postgresql://[::1]:5432/x").dsn, "db1") == "db1:5432/x");
  CHECK(dsn_display_name(*parse_dsn("host=@abstract dbname=x").dsn, "db1") == "db1/x");
  CHECK(dsn_display_name(*parse_dsn("").dsn, "db1") == "db1");  // libpq's defaults
  CHECK(dsn_display_name(*parse_dsn("").dsn) == local_host_name());
  CHECK_FALSE(local_host_name().empty());
}
