#include "exporter/http_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <optional>
#include <stdexcept>

namespace pgpulse::exporter {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const HttpHandler& handler, const HttpLimits& limits,
          std::atomic<std::size_t>& active)
      : stream_(std::move(socket)), handler_(handler), limits_(limits), active_(active) {}
  ~Session() { --active_; }

  void start() { read(); }

  void reject_busy() {
    respond(503, "text/plain; charset=utf-8",
            std::make_shared<const std::string>("too many connections\n"), false);
  }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
    parser_->body_limit(limits_.max_body_bytes);
    stream_.expires_after(std::chrono::seconds(limits_.read_timeout_seconds));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof) {
      return close();
    }
    if (ec == http::error::header_limit) {
      return respond(431, "text/plain; charset=utf-8",
                     std::make_shared<const std::string>("request header fields too large\n"),
                     false);
    }
    if (ec == http::error::body_limit) {
      return respond(413, "text/plain; charset=utf-8",
                     std::make_shared<const std::string>("request body too large\n"), false);
    }
    if (ec) {
      return respond(400, "text/plain; charset=utf-8",
                     std::make_shared<const std::string>("bad request\n"), false);
    }
    auto request = parser_->release();
    HttpResponse response;
    try {
      response = handler_(HttpRequest{std::string(request.method_string()),
                                      std::string(request.target())});
    } catch (const std::exception& e) {
      spdlog::error("http handler failed for {}: {}", std::string(request.target()), e.what());
      response = HttpResponse{500, "text/plain; charset=utf-8",
                              std::make_shared<const std::string>("internal error\n")};
    }
    bool head = request.method() == http::verb::head;
    respond(response.status, response.content_type,
            head ? std::make_shared<const std::string>() : response.body, request.keep_alive());
  }

  void respond(unsigned status, const std::string& content_type,
               std::shared_ptr<const std::string> body, bool keep_alive) {
    body_ = body ? std::move(body) : std::make_shared<const std::string>();
    response_.emplace();
    response_->result(status);
    response_->version(11);
    response_->set(http::field::server, "pgpulse");
    response_->set(http::field::content_type, content_type);
    response_->set(http::field::cache_control, "no-store");
    response_->keep_alive(keep_alive);
    response_->body() = beast::span<const char>(body_->data(), body_->size());
    response_->prepare_payload();
    stream_.expires_after(std::chrono::seconds(30));
    http::async_write(stream_, *response_,
                      beast::bind_front_handler(&Session::on_write, shared_from_this(), keep_alive));
  }

  void on_write(bool keep_alive, beast::error_code ec, std::size_t) {
    if (ec || !keep_alive) return close();
    read();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::span_body<const char>>> response_;
  std::shared_ptr<const std::string> body_;
  const HttpHandler& handler_;
  const HttpLimits& limits_;
  std::atomic<std::size_t>& active_;
};

}  // namespace

struct HttpServer::Impl {
  Impl(HttpHandler h, HttpLimits l) : handler(std::move(h)), limits(l) {}

  void accept() {
    acceptor->async_accept(asio::make_strand(context), [this](beast::error_code ec,
                                                              tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        ++active;
        auto session = std::make_shared<Session>(std::move(socket), handler, limits, active);
        if (active > limits.max_connections) {
          session->reject_busy();
        } else {
          session->start();
        }
      }
      accept();
    });
  }

  HttpHandler handler;
  HttpLimits limits;
  std::atomic<std::size_t> active{0};  // declared before context: sessions outlive neither
  asio::io_context context;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  unsigned short port = 0;
};

HttpServer::HttpServer(HttpHandler handler, HttpLimits limits)
    : impl_(std::make_unique<Impl>(std::move(handler), limits)) {}

HttpServer::~HttpServer() { stop(); }

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
  for (int i = 0; i < impl_->limits.threads; ++i) {
    impl_->threads.emplace_back([this] { impl_->context.run(); });
  }
}

void HttpServer::stop() {
  if (!impl_) return;
  impl_->context.stop();
  for (auto& thread : impl_->threads) thread.join();
  impl_->threads.clear();
}

unsigned short HttpServer::port() const { return impl_->port; }

}  // namespace pgpulse::exporter
