#pragma once
// sqlcommenter (https://google.github.io/sqlcommenter/spec/): frameworks (SQLAlchemy, Django,
// Rails, Spring, OpenTelemetry) put the request behind a query into a comment of its text:
//   SELECT ... /*action='show',route='%2Fapi%2Ftickets',traceparent='00-<trace>-<span>-01'*/
// Read from pg_stat_activity's raw text before normalize_query() removes comment bodies, and
// only shown on /activity, /diagnose and the status page: never a metric label.
#include <string>
#include <string_view>

#include "core/details/trace.hpp"

namespace pgpulse::collectors {

// Pure. The fields of the first well-formed sqlcommenter comment in `query` (a block comment
// outside string literals, quoted identifiers and dollar quotes, made of key='value' pairs joined
// by commas, URL-encoded, with \' escapes); an empty TraceContext when there is none. A comment
// that is not well-formed is ignored whole; an invalid traceparent (not 00-32hex-16hex-2hex,
// version ff, all-zero ids) is dropped while the other keys stay; values with control characters
// are dropped, the others are cut at 256 bytes on a UTF-8 boundary. Never throws.
core::TraceContext parse_sqlcommenter(std::string_view query);

// tracing.url_template with {trace_id} and {span_id} replaced; "" without a template or a trace
// id. The ids are hex digits only, so the link cannot carry anything else from the query.
std::string trace_url(const std::string& url_template, const core::TraceContext& trace);

// Both: the context of a query for display, with its link.
core::TraceContext trace_context(std::string_view query, const std::string& url_template);

}  // namespace pgpulse::collectors
