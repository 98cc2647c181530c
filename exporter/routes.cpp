#include "exporter/routes.hpp"

#include <chrono>
#include <map>

#include <nlohmann/json.hpp>

#include "exporter/diagnose_page.hpp"
#include "exporter/readiness.hpp"
#include "exporter/status_page.hpp"

namespace pgpulse::exporter {

namespace {

HttpResponse text(unsigned status, std::string body) {
  return HttpResponse{status, "text/plain; charset=utf-8",
                      std::make_shared<const std::string>(std::move(body))};
}

double unix_seconds(std::chrono::system_clock::time_point time) {
  return std::chrono::duration<double>(time.time_since_epoch()).count();
}

HttpResponse json_response(const nlohmann::json& body) {
  return HttpResponse{
      200, "application/json",
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
    auto now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    auto readiness = assess_readiness(store_.view(), now);
    std::string body = readiness.ready ? "ready\n" : "not ready\n";
    for (const auto& reason : readiness.reasons) body += reason + "\n";
    return text(readiness.ready ? 200 : 503, body);
  }
  if (path == "/diagnose") {
    return json_response(collectors::report_json(diagnose_all(store_.view())));
  }
  if (path == "/") {
    auto now = unix_seconds(std::chrono::system_clock::now());
    return HttpResponse{
        200, "text/html; charset=utf-8",
        std::make_shared<const std::string>(render_status_page(store_.view(), now))};
  }
  return text(404, "not found\n");
}

}  // namespace pgpulse::exporter
