#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace pgpulse::collectors {

// Query text for humans on /activity: literals (strings, dollar-quoted bodies, numbers) become
// "?" and comment bodies "/* ? */" or "-- ?", so customer data in WHERE clauses and secrets in
// comments do not leak to dashboards; runs of white space collapse; the result is cut at
// max_length bytes on a UTF-8 boundary, ending with "...".
std::string normalize_query(std::string_view query, std::size_t max_length);

}  // namespace pgpulse::collectors
