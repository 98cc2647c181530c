#include <catch2/catch.hpp>

#include "config/duration.hpp"

using pgpulse::config::format_duration;
using pgpulse::config::Millis;
using pgpulse::config::parse_duration;

TEST_CASE("durations accept ms - s - m - h and compounds") {
  CHECK(parse_duration("500ms") == Millis{500});
  CHECK(parse_duration("15s") == Millis{15000});
  CHECK(parse_duration("1m30s") == Millis{90000});
  CHECK(parse_duration("2h") == Millis{7200000});
  CHECK(parse_duration("0") == Millis{0});
}

TEST_CASE("malformed durations are rejected") {
  for (const char* bad : {"", "15", "s", "1.5s", "-1s", "15x", "1m 30s", "99999999999999999999h"}) {
    INFO(bad);
    CHECK_FALSE(parse_duration(bad).has_value());
  }
}

TEST_CASE("durations format in the largest exact unit") {
  CHECK(format_duration(Millis{15000}) == "15s");
  CHECK(format_duration(Millis{900000}) == "15m");
  CHECK(format_duration(Millis{1500}) == "1500ms");
  CHECK(format_duration(Millis{0}) == "0s");
}
