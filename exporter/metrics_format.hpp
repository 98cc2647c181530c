#pragma once
// What a /metrics client asked for (Accept, Accept-Encoding) and the bodies that answer it: the
// Prometheus text format 0.0.4 pgpulse renders, that text as OpenMetrics 1.0.0, and either
// gzip-compressed. Pure functions; exporter/metrics_page.hpp caches their results.
#include <string>
#include <string_view>

namespace pgpulse::exporter {

enum class MetricsFormat { Text, OpenMetrics };

inline constexpr const char* kTextContentType = "text/plain; version=0.0.4; charset=utf-8";
inline constexpr const char* kOpenMetricsContentType =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

// OpenMetrics when the Accept header prefers application/openmetrics-text (version 1.0.0, 0.0.1
// or none) to text/plain and */*, as Prometheus' own Accept does; the text format otherwise.
MetricsFormat negotiate_format(std::string_view accept);

// True when Accept-Encoding accepts gzip (gzip, x-gzip or *, with a q above 0).
bool accepts_gzip(std::string_view accept_encoding);

// The text format as OpenMetrics: counters' families named without their _total suffix (their
// samples keep it), untyped families as unknown, '"' escaped in HELP, NaN spelled NaN,
// millisecond timestamps in seconds, and "# EOF" at the end.
std::string to_openmetrics(std::string_view text);

// gzip (RFC 1952) of `data`; throws std::runtime_error if zlib fails.
std::string gzip(std::string_view data);

}  // namespace pgpulse::exporter
