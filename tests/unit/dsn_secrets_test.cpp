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
  // "Password" is no libpq keyword, and one that looks like a password is not echoed either.
  CHECK(redact_dsn("host=db Password=Hunter2 sslpassword=k") ==
        "host=db unknown_keyword=*** sslpassword=***");
  CHECK(redact_dsn("postgresql://db/x?PASSWORD=Hunter2").find("Hunter2") == std::string::npos);
  CHECK(redact_dsn("host=db passfile=/run/pgpass") == "host=db passfile=/run/pgpass");
}

TEST_CASE("an '@' in a URI password is refused as libpq would misread it, never echoed") {
  // libpq ends the user information at the first '@': "s3cr" would be the password and
  // "et@127.0.0.1" the host, and its "could not translate host name" error would print it.
  auto parsed = parse_dsn("postgresql://app:s3cr@et@127.0.0.1:5432/db");
  REQUIRE_FALSE(parsed.dsn.has_value());
  CHECK(parsed.error.find("%40") != std::string::npos);
  CHECK(parsed.error.find("s3cr") == std::string::npos);
  CHECK(parsed.error.find("et@") == std::string::npos);
  auto encoded = parse_dsn("postgresql://app:s3cr%40et@127.0.0.1:5432/db");
  REQUIRE(encoded.dsn.has_value());
  CHECK(encoded.dsn->get("password") == std::optional<std::string>("s3cr@et"));
  CHECK(encoded.dsn->get("host") == std::optional<std::string>("127.0.0.1"));
}

TEST_CASE("unknown keywords and bad ports are errors that never echo a value") {
  for (const auto* dsn : {"host=db passwd=Hunter2", "host=db pwd=Hunter2", "host=db bogus=1",
                          "postgresql://db/x?passwd=Hunter2"}) {
    auto parsed = parse_dsn(dsn);
    INFO(dsn);
    REQUIRE_FALSE(parsed.dsn.has_value());
    CHECK(parsed.error.find("unknown connection keyword") != std::string::npos);
    CHECK(parsed.error.find("Hunter2") == std::string::npos);
    CHECK(redact_dsn(dsn).find("Hunter2") == std::string::npos);  // redacted like a password
  }
  // Not even an unknown keyword is echoed: "password=two halves=x" makes "halves" one.
  CHECK(parse_dsn("host=db bogus=1").error.find("bogus") == std::string::npos);
  CHECK(parse_dsn("password=two halves=x").error.find("halves") == std::string::npos);
  // A mistyped password keyword, even one libpq could never read (a NUL inside, found by
  // fuzz_dsn), keeps its value out of the redacted text.
  static const char kNulKey[] = "host='a b' pas\0\0ord='it\\'s a s3cret'";
  const std::string nul_key(kNulKey, sizeof kNulKey - 1);
  CHECK(redact_dsn(nul_key).find("s3cret") == std::string::npos);
  CHECK(redact_dsn(nul_key).find('\0') == std::string::npos);
  CHECK(redact_dsn("host=db passwrod=Hunter2 bogus=1") ==
        "host=db unknown_keyword=*** unknown_keyword=***");
  // A password typed into the keyword (a missing "=") is neither echoed nor shown.
  CHECK(parse_dsn("passwordHunter2x=x").error.find("Hunter2") == std::string::npos);
  CHECK(redact_dsn("passwordHunter2x=x").find("Hunter2") == std::string::npos);
  for (const auto* dsn :
       {"host=db port=notaport", "host=db port=70000", "postgresql://db:0/x", "port=5432,x"}) {
    INFO(dsn);
    CHECK(parse_dsn(dsn).error.find("invalid port") != std::string::npos);
  }
  CHECK(parse_dsn("host=a,b port=5432,").dsn.has_value());  // an empty entry: the default port
}
