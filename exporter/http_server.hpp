#pragma once
// A small Beast HTTP/1.1 server with hard bounds: concurrent connections, header size, body size
// and per-request time, so slow or hostile clients cannot starve Prometheus' scrapes. Optional TLS
// and basic auth from a web config file (exporter/web_config.hpp).
//
// Connection limit: when max_connections are open, a new connection evicts the oldest one that is
// only waiting on its client: for (or slowly sending) its request, for its TLS close_notify, or
// not reading a response whose write has stalled. So slowloris clients and clients that never
// read cannot lock Prometheus out; only when every open connection is busy answering is the new
// one refused.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "exporter/auth_throttle.hpp"
#include "exporter/web_config.hpp"

namespace pgpulse::exporter {

struct HttpRequest {
  std::string method;
  std::string target;             // path and query
  std::string accept{};           // the Accept header, "" when absent
  std::string accept_encoding{};  // the Accept-Encoding header, "" when absent
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::shared_ptr<const std::string> body;
  std::vector<std::pair<std::string, std::string>> headers{};  // e.g. Content-Encoding, Vary
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpLimits {
  std::size_t max_connections = 512;
  std::size_t max_header_bytes = 8 * 1024;  // request line and headers; more gets 431
  std::size_t max_body_bytes = 4 * 1024;    // more gets 413
  // A request (TLS handshake included) must arrive whole within this, counted from the end of the
  // previous response on a keep-alive connection: slowloris clients and idle keep-alive
  // connections are closed after it.
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds write_timeout{30000};  // a client that does not read its response
  // At the connection limit, a response write that has made no progress for this long (a client
  // that pipelines requests and never reads) makes its connection evictable like a waiting one.
  std::chrono::milliseconds write_stall_timeout{2000};
  std::size_t max_pending_password_checks =
      32;  // bcrypt runs off the I/O threads, this many queued
  // Per source address: checks in flight, and failures before 429 (exporter/auth_throttle.hpp),
  // so that one source's wrong-password flood cannot keep the queue full for everyone.
  AuthThrottleLimits password_throttle;
  int threads = 2;
};

// Paths served without basic auth, and over plain HTTP on a TLS port: liveness probes must not
// need credentials or TLS, and "ok" tells nothing. /readyz names targets and errors, so it is
// protected like /metrics.
inline const std::vector<std::string> kUnauthenticatedPaths{"/healthz"};

// Thread-safety: start() and stop() from the owning thread; port(), open_connections(),
// password_checks() and set_basic_auth_users() from any thread. Owns its I/O threads, the
// password-check thread and every connection; the handler is called on the I/O threads,
// concurrently, and must outlive the server.
class HttpServer {
 public:
  // Throws std::runtime_error when the web config's TLS material does not load.
  HttpServer(HttpHandler handler, HttpLimits limits = {}, WebConfig web = {});
  ~HttpServer();
  // Binds "host:port" (port 0 picks a free one); throws std::runtime_error with the reason.
  void start(const std::string& listen_address);
  void stop();
  unsigned short port() const;
  std::size_t open_connections() const;  // for tests and the soak script's expectations
  std::size_t password_checks() const;   // bcrypt verifications run so far, for tests
  // Replaces the basic-auth users (name -> bcrypt hash) of the running server and empties the
  // auth cache: a removed user or a changed password is refused from the next request on. An
  // empty map turns basic auth off; the daemon's reload refuses to do that.
  void set_basic_auth_users(std::map<std::string, std::string> users);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pgpulse::exporter
