// Database-provided strings that end up in labels: database, role, schema and table names with
// quotes, backslashes and newlines, invalid UTF-8 (a SQL_ASCII database takes any bytes) and names
// cut at PostgreSQL's 63-byte limit in the middle of a character. The scrape must stay valid
// exposition text (promtool check metrics), valid UTF-8, and /tables valid JSON.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>

#include "support.hpp"

using namespace pgpulse::testing;

namespace {

const std::string kHostileDb = "it_hostile \"q\" \\b\nnl";  // quote, backslash, newline
const std::string kAsciiDb = "it_hostile_ascii";            // SQL_ASCII: any bytes in names
const std::string kHostileRole = "it_hostile \"role\" \\ \n";
const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

std::string quote_ident(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// A value for a libpq key='value' pair.
std::string conninfo_value(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

bool valid_utf8(const std::string& text) {
  for (std::size_t i = 0; i < text.size();) {
    auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = lead < 0x80         ? 1
                         : (lead >> 5) == 6  ? 2
                         : (lead >> 4) == 14 ? 3
                         : (lead >> 3) == 30 ? 4
                                             : 0;
    if (length == 0 || lead == 0xC0 || lead == 0xC1 || i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += length;
  }
  return true;
}

bool promtool_accepts(const std::string& body, std::string& output) {
  auto path = write_temp_file("hostile.prom", body);
  int rc = run_command({"/bin/sh", "-c", "promtool check metrics < '" + path + "'"}, output);
  return rc == 0;
}

// Every label value in the scrape, raw (still escaped), with its length after unescaping.
std::size_t longest_label_value(const std::string& body) {
  std::size_t longest = 0;
  for (std::size_t at = body.find("=\""); at != std::string::npos; at = body.find("=\"", at + 1)) {
    std::size_t length = 0;
    for (std::size_t i = at + 2; i < body.size() && body[i] != '"'; ++i) {
      if (body[i] == '\\') ++i;
      ++length;
    }
    longest = std::max(longest, length);
  }
  return longest;
}

}  // namespace

TEST_CASE("hostile database names - schemas - tables and roles stay valid exposition text",
          "[hostile][matrix]") {
  Session admin(TestDatabase::dsn());
  admin.exec("DROP DATABASE IF EXISTS " + quote_ident(kHostileDb) + " WITH (FORCE)");
  admin.exec("DROP DATABASE IF EXISTS " + kAsciiDb + " WITH (FORCE)");
  admin.exec("DROP ROLE IF EXISTS " + quote_ident(kHostileRole));
  admin.exec("CREATE DATABASE " + quote_ident(kHostileDb));
  admin.exec("CREATE DATABASE " + kAsciiDb +
             " ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
  admin.exec("CREATE ROLE " + quote_ident(kHostileRole) + " LOGIN");
  admin.exec("GRANT CONNECT ON DATABASE " + quote_ident(kHostileDb) + " TO PUBLIC");

  std::string long_utf8;
  for (int i = 0; i < 40; ++i) long_utf8 += "\xC3\xA9";  // 80 bytes of é
  {
    Session db(TestDatabase::dsn("dbname=" + conninfo_value(kHostileDb)));
    db.exec("CREATE SCHEMA " + quote_ident("we\"ird\\ schema\nx"));
    db.exec("CREATE TABLE " + quote_ident("we\"ird\\ schema\nx") + "." +
            quote_ident("ta\"ble\\\nname") + " (id int, tenant_id int)");
    // PostgreSQL cuts at 63 bytes on a character boundary in a UTF-8 database.
    db.exec("CREATE TABLE public." + quote_ident(long_utf8) + " (id int, tenant_id int)");
  }
  {
    // No client_encoding: a SQL_ASCII database passes bytes through unchecked.
    Session ascii(TestDatabase::dsn("dbname=" + kAsciiDb));
    ascii.exec("CREATE SCHEMA " + quote_ident("bad\xFF\xFE utf8"));
    ascii.exec("CREATE TABLE " + quote_ident("bad\xFF\xFE utf8") + "." +
               quote_ident("t\xC3\x28 \xE2\x82") + " (id int, tenant_id int)");
    // 80 bytes cut at 63: the last é loses its second byte.
    ascii.exec("CREATE TABLE public." + quote_ident(long_utf8) + " (id int, tenant_id int)");
  }
  // Sessions whose database and role names become labels of pgpulse_connections.
  Session in_hostile_db(
      TestDatabase::dsn("dbname=" + conninfo_value(kHostileDb) + " application_name=it-hostile"));
  Session as_hostile_role(
      TestDatabase::dsn("user=" + conninfo_value(kHostileRole) + " application_name=it-hostile"));

  // rls.scope all: the hostile database uses no RLS, and its tables' labels are what is tested.
  PgpulseProcess pgpulse({"--dsn", TestDatabase::dsn(), "--target-name", "main", "--interval", "1s",
                          "--collector.rls.interval", "1s", "--rls.scope", "all"});
  bool scanned = eventually(
      [&] {
        auto scrape = pgpulse.scrape();
        return scrape.value("pgpulse_rls_database_scan_success", {{"datname", kHostileDb}}) == 1 &&
               scrape.value("pgpulse_rls_database_scan_success", {{"datname", kAsciiDb}}) == 1 &&
               scrape.value("pgpulse_connections", {{"usename", kHostileRole}}).has_value();
      },
      20s);
  auto scrape = pgpulse.scrape();
  const auto& body = scrape.text();
  INFO(body.substr(0, 4000));
  REQUIRE(scanned);

  std::string promtool_output;
  CHECK(promtool_accepts(body, promtool_output));
  INFO(promtool_output);
  CHECK(valid_utf8(body));
  CHECK(longest_label_value(body) <= 128);

  // Quotes, backslashes and newlines come back intact through the escaping.
  CHECK(scrape.value("pgpulse_connections", {{"datname", kHostileDb}}).has_value());
  CHECK(scrape.value("pgpulse_rls_table_protected", {{"datname", kHostileDb},
                                                     {"schema", "we\"ird\\ schema\nx"},
                                                     {"table", "ta\"ble\\\nname"}}) == 0);
  // 63 bytes on a character boundary: 31 é.
  std::string cut_utf8 = long_utf8.substr(0, 62);
  CHECK(scrape.value("pgpulse_rls_table_protected",
                     {{"datname", kHostileDb}, {"schema", "public"}, {"table", cut_utf8}}) == 0);
  // Invalid bytes become U+FFFD; a character cut in two at byte 63 too.
  CHECK(scrape.value("pgpulse_rls_table_protected",
                     {{"datname", kAsciiDb},
                      {"schema", "bad" + kReplacement + kReplacement + " utf8"},
                      {"table", "t" + kReplacement + "( " + kReplacement + kReplacement}}) == 0);
  CHECK(scrape.value("pgpulse_rls_table_protected",
                     {{"datname", kAsciiDb},
                      {"schema", "public"},
                      {"table", long_utf8.substr(0, 62) + kReplacement}}) == 0);

  auto tables = http_get(pgpulse.port(), "/tables");
  CHECK(tables.status == 200);
  CHECK(valid_utf8(tables.body));
  CHECK(nlohmann::json::accept(tables.body));
  auto activity = http_get(pgpulse.port(), "/activity");
  CHECK(nlohmann::json::accept(activity.body));

  admin.exec("DROP DATABASE IF EXISTS " + quote_ident(kHostileDb) + " WITH (FORCE)");
  admin.exec("DROP DATABASE IF EXISTS " + kAsciiDb + " WITH (FORCE)");
}
