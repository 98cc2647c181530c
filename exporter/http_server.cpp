#include "exporter/http_server.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/error.hpp>

#include <optional>
#include <stdexcept>

#include "exporter/connection.hpp"
#include "exporter/http_session.hpp"

namespace pgpulse::exporter {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// The acceptor and admission: every accepted socket is admitted, after evicting a waiting
// connection when the limit is reached, or refused when every open connection is busy.
struct HttpServer::Impl {
  Impl(HttpHandler handler, HttpLimits limits, const WebConfig& web) {
    state.handler = std::move(handler);
    state.limits = limits;
    state.throttle.emplace(limits.password_throttle);
    state.set_users(web.basic_auth_users);
    if (web.tls) state.tls.emplace(*web.tls);
    state.auth_pool = &auth_pool;
  }

  void accept() {
    acceptor->async_accept(asio::make_strand(context),
                           [this](beast::error_code ec, tcp::socket socket) {
                             if (ec == asio::error::operation_aborted) return;
                             if (ec) {
                               // Out of file descriptors (EMFILE) and friends: accepting again at
                               // once would spin.
                               if (accept_log.due())
                                 spdlog::warn("http: accept failed: {}; retrying", ec.message());
                               retry_timer.expires_after(100ms);
                               retry_timer.async_wait([this](beast::error_code wait_ec) {
                                 if (!wait_ec) accept();
                               });
                               return;
                             }
                             admit(std::move(socket));
                             accept();
                           });
  }

  void admit(tcp::socket socket) {
    if (state.active.load() >= state.limits.max_connections && !evict_one()) {
      reject(socket);
      return;
    }
    // Without it, a response written in pieces (TLS session tickets, then the response) waits
    // for the client's delayed ACK: ~40 ms per new TLS connection instead of ~4.
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    start_connection(state, std::move(socket));
  }

  // Closes the oldest connection that is only waiting on its client.
  bool evict_one() {
    std::shared_ptr<Connection> victim;
    bool claimed = false;
    auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(state.mutex);
      for (Connection* connection : state.connections) {
        if (!connection->claim_eviction(now)) continue;
        claimed = true;
        victim = connection->weak_from_this().lock();  // null: it is already going away
        break;
      }
    }
    if (claimed && state.busy_log.due()) {
      spdlog::warn(
          "http: {} connections open (the limit); closing the oldest idle or slow ones "
          "to admit new clients",
          state.limits.max_connections);
    }
    if (victim) victim->evict();
    return claimed;
  }

  void reject(tcp::socket& socket) {
    if (reject_log.due()) {
      spdlog::warn("http: {} connections open and all busy; refusing new ones",
                   state.limits.max_connections);
    }
    beast::error_code ignored;
    if (!state.tls) {
      static const std::string k503 =
          "HTTP/1.1 503 Service Unavailable\r\nServer: pgpulse\r\nContent-Type: text/plain\r\n"
          "Content-Length: 21\r\nRetry-After: 1\r\nConnection: close\r\n\r\ntoo many connections\n";
      socket.non_blocking(true, ignored);
      socket.write_some(asio::buffer(k503), ignored);
    }
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  // Destruction runs bottom-up: the pool (its queued checks hold sessions) and the context
  // (sessions in its handlers) go before `state`, which sessions use in their destructors.
  ServerState state;
  RateLimitedLog accept_log, reject_log;
  asio::io_context context;
  std::optional<tcp::acceptor> acceptor;
  asio::steady_timer retry_timer{context};
  asio::thread_pool auth_pool{1};
  std::vector<std::thread> threads;
  unsigned short port = 0;
  bool stopped = false;
};

HttpServer::HttpServer(HttpHandler handler, HttpLimits limits, WebConfig web)
    : impl_(std::make_unique<Impl>(std::move(handler), limits, web)) {}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::start(const std::string& listen_address) {
  auto colon = listen_address.rfind(':');
  std::string host = listen_address.substr(0, colon);
  std::string port = listen_address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  beast::error_code ec;
  tcp::resolver resolver(impl_->context);
  auto endpoints = resolver.resolve(host, port, tcp::resolver::passive, ec);
  if (ec || endpoints.empty()) {
    throw std::runtime_error("cannot resolve listen address " + listen_address + ": " +
                             ec.message());
  }
  tcp::endpoint endpoint = endpoints.begin()->endpoint();
  auto& acceptor = impl_->acceptor.emplace(impl_->context);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + listen_address + ": " + ec.message());
  }
  impl_->port = acceptor.local_endpoint().port();
  impl_->accept();
  for (int i = 0; i < impl_->state.limits.threads; ++i) {
    impl_->threads.emplace_back([this] { impl_->context.run(); });
  }
}

void HttpServer::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->context.stop();
  for (auto& thread : impl_->threads) thread.join();
  impl_->threads.clear();
  impl_->auth_pool.stop();
  impl_->auth_pool.join();
}

unsigned short HttpServer::port() const {
  return impl_->port;
}

std::size_t HttpServer::open_connections() const {
  return impl_->state.active.load();
}

void HttpServer::set_basic_auth_users(std::map<std::string, std::string> users) {
  impl_->state.set_users(std::move(users));
}

std::size_t HttpServer::password_checks() const {
  return impl_->state.password_checks.load();
}

}  // namespace pgpulse::exporter
