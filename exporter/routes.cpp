#include "exporter/routes.hpp"

#include <chrono>
#include <map>

#include <nlohmann/json.hpp>

#include "exporter/readiness.hpp"

namespace pgpulse::exporter {

namespace {

HttpResponse text(unsigned status, std::string body) {
  return HttpResponse{status, "text/plain; charset=utf-8",
                      std::make_shared<const std::string>(std::move(body))};
}

const char* const kIndexPage = R"HTML(<!doctype html>
<html><head><meta charset="utf-8"><title>pgpulse</title></head>
<body><h1>pgpulse</h1><ul>
<li><a href="/metrics">/metrics</a> Prometheus metrics</li>
<li><a href="/healthz">/healthz</a> process liveness</li>
<li><a href="/readyz">/readyz</a> every target connected and fresh</li>
<li><a href="/activity">/activity</a> longest queries and transactions, blocking tree (JSON)</li>
<li><a href="/tables">/tables</a> unprotected tenant tables, seq-scan-heavy tables (JSON)</li>
</ul></body></html>
)HTML";

double unix_seconds(std::chrono::system_clock::time_point time) {
  return std::chrono::duration<double>(time.time_since_epoch()).count();
}

HttpResponse json_response(const nlohmann::json& body) {
  return HttpResponse{200, "application/json",
                      std::make_shared<const std::string>(
                          body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n")};
}

// Per target, the named collectors' details as they were at their last successful poll.
nlohmann::json details_by_target(const collectors::SnapshotStore::View& view,
                                 const std::vector<std::string>& collector_names) {
  std::map<std::string, nlohmann::json> targets;
  for (const auto& snapshot : view.snapshots) {
    if (snapshot->target.empty()) continue;
    auto& target = targets[snapshot->target];
    if (target.is_null()) target = {{"target", snapshot->target}};
    for (const auto& name : collector_names) {
      if (snapshot->collector != name || !snapshot->details.is_object()) continue;
      for (const auto& [key, value] : snapshot->details.items()) target[key] = value;
      target["taken_at_unix"] = unix_seconds(snapshot->taken_at);
    }
  }
  nlohmann::json list = nlohmann::json::array();
  for (auto& [name, target] : targets) list.push_back(std::move(target));
  return {{"targets", list}};
}

}  // namespace

HttpResponse Routes::handle(const HttpRequest& request) {
  if (request.method != "GET" && request.method != "HEAD") {
    return text(405, "method not allowed\n");
  }
  std::string path = request.target.substr(0, request.target.find('?'));
  if (path == "/metrics") {
    return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", metrics_.body()};
  }
  if (path == "/healthz") return text(200, "ok\n");
  if (path == "/tables") return json_response(details_by_target(store_.view(), {"rls"}));
  if (path == "/activity") {
    return json_response(details_by_target(store_.view(), {"long_queries", "locks"}));
  }
  if (path == "/readyz") {
    auto now = std::chrono::duration<double>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    auto readiness = assess_readiness(store_.view(), now);
    std::string body = readiness.ready ? "ready\n" : "not ready\n";
    for (const auto& reason : readiness.reasons) body += reason + "\n";
    return text(readiness.ready ? 200 : 503, body);
  }
  if (path == "/") {
    return HttpResponse{200, "text/html; charset=utf-8",
                        std::make_shared<const std::string>(kIndexPage)};
  }
  return text(404, "not found\n");
}

}  // namespace pgpulse::exporter
