#include "exporter/routes.hpp"

#include <nlohmann/json.hpp>

#include "core/details/horizon.hpp"
#include "core/details/locks.hpp"
#include "core/details/long_queries.hpp"
#include "core/details/rls.hpp"
#include "core/details/statements.hpp"
#include "core/target_view.hpp"
#include "core/time.hpp"
#include "exporter/diagnose_page.hpp"
#include "exporter/readiness.hpp"
#include "exporter/status_page.hpp"

namespace pgpulse::exporter {

namespace {

HttpResponse text(unsigned status, std::string body) {
  return HttpResponse{status, "text/plain; charset=utf-8",
                      std::make_shared<const std::string>(std::move(body))};
}

std::string dump(const nlohmann::json& body) {
  return body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// One collector's details with the time of its poll; null when it has none.
template <class T>
nlohmann::json section(const core::TargetView& target) {
  const auto* snapshot = target.snapshot_of<T>();
  if (!snapshot) return nullptr;
  nlohmann::json json = *snapshot->template details_as<T>();
  json["taken_at_unix"] = core::unix_seconds(snapshot->taken_at);
  return json;
}

// docs/endpoints.md describes both shapes.
std::string tables_json(const core::SnapshotStore::View& view) {
  nlohmann::json targets = nlohmann::json::array();
  for (const auto& target : core::group_by_target(view)) {
    auto rls = section<core::RlsDetails>(target);
    if (rls.is_null()) rls = nlohmann::json::object();
    rls["target"] = target.target;
    targets.push_back(std::move(rls));
  }
  return dump({{"targets", targets}});
}

std::string activity_json(const core::SnapshotStore::View& view) {
  nlohmann::json targets = nlohmann::json::array();
  for (const auto& target : core::group_by_target(view)) {
    targets.push_back({{"target", target.target},
                       {"long_queries", section<core::LongQueriesDetails>(target)},
                       {"locks", section<core::LocksDetails>(target)},
                       {"horizon", section<core::HorizonDetails>(target)}});
  }
  return dump({{"targets", targets}});
}

std::string statements_json(const core::SnapshotStore::View& view) {
  nlohmann::json targets = nlohmann::json::array();
  for (const auto& target : core::group_by_target(view)) {
    targets.push_back(
        {{"target", target.target}, {"statements", section<core::StatementsDetails>(target)}});
  }
  return dump({{"targets", targets}});
}

}  // namespace

HttpResponse Routes::handle(const HttpRequest& request) {
  if (request.method != "GET" && request.method != "HEAD") {
    return text(405, "method not allowed\n");
  }
  std::string path = request.target.substr(0, request.target.find('?'));
  const char* json_type = "application/json";
  if (path == "/metrics") {
    // The text format or OpenMetrics, gzip-compressed when the client takes it (Prometheus asks
    // for both); every variant is cached per store generation.
    auto format = negotiate_format(request.accept);
    bool gzipped = accepts_gzip(request.accept_encoding);
    HttpResponse response{
        200, format == MetricsFormat::OpenMetrics ? kOpenMetricsContentType : kTextContentType,
        metrics_.body(format, gzipped)};
    response.headers.push_back({"Vary", "Accept, Accept-Encoding"});
    if (gzipped) response.headers.push_back({"Content-Encoding", "gzip"});
    return response;
  }
  if (path == "/healthz") return text(200, "ok\n");
  if (path == "/tables") return HttpResponse{200, json_type, tables_.get(store_, tables_json)};
  if (path == "/activity") {
    return HttpResponse{200, json_type, activity_.get(store_, activity_json)};
  }
  if (path == "/statements") {
    return HttpResponse{200, json_type, statements_.get(store_, statements_json)};
  }
  if (path == "/readyz") {
    auto readiness = assess_readiness(store_.view(), core::unix_now());
    std::string body = readiness.ready ? "ready\n" : "not ready\n";
    for (const auto& reason : readiness.reasons) body += reason + "\n";
    for (const auto& note : readiness.notes) body += note + "\n";
    return text(readiness.ready ? 200 : 503, body);
  }
  if (path == "/diagnose") {
    return HttpResponse{200, json_type, diagnose_.get(store_, [this](const auto& view) {
                          return dump(analysis::report_json(diagnose_all(view),
                                                            {binary_version_, core::unix_now()}));
                        })};
  }
  if (path == "/") {
    return HttpResponse{200, "text/html; charset=utf-8", status_.get(store_, [](const auto& view) {
                          return render_status_page(view, core::unix_now());
                        })};
  }
  return text(404, "not found\n");
}

}  // namespace pgpulse::exporter
