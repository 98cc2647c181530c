// The per-source throttle of password checks, on a fake clock: in-flight cap, failure burst,
// refill, forgiveness on success, the bounded table, and which addresses share a key.
#include <boost/asio/ip/address.hpp>

#include <catch2/catch.hpp>

#include "exporter/auth_throttle.hpp"

using namespace pgpulse::exporter;
using namespace std::chrono_literals;

namespace {

AuthThrottleLimits small() {
  AuthThrottleLimits limits;
  limits.max_in_flight = 2;
  limits.failure_burst = 3;
  limits.refill = 1000ms;
  limits.max_sources = 4;
  return limits;
}

}  // namespace

TEST_CASE("auth throttle - a source gets a burst of failures then one attempt per refill") {
  AuthThrottle throttle(small());
  auto t = AuthThrottle::Clock::time_point{} + 1h;
  for (int i = 0; i < 3; ++i) {
    REQUIRE(throttle.admit("10.0.0.1", t) == 0ms);
    throttle.finish("10.0.0.1", false, t);
  }
  auto wait = throttle.admit("10.0.0.1", t);
  CHECK(wait == 1000ms);                        // Retry-After material
  CHECK(throttle.admit("10.0.0.2", t) == 0ms);  // others are not affected
  CHECK(throttle.admit("10.0.0.1", t + 400ms) == 600ms);
  CHECK(throttle.admit("10.0.0.1", t + 1000ms) == 0ms);  // one token back
  throttle.finish("10.0.0.1", false, t + 1000ms);
  CHECK(throttle.admit("10.0.0.1", t + 1100ms) > 0ms);
}

TEST_CASE("auth throttle - checks in flight are capped and count as failures until done") {
  AuthThrottle throttle(small());
  auto t = AuthThrottle::Clock::time_point{} + 1h;
  CHECK(throttle.admit("a", t) == 0ms);
  CHECK(throttle.admit("a", t) == 0ms);
  CHECK(throttle.admit("a", t) > 0ms);  // two in flight already
  throttle.finish("a", false, t);
  throttle.finish("a", false, t);
  // One failure left: one check may run, not two.
  CHECK(throttle.admit("a", t) == 0ms);
  CHECK(throttle.admit("a", t) > 0ms);
}

TEST_CASE("auth throttle - a success forgets the source") {
  AuthThrottle throttle(small());
  auto t = AuthThrottle::Clock::time_point{} + 1h;
  for (int i = 0; i < 2; ++i) {
    REQUIRE(throttle.admit("a", t) == 0ms);
    throttle.finish("a", false, t);
  }
  REQUIRE(throttle.admit("a", t) == 0ms);
  throttle.finish("a", true, t);
  CHECK(throttle.tracked() == 0);
  for (int i = 0; i < 3; ++i) {
    CHECK(throttle.admit("a", t) == 0ms);
    throttle.finish("a", false, t);
  }
}

TEST_CASE("auth throttle - the table stays bounded - refilled sources go first") {
  AuthThrottle throttle(small());
  auto t = AuthThrottle::Clock::time_point{} + 1h;
  auto fail_out = [&](const std::string& source, AuthThrottle::Clock::time_point at) {
    for (int i = 0; i < 3; ++i) {
      throttle.admit(source, at);
      throttle.finish(source, false, at);
    }
  };
  fail_out("old", t);
  for (int i = 0; i < 3; ++i) fail_out("s" + std::to_string(i), t + 3500ms);
  CHECK(throttle.tracked() == 4);
  // "old" has refilled by t + 4 s: it is forgotten to make room; the others, half a token back,
  // stay throttled.
  fail_out("new", t + 4s);
  CHECK(throttle.tracked() == 4);
  CHECK(throttle.admit("s0", t + 4s) > 0ms);
  // Thousands of sources: never more than the bound, the least recently seen evicted first.
  for (int i = 0; i < 5000; ++i) fail_out("flood" + std::to_string(i), t + 5s);
  CHECK(throttle.tracked() <= 4);
  CHECK(throttle.admit("flood4999", t + 5s) > 0ms);
}

TEST_CASE("auth throttle - source keys - IPv4 - IPv4-mapped - IPv6 by /64") {
  namespace ip = boost::asio::ip;
  CHECK(source_key(ip::make_address("127.0.0.2")) == "127.0.0.2");
  CHECK(source_key(ip::make_address("::ffff:10.1.2.3")) == "10.1.2.3");
  CHECK(source_key(ip::make_address("2001:db8:1:2:aaaa::1")) == "2001:db8:1:2::/64");
  CHECK(source_key(ip::make_address("2001:db8:1:2:bbbb::9")) == "2001:db8:1:2::/64");
  CHECK(source_key(ip::make_address("2001:db8:1:3::1")) != "2001:db8:1:2::/64");
  CHECK(source_key(ip::make_address("::1")) == "::/64");
}
