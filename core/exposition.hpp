#pragma once
// Metric families as collectors build them, and their rendering into Prometheus text format 0.0.4
// at poll time, so that a scrape only concatenates text.
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <prometheus/metric_family.h>

namespace pgpulse::core {

using Family = prometheus::MetricFamily;
// A deque, so the reference add_gauge returns survives adding the next family.
using Families = std::deque<Family>;
using LabelPairs = std::vector<std::pair<std::string, std::string>>;

Family& add_gauge(Families& families, std::string name, std::string help);
Family& add_counter(Families& families, std::string name, std::string help);
void add_sample(Family& family, const LabelPairs& labels, double value);

// Database strings become label values: valid UTF-8 (invalid bytes become U+FFFD, since
// PostgreSQL truncates names at 63 bytes, possibly mid-character) and at most 128 bytes.
std::string sanitize_label_value(std::string_view value);
// The same repair with any byte limit (never cutting a character in two).
std::string repair_utf8(std::string_view value, std::size_t max_bytes);

// One family's text: the "# HELP"/"# TYPE" header apart from the sample lines, so families from
// several targets merge under one header.
struct RenderedFamily {
  std::string name;
  std::string header;
  std::string samples;
};

// Adds target="..." first on every sample (unless target is empty, for process-wide metrics) and
// renders each family with prometheus-cpp's TextSerializer. Families without samples are dropped.
std::vector<RenderedFamily> render_families(std::string_view target, Families families);

}  // namespace pgpulse::core
