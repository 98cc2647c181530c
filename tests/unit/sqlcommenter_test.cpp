// sqlcommenter comments in made-up query texts: the W3C traceparent and the common keys are read
// before normalising; malformed comments are ignored whole and never break normalisation; the
// link template only ever receives hex ids.
#include <catch2/catch.hpp>

#include <random>
#include <vector>

#include "collectors/query_text.hpp"
#include "collectors/sqlcommenter.hpp"

using namespace pgpulse::collectors;

namespace {

const char* const kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
const char* const kSpan = "00f067aa0ba902b7";

std::string traceparent() {
  return std::string("00-") + kTrace + "-" + kSpan + "-01";
}

}  // namespace

TEST_CASE("a trailing sqlcommenter comment (SQLAlchemy, Django) gives trace id, span and keys") {
  auto query =
      "SELECT * FROM tickets WHERE id = 42 /*action='show',controller='tickets',"
      "framework='django%3A4.2',route='%2Fapi%2Ftickets%2F%3Cid%3E',traceparent='" +
      traceparent() + "'*/";
  auto t = parse_sqlcommenter(query);
  CHECK(t.trace_id == kTrace);
  CHECK(t.span_id == kSpan);
  CHECK(t.route == "/api/tickets/<id>");
  CHECK(t.controller == "tickets");
  CHECK(t.action == "show");
  CHECK(t.framework == "django:4.2");
  CHECK(t.url.empty());  // parse alone never links
  CHECK(normalize_query(query, 200) == "SELECT * FROM tickets WHERE id = ? /* ? */");
}

TEST_CASE("a leading comment, white space around pairs, application and escaped quotes") {
  auto t = parse_sqlcommenter("/* application='billing', route='/a\\'b' ,traceparent='" +
                              traceparent() + "' */ UPDATE invoices SET paid = true");
  CHECK(t.trace_id == kTrace);
  CHECK(t.application == "billing");
  CHECK(t.route == "/a'b");
}

TEST_CASE("a comment without sqlcommenter keys is skipped for the next one") {
  auto t = parse_sqlcommenter("/* plain note */ SELECT 1 /*route='/x'*/");
  CHECK(t.route == "/x");
  CHECK(parse_sqlcommenter("/* plain note */ SELECT 1").empty());
  CHECK(parse_sqlcommenter("/*tracestate='a=b',db_driver='psycopg2'*/ SELECT 1").empty());
}

TEST_CASE("comment-like text inside literals, identifiers and dollar quotes is not a comment") {
  auto tp = traceparent();
  CHECK(parse_sqlcommenter("SELECT '/*traceparent=''" + tp + "''*/'").empty());
  CHECK(parse_sqlcommenter("SELECT E'\\' /*route=''/x''*/'").empty());
  CHECK(parse_sqlcommenter("SELECT \"/*route='/x'*/\" FROM t").empty());
  CHECK(parse_sqlcommenter("SELECT $body$ /*route='/x'*/ $body$").empty());
  CHECK(parse_sqlcommenter("SELECT 1 -- /*route='/x'*/").empty());
  // ... while one after them is read.
  CHECK(parse_sqlcommenter("SELECT 'it''s' /*route='/y'*/").route == "/y");
  // A comment opener inside a literal does not swallow the real comment after it.
  CHECK(parse_sqlcommenter("SELECT 'a /* b', x /*route='/y'*/").route == "/y");
  CHECK(parse_sqlcommenter("SELECT E'a \\' /* b', x /*route='/y'*/").route == "/y");
}

TEST_CASE("malformed comments are ignored whole") {
  auto tp = traceparent();
  for (const std::string& bad : std::vector<std::string>{
           "SELECT 1 /*route='/x',traceparent='" + tp + "'",    // unterminated: cut by the server
           "SELECT 1 /*route='/x*/",                            // unterminated value
           "SELECT 1 /*route=/x*/",                             // unquoted value
           "SELECT 1 /*route='/x' traceparent='" + tp + "'*/",  // no comma
           "SELECT 1 /*route='/x',*/",                          // trailing comma
           "SELECT 1 /*='/x'*/",                                // no key
           "SELECT 1 /*route='%zz'*/",                          // broken URL escape
           "SELECT 1 /*route='%4'*/",                           // truncated URL escape
           "SELECT 1 /*route='/x'; DROP TABLE t*/",             // junk after the pairs
           "SELECT 1 /*r\xc3\xa9oute='/x'*/",                   // a key outside the charset
       }) {
    INFO(bad);
    CHECK(parse_sqlcommenter(bad).empty());
    auto normalised = normalize_query(bad, 200);  // and normalisation still works
    CHECK(normalised.find("/x") == std::string::npos);
  }
  CHECK(parse_sqlcommenter("SELECT 1 /* /* nested */ route='/x' */").empty());
}

TEST_CASE("an invalid traceparent is dropped, the other keys of its comment stay") {
  for (const std::string& bad : std::vector<std::string>{
           std::string("00-") + kTrace + "-" + kSpan,  // no flags
           std::string("00-") + "4BF92F3577B34DA6A3CE929D0E0E4736" + "-" + kSpan + "-01",  // upper
           std::string("ff-") + kTrace + "-" + kSpan + "-01",                 // version ff
           std::string("00-") + std::string(32, '0') + "-" + kSpan + "-01",   // zero trace id
           std::string("00-") + kTrace + "-" + std::string(16, '0') + "-01",  // zero span id
           std::string("00-") + kTrace + "-" + kSpan + "-01-extra",
           std::string("00-<script>alert(1)</script>0000000000000000-") + kSpan + "-01",
       }) {
    INFO(bad);
    auto t = parse_sqlcommenter("SELECT 1 /*route='/ok',traceparent='" + bad + "'*/");
    CHECK(t.trace_id.empty());
    CHECK(t.span_id.empty());
    CHECK(t.route == "/ok");
  }
}

TEST_CASE("values with control characters are dropped, long ones are cut on UTF-8") {
  auto t = parse_sqlcommenter("SELECT 1 /*route='%0A%1B[31m',controller='x'*/");
  CHECK(t.route.empty());
  CHECK(t.controller == "x");
  std::string long_route(300, 'a');
  long_route += "\xc3\xa9";
  auto cut = parse_sqlcommenter("SELECT 1 /*route='" + long_route + "'*/");
  CHECK(cut.route.size() <= 256);
  CHECK(cut.route == std::string(256, 'a'));
}

TEST_CASE("the link template gets the ids, and nothing without an id or a template") {
  auto t = parse_sqlcommenter("SELECT 1 /*traceparent='" + traceparent() + "'*/");
  CHECK(trace_url("http://jaeger:16686/trace/{trace_id}", t) ==
        std::string("http://jaeger:16686/trace/") + kTrace);
  CHECK(trace_url("https://tempo/x?t={trace_id}&s={span_id}&t2={trace_id}", t) ==
        std::string("https://tempo/x?t=") + kTrace + "&s=" + kSpan + "&t2=" + kTrace);
  CHECK(trace_url("", t).empty());
  CHECK(
      trace_url("http://jaeger/{trace_id}", parse_sqlcommenter("SELECT 1 /*route='/x'*/")).empty());
  auto linked =
      trace_context("SELECT 1 /*traceparent='" + traceparent() + "'*/", "http://j/{trace_id}");
  CHECK(linked.url == std::string("http://j/") + kTrace);
}

TEST_CASE("random bytes never break the parser or normalisation") {
  std::mt19937 random(7);
  const std::string alphabet = "/*'\",=%\\$-\n ab0_";
  for (int i = 0; i < 20000; ++i) {
    std::string query;
    int length = std::uniform_int_distribution<int>(0, 60)(random);
    for (int j = 0; j < length; ++j) {
      query.push_back(
          alphabet[std::uniform_int_distribution<std::size_t>(0, alphabet.size() - 1)(random)]);
    }
    auto t = parse_sqlcommenter(query);
    CHECK((t.trace_id.empty() || t.trace_id.size() == 32));
    auto normalised = normalize_query(query, 200);
    CHECK(normalised.size() <= 203);
  }
}
