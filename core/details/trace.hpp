#pragma once
// The request behind a query, from the sqlcommenter comment an application framework put in its
// text (traceparent and the common keys): shown next to long queries, idle transactions and lock
// holders, never as a metric label. Every field is "" when the query carries no valid comment.
#include <string>

#include <nlohmann/json.hpp>

namespace pgpulse::core {

struct TraceContext {
  std::string trace_id;  // W3C traceparent: 32 lowercase hex digits
  std::string span_id;   // 16 lowercase hex digits
  std::string route, controller, action, framework, application;
  std::string url;  // tracing.url_template with the ids filled in; "" without a template or id
  bool empty() const {
    return trace_id.empty() && route.empty() && controller.empty() && action.empty() &&
           framework.empty() && application.empty();
  }
  bool operator==(const TraceContext&) const = default;
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TraceContext, trace_id, span_id, route, controller, action,
                                   framework, application, url)

}  // namespace pgpulse::core
