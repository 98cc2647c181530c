// pgpulse parses DSNs without libpq (config/ is libpq-free); here its reading is compared with
// libpq's own PQconninfoParse, so "parses as libpq does" is checked, not assumed.
#include <libpq-fe.h>
#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <string>

#include "config/dsn.hpp"

using namespace pgpulse::config;

namespace {

std::optional<std::map<std::string, std::string>> libpq_parse(const std::string& dsn) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(dsn.c_str(), &error);
  if (error) PQfreemem(error);
  if (!options) return std::nullopt;
  std::map<std::string, std::string> values;
  for (auto* o = options; o->keyword; ++o) {
    if (o->val) values[o->keyword] = o->val;
  }
  PQconninfoFree(options);
  return values;
}

}  // namespace

TEST_CASE("every keyword the linked libpq knows is a keyword pgpulse accepts") {
  PQconninfoOption* defaults = PQconndefaults();
  REQUIRE(defaults);
  for (auto* o = defaults; o->keyword; ++o) {
    std::string keyword = o->keyword;
    INFO(keyword);
    auto parsed = parse_dsn(keyword + (keyword == "port" ? "=5432" : "=x"));
    CHECK(parsed.error.find("unknown connection keyword") == std::string::npos);
  }
  PQconninfoFree(defaults);
}

TEST_CASE("pgpulse reads DSNs into the same values as PQconninfoParse") {
  for (const std::string dsn :
       {"host=db port=5433 dbname=app user=mon password='two words'", "host = db  dbname='it\\'s'",
        "postgresql://mon:p%40ss@db:5433/app?sslmode=require", "postgresql://mon@[::1]:5432/app",
        "postgresql://db1:5432,db2:5433/app", "postgres:///app?host=/run/postgresql",
        "password=a\\ b host=x"}) {
    INFO(dsn);
    auto ours = parse_dsn(dsn);
    auto theirs = libpq_parse(dsn);
    REQUIRE(theirs.has_value());
    REQUIRE(ours.dsn.has_value());
    for (const auto* key : {"host", "port", "dbname", "user", "password", "sslmode"}) {
      INFO(key);
      auto it = theirs->find(key);
      CHECK(ours.dsn->get(key) ==
            (it == theirs->end() ? std::nullopt : std::optional<std::string>(it->second)));
    }
  }
  // What libpq refuses before connecting, pgpulse refuses too (and libpq's message for a
  // misspelled keyword names it without its value, as pgpulse's does).
  for (const std::string dsn :
       {"host=db bogus=1", "host=db passwd=x", "postgresql://db/x?bogus=1", "host='unterminated"}) {
    INFO(dsn);
    CHECK_FALSE(libpq_parse(dsn).has_value());
    CHECK_FALSE(parse_dsn(dsn).dsn.has_value());
  }
}
