#include "collectors/trend.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace pgpulse::collectors {

LinearFit fit_line(const std::deque<TrendPoint>& points) {
  LinearFit fit;
  fit.points = points.size();
  if (points.empty()) return fit;
  fit.span = points.back().t - points.front().t;
  if (points.size() < 2) {
    fit.intercept = points.front().value;
    return fit;
  }
  // Centre the times first: epoch seconds squared would lose precision in doubles.
  double t0 = points.front().t;
  double n = static_cast<double>(points.size());
  double sum_t = 0, sum_v = 0;
  for (const auto& p : points) {
    sum_t += p.t - t0;
    sum_v += p.value;
  }
  double mean_t = sum_t / n, mean_v = sum_v / n;
  double stt = 0, stv = 0, svv = 0;
  for (const auto& p : points) {
    double dt = p.t - t0 - mean_t, dv = p.value - mean_v;
    stt += dt * dt;
    stv += dt * dv;
    svv += dv * dv;
  }
  if (stt <= 0) {
    fit.intercept = mean_v;
    return fit;
  }
  fit.slope = stv / stt;
  fit.intercept = mean_v - fit.slope * (mean_t + t0);
  fit.r2 = svv > 0 ? (stv * stv) / (stt * svv) : 0.0;
  return fit;
}

void TrendWindow::add(double t, double value) {
  // A clock step backwards would corrupt the fit; start over from here.
  if (!points_.empty() && t <= points_.back().t) points_.clear();
  points_.push_back(TrendPoint{t, value});
}

std::vector<TrendPoint> thin_for_display(const std::deque<TrendPoint>& points,
                                         std::size_t max_points) {
  if (points.size() <= max_points) return {points.begin(), points.end()};
  if (max_points == 0) return {};
  // max_points - 1 buckets before the last point; the clamp keeps rounding from adding one more.
  double t0 = points.front().t;
  double width = (points.back().t - t0) / static_cast<double>(max_points - 1);
  if (max_points == 1 || !(width > 0)) return {points.back()};
  std::vector<TrendPoint> thinned;
  thinned.reserve(max_points);
  std::size_t current_bucket = max_points;  // none yet
  for (std::size_t i = 0; i + 1 < points.size(); ++i) {
    auto bucket = std::min(static_cast<std::size_t>((points[i].t - t0) / width), max_points - 2);
    if (bucket != current_bucket) {
      thinned.push_back(points[i]);
      current_bucket = bucket;
    } else {
      thinned.back().t = points[i].t;
      thinned.back().value = std::max(thinned.back().value, points[i].value);
    }
  }
  thinned.push_back(points.back());
  return thinned;
}

void TrendWindow::prune(double now, double window_seconds) {
  while (!points_.empty() && points_.front().t < now - window_seconds) points_.pop_front();
}

LeakVerdict assess_leak(const std::deque<TrendPoint>& points, const LeakRule& rule) {
  LeakVerdict verdict;
  verdict.fit = fit_line(points);
  verdict.growth_per_minute = verdict.fit.slope * 60.0;
  verdict.enough_history =
      points.size() >= 5 &&
      verdict.fit.span >= std::chrono::duration<double>(rule.window).count() / 2;
  if (!verdict.enough_history) return verdict;
  if (verdict.growth_per_minute < rule.min_growth_per_minute || verdict.fit.r2 < rule.min_r2) {
    return verdict;
  }
  double half_start = points.back().t - verdict.fit.span / 2;
  std::deque<TrendPoint> recent;
  for (const auto& p : points) {
    if (p.t >= half_start) recent.push_back(p);
  }
  if (recent.size() < 3 || fit_line(recent).slope * 60.0 < rule.min_growth_per_minute / 2) {
    return verdict;
  }
  double peak = 0;
  for (const auto& p : points) peak = std::max(peak, p.value);
  double last = points.back().value;
  verdict.suspected = last >= peak - std::max(1.0, 0.1 * peak) && last > points.front().value;
  return verdict;
}

std::optional<double> exhaustion_eta(const LinearFit& fit, double current, double limit,
                                     double min_r2) {
  if (current >= limit) return 0.0;
  if (fit.points < 5 || fit.slope <= 0 || fit.r2 < min_r2) return std::nullopt;
  return (limit - current) / fit.slope;
}

}  // namespace pgpulse::collectors
