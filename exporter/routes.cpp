#include "exporter/routes.hpp"

#include <chrono>

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
</ul></body></html>
)HTML";

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
