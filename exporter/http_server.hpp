#pragma once
// A small Beast HTTP/1.1 server with hard bounds: concurrent connections, header size, body size
// and per-request time, so slow or hostile clients cannot starve Prometheus' scrapes.
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace pgpulse::exporter {

struct HttpRequest {
  std::string method;
  std::string target;  // path and query
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::shared_ptr<const std::string> body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpLimits {
  std::size_t max_connections = 512;
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_body_bytes = 4 * 1024;
  int read_timeout_seconds = 10;  // a request must arrive whole within this (slowloris)
  int threads = 2;
};

class HttpServer {
 public:
  HttpServer(HttpHandler handler, HttpLimits limits = {});
  ~HttpServer();
  // Binds "host:port" (port 0 picks a free one); throws std::runtime_error with the reason.
  void start(const std::string& listen_address);
  void stop();
  unsigned short port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pgpulse::exporter
