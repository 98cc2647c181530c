#pragma once
// Trend maths for the idle-leak detector and the exhaustion forecast. Pure: points in, numbers out;
// time is always a parameter.
#include <cstddef>
#include <deque>
#include <optional>
#include <vector>

#include "config/config.hpp"
#include "core/details/idle_trend.hpp"

namespace pgpulse::collectors {

using core::TrendPoint;

struct LinearFit {
  double slope = 0;  // value units per second
  double intercept = 0;
  double r2 = 0;  // coefficient of determination; 0 when the values do not vary
  std::size_t points = 0;
  double span = 0;  // seconds from the first point to the last
};

// Ordinary least squares on the actual timestamps, so gaps and missing samples only thin the data.
LinearFit fit_line(const std::deque<TrendPoint>& points);

// Samples within a sliding time window.
class TrendWindow {
 public:
  void add(double t, double value);
  void prune(double now, double window_seconds);  // drops points older than now - window
  void clear() { points_.clear(); }
  const std::deque<TrendPoint>& points() const { return points_; }

 private:
  std::deque<TrendPoint> points_;
};

// At most max_points points for a sparkline: the window cut into equal time buckets, each one
// represented by its highest value (a spike must survive the thinning) at its last time. The last
// point is always kept, so the line ends at the current value.
std::vector<TrendPoint> thin_for_display(const std::deque<TrendPoint>& points,
                                         std::size_t max_points);

// The idle_trend config section is the rule: window, min_growth_per_minute, min_r2.
using LeakRule = config::IdleTrendConfig;

struct LeakVerdict {
  LinearFit fit;
  double growth_per_minute = 0;
  bool enough_history = false;
  bool suspected = false;
};

// A leak is a steady climb that is still going and has not come back down (docs/signals.md):
//  1. history covers at least half the window, with at least 5 samples;
//  2. the whole-window slope is at least min_growth_per_minute, with R² >= min_r2;
//  3. the recent half of the window still climbs at half that rate or more (a pool that warmed
//     up once and then levelled off stops here);
//  4. the last value is within max(1, 10%) of the window's maximum and above its first value
//     (a pool that grew and was recycled stops here).
LeakVerdict assess_leak(const std::deque<TrendPoint>& points, const LeakRule& rule);

// Seconds until `current` reaches `limit` at the fitted growth rate; nullopt when not growing
// steadily (slope <= 0 or R² < min_r2) or with fewer than 5 samples. 0 when already there.
std::optional<double> exhaustion_eta(const LinearFit& fit, double current, double limit,
                                     double min_r2);

}  // namespace pgpulse::collectors
