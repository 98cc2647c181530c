// Parse errors of a DSN echo only libpq keywords: any other word may be part of a password, as
// in an unquoted "password=two words" (found by tests/fuzz/fuzz_dsn).
#include <catch2/catch.hpp>

#include "config/dsn.hpp"

using namespace pgpulse::config;

TEST_CASE("dsn errors never echo a word of an unquoted password") {
  auto spaces = parse_dsn("host=db password=correct horse battery");
  REQUIRE_FALSE(spaces.dsn.has_value());
  CHECK(spaces.error ==
        "missing \"=\" after a word that is not a keyword (quote values with spaces: key='a b')");
  auto quote = parse_dsn("password=open sesame='unterminated");
  REQUIRE_FALSE(quote.dsn.has_value());
  CHECK(quote.error.find("sesame") == std::string::npos);
  CHECK(redact_dsn("password=open sesame='x").find("sesame") == std::string::npos);
  // Keywords are still named, which is what makes the error useful.
  CHECK(parse_dsn("host=db sslmode").error == "missing \"=\" after keyword \"sslmode\"");
  CHECK(parse_dsn("host='db").error == "unterminated quoted value for keyword \"host\"");
}

TEST_CASE("dsn redaction hides anything that looks like a password key") {
  CHECK(redact_dsn("host=db Password=Hunter2 sslpassword=k") ==
        "host=db Password=*** sslpassword=***");
  CHECK(redact_dsn("postgresql://db/x?PASSWORD=Hunter2").find("Hunter2") == std::string::npos);
  CHECK(redact_dsn("host=db passfile=/run/pgpass") == "host=db passfile=/run/pgpass");
}
