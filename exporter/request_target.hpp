#pragma once
// Request targets as RFC 7230 section 5.3 allows them. Servers must accept the absolute form
// ("GET http://host:port/metrics HTTP/1.1", what a client talking to a proxy, or a proxy itself,
// sends) and route it by its path, as the origin form "/metrics". Pure: thread-safe.
#include <string>
#include <string_view>

namespace pgpulse::exporter {

// "/metrics?x" stays as it is; "http://host:9187/metrics?x" (scheme case-insensitive, http or
// https) gives "/metrics?x", and "http://host" or "http://host?x" give "/" and "/?x". Anything
// else ("*", garbage) is returned unchanged, to be answered 404 or 405 as before.
std::string origin_form(std::string_view target);

}  // namespace pgpulse::exporter
