#include <catch2/catch.hpp>

#include <cmath>

#include "collectors/trend.hpp"

using namespace pgpulse::collectors;
using namespace pgpulse::core;

namespace {

std::deque<TrendPoint> series(int n, double step_seconds, const std::function<double(int)>& f,
                              double t0 = 1.7e9) {
  std::deque<TrendPoint> points;
  for (int i = 0; i < n; ++i) points.push_back({t0 + i * step_seconds, f(i)});
  return points;
}

const LeakRule kRule{std::chrono::seconds(600), 0.5, 0.8};  // 10-minute window

}  // namespace

TEST_CASE("least squares recovers a straight line exactly") {
  auto points = series(10, 15, [](int i) { return 3 + 0.25 * i; });  // +1 per minute
  auto fit = fit_line(points);
  CHECK(fit.slope * 60 == Approx(1.0));
  CHECK(fit.r2 == Approx(1.0));
  CHECK(fit.points == 10);
  CHECK(fit.span == 135);
}

TEST_CASE("a flat series has no slope and explains nothing") {
  auto fit = fit_line(series(20, 15, [](int) { return 7; }));
  CHECK(fit.slope == 0);
  CHECK(fit.r2 == 0);
  CHECK_FALSE(assess_leak(series(41, 15, [](int) { return 7; }), kRule).suspected);
}

TEST_CASE("a steady climb over the window is a suspected leak") {
  auto verdict = assess_leak(series(41, 15, [](int i) { return 10 + i * 0.5; }), kRule);  // 2/min
  CHECK(verdict.enough_history);
  CHECK(verdict.growth_per_minute == Approx(2.0));
  CHECK(verdict.suspected);
}

TEST_CASE("a noisy but steady climb is still a leak") {
  auto verdict =
      assess_leak(series(41, 15, [](int i) { return 10 + i * 0.5 + (i % 2 ? 1 : -1); }), kRule);
  CHECK(verdict.fit.r2 > 0.9);
  CHECK(verdict.suspected);
}

TEST_CASE("a pool that warmed up once and levelled off is not a leak") {
  // 20 connections opened in the first two minutes, then flat for eight.
  auto verdict = assess_leak(series(41, 15, [](int i) { return std::min(20, i * 2); }), kRule);
  CHECK_FALSE(verdict.suspected);
}

TEST_CASE("a sawtooth (pool recycled) is not a leak") {
  auto verdict = assess_leak(series(41, 15, [](int i) { return (i % 10) * 2; }), kRule);
  CHECK_FALSE(verdict.suspected);
}

TEST_CASE("a climb that came back down is not a leak") {
  auto verdict = assess_leak(series(41, 15, [](int i) { return i < 36 ? i : 5; }), kRule);
  CHECK_FALSE(verdict.suspected);
}

TEST_CASE("a reset to zero (pool restart) clears the flag until the climb resumes") {
  auto reset = series(41, 15, [](int i) { return i < 40 ? 10 + i * 1.0 : 0.0; });
  CHECK_FALSE(assess_leak(reset, kRule).suspected);
  auto resumed = series(41, 15, [](int i) { return i < 10 ? 0.0 + i : 10 + (i - 10) * 1.0; });
  CHECK(assess_leak(resumed, kRule).suspected);
}

TEST_CASE("gaps and missing samples only thin the data") {
  std::deque<TrendPoint> points;
  for (int i = 0; i < 41; ++i) {
    if (i % 3 == 1 || (i > 15 && i < 25)) continue;  // every third lost, and a long outage
    points.push_back({1.7e9 + i * 15, 10 + 0.5 * i});
  }
  auto verdict = assess_leak(points, kRule);
  CHECK(verdict.growth_per_minute == Approx(2.0));
  CHECK(verdict.suspected);
}

TEST_CASE("too little history never flags") {
  auto short_series = series(10, 15, [](int i) { return i * 5; });  // 135s of a 600s window
  auto verdict = assess_leak(short_series, kRule);
  CHECK_FALSE(verdict.enough_history);
  CHECK_FALSE(verdict.suspected);
}

TEST_CASE("slow growth under the threshold is not a leak") {
  auto verdict =
      assess_leak(series(41, 15, [](int i) { return 10 + i * 0.05; }), kRule);  // 0.2/min
  CHECK(verdict.fit.r2 == Approx(1.0));
  CHECK_FALSE(verdict.suspected);
}

TEST_CASE("the window drops old points and a clock step backwards restarts it") {
  TrendWindow window;
  for (int i = 0; i < 10; ++i) window.add(100 + i * 10, i);
  window.prune(190, 45);
  CHECK(window.points().size() == 5);  // 150..190
  CHECK(window.points().front().t == 150);
  window.add(120, 1);
  CHECK(window.points().size() == 1);
}

TEST_CASE("exhaustion ETA follows the fitted growth") {
  auto fit = fit_line(series(11, 60, [](int i) { return 50 + 2 * i; }));  // 2 per minute, now 70
  auto eta = exhaustion_eta(fit, 70, 97, 0.8);
  REQUIRE(eta.has_value());
  CHECK(*eta == Approx(27 * 30.0));  // 27 slots at 1 per 30 s
  CHECK(exhaustion_eta(fit, 97, 97, 0.8) == 0.0);
  CHECK_FALSE(exhaustion_eta(fit_line(series(11, 60, [](int) { return 50; })), 50, 97, 0.8));
  CHECK_FALSE(exhaustion_eta(fit_line(series(11, 60, [](int i) { return 90 - i; })), 80, 97, 0.8));
  CHECK_FALSE(exhaustion_eta(fit_line(series(3, 60, [](int i) { return i; })), 2, 97, 0.8));
}

TEST_CASE("a sparkline thins a full window but keeps its spike and its last value") {
  auto points = series(900, 1, [](int i) { return i == 437 ? 95.0 : 10.0 + (i % 3); });
  points.back().value = 42;
  auto thinned = thin_for_display(points, 120);
  CHECK(thinned.size() <= 120);
  CHECK(thinned.size() >= 100);
  CHECK(thinned.back().t == points.back().t);
  CHECK(thinned.back().value == 42);
  double highest = 0;
  for (std::size_t i = 0; i < thinned.size(); ++i) {
    highest = std::max(highest, thinned[i].value);
    if (i > 0) CHECK(thinned[i].t > thinned[i - 1].t);
  }
  CHECK(highest == 95);
}

TEST_CASE("a short window is drawn as it is and degenerate inputs stay bounded") {
  auto points = series(30, 1, [](int i) { return i; });
  CHECK(thin_for_display(points, 120).size() == 30);
  CHECK(thin_for_display(points, 0).empty());
  CHECK(thin_for_display(points, 1).size() == 1);
  std::deque<TrendPoint> same_time(500, TrendPoint{1.7e9, 3});
  auto collapsed = thin_for_display(same_time, 120);
  REQUIRE(collapsed.size() == 1);
  CHECK(collapsed.front().value == 3);
}

// Each leak rule of assess_leak() (collectors/trend.hpp) has a case that only it rejects: the
// series below pass every other rule, so deleting the rule under test turns the case red.
TEST_CASE("rule 3 alone: a climb that stopped in the recent half of the window is not a leak") {
  const LeakRule rule{std::chrono::seconds(600), 2.0, 0.8};  // the recent half must climb >= 1/min
  // +4/min for six minutes, then flat for four: whole-window slope 2.6/min, R² 0.88.
  auto points = series(41, 15, [](int i) { return std::min(24, i); });
  auto verdict = assess_leak(points, rule);
  REQUIRE(verdict.enough_history);
  CHECK(verdict.growth_per_minute >= rule.min_growth_per_minute);  // rule 2 holds
  CHECK(verdict.fit.r2 >= rule.min_r2);
  CHECK(points.back().value == 24);  // rule 4 holds: the last value is the peak
  CHECK_FALSE(verdict.suspected);
}

TEST_CASE("rule 4 alone: a climb whose last value fell well below its peak is not a leak") {
  // +4/min for ten minutes, then the pool gave back ten connections in the last sample.
  auto points = series(41, 15, [](int i) { return i < 40 ? 10.0 + i : 40.0; });
  auto verdict = assess_leak(points, kRule);
  REQUIRE(verdict.enough_history);
  CHECK(verdict.fit.r2 >= kRule.min_r2);  // rules 1-3 hold: steady and still climbing recently
  CHECK(verdict.growth_per_minute >= kRule.min_growth_per_minute);
  CHECK_FALSE(verdict.suspected);
  points.back().value = 49;  // within 10% of the peak: the same climb is a leak
  CHECK(assess_leak(points, kRule).suspected);
}

TEST_CASE("rule 2 alone, slope: a steady climb slower than min_growth_per_minute is not a leak") {
  // +0.4/min, a perfect line ending at its peak: rules 1, 3 (0.4 >= 0.25) and 4 hold.
  auto verdict = assess_leak(series(41, 15, [](int i) { return 10 + i * 0.1; }), kRule);
  REQUIRE(verdict.enough_history);
  CHECK(verdict.fit.r2 == Approx(1.0));
  CHECK(verdict.growth_per_minute == Approx(0.4));
  CHECK_FALSE(verdict.suspected);
}

TEST_CASE("rule 2 alone, R²: a climb too noisy to call steady is not a leak") {
  // +1/min under ±4 of alternating noise (R² 0.4), ending at its peak: rules 1, 3, 4 hold.
  auto points = series(41, 15, [](int i) { return 10 + 0.25 * i + (i % 2 ? 4 : -4); });
  points.back().value = 23.75;
  auto verdict = assess_leak(points, kRule);
  REQUIRE(verdict.enough_history);
  CHECK(verdict.growth_per_minute >= kRule.min_growth_per_minute);
  CHECK(verdict.fit.r2 < kRule.min_r2);
  CHECK_FALSE(verdict.suspected);
}
