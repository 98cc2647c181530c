#include "exporter/http_session.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detect_ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <array>
#include <vector>

#include "exporter/basic_auth.hpp"
#include "exporter/request_target.hpp"

namespace pgpulse::exporter {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

const char* const kTextType = "text/plain; charset=utf-8";
using Headers = std::vector<std::pair<std::string, std::string>>;

std::shared_ptr<const std::string> text(const char* body) {
  return std::make_shared<const std::string>(body);
}

bool is_parse_error(const beast::error_code& ec) {
  static const auto& category = beast::error_code(http::error::bad_target).category();
  return ec.category() == category && ec != http::error::end_of_stream &&
         ec != http::error::partial_message;
}

template <class Derived>
class HttpSession : public Connection {
 public:
  HttpSession(ServerState& state, beast::flat_buffer buffer, bool tls_expected)
      : Connection(state), buffer_(std::move(buffer)), tls_expected_(tls_expected) {}

 protected:
  Derived& derived() { return static_cast<Derived&>(*this); }
  std::shared_ptr<Derived> self() {
    return std::static_pointer_cast<Derived>(this->shared_from_this());
  }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(derived().stream()); }
  asio::any_io_executor executor() override { return lowest().get_executor(); }

  void close_now() override {
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
  }

  void do_read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(state_.limits.max_header_bytes));
    parser_->body_limit(state_.limits.max_body_bytes);
    lowest().expires_after(state_.limits.read_timeout);
    http::async_read(derived().stream(), buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::on_read, self()));
  }

 private:
  void on_read(beast::error_code ec, std::size_t) {
    if (!become_busy()) return;  // evicted: the close is queued behind this handler
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      return respond(431, text("request header fields too large\n"), false);
    }
    if (ec == http::error::body_limit) {
      return respond(413, text("request body too large\n"), false);
    }
    if (is_parse_error(ec)) return respond(400, text("bad request\n"), false);
    if (ec) return derived().shutdown();  // timeout, reset, end of stream
    request_ = parser_->release();
    target_ = origin_form(std::string_view(request_.target().data(), request_.target().size()));
    std::string path = target_.substr(0, target_.find('?'));
    bool open = std::find(kUnauthenticatedPaths.begin(), kUnauthenticatedPaths.end(), path) !=
                kUnauthenticatedPaths.end();
    // Plain HTTP on the TLS port: only the open paths (/healthz, for probes that cannot speak
    // TLS, such as the image's HEALTHCHECK); everything else is refused in the clear.
    if (tls_expected_ && !open) {
      return respond(400, text("Client sent an HTTP request to an HTTPS server.\n"), false);
    }
    auto users = state_.users();
    if (users->hashes.empty() || open) return serve();
    authenticate(*users);
  }

  void authenticate(const AuthUsers& users) {
    auto header = request_[http::field::authorization];
    auto credentials = parse_basic_auth(std::string_view(header.data(), header.size()));
    if (!credentials) return unauthorized();
    auto user = users.hashes.find(credentials->user);
    bool known = user != users.hashes.end();
    const std::string& hash = known ? user->second : users.dummy_hash;
    auto key = AuthCache::key(*credentials, hash);
    if (known && state_.auth_cache.contains(key)) return serve();
    if (state_.pending_checks.load() >= state_.limits.max_pending_password_checks) {
      return respond(503, text("too many password checks in progress, retry\n"), false,
                     {{"Retry-After", "1"}});
    }
    auto source = peer_source();
    auto wait = state_.throttle->admit(source, std::chrono::steady_clock::now());
    if (wait.count() > 0) return throttled(source, wait);
    ++state_.pending_checks;
    become_waiting();  // evictable while its bcrypt waits its turn
    asio::post(*state_.auth_pool, [self = self(), credentials = std::move(*credentials), hash,
                                   known, key = std::move(key), source = std::move(source)] {
      bool ok = verify_bcrypt(credentials.password, hash) && known;
      ++self->state_.password_checks;
      self->state_.throttle->finish(source, ok, std::chrono::steady_clock::now());
      --self->state_.pending_checks;
      asio::post(self->executor(), [self, ok, key] { self->on_checked(ok, key); });
    });
  }

  // The throttling key of the peer; one shared key when the socket cannot tell (already reset).
  std::string peer_source() {
    beast::error_code ec;
    auto endpoint = lowest().socket().remote_endpoint(ec);
    return ec ? std::string("unknown") : source_key(endpoint.address());
  }

  void throttled(const std::string& source, std::chrono::milliseconds wait) {
    if (state_.throttle_log.due()) {
      spdlog::warn(
          "http: repeated failed basic-auth logins from {}; answering 429 to it until it slows "
          "down",
          source);
    }
    auto seconds = std::to_string((wait.count() + 999) / 1000);
    respond(429, text("too many failed logins, retry later\n"), false, {{"Retry-After", seconds}});
  }

  void on_checked(bool ok, const std::string& key) {
    if (!become_busy()) return;
    if (!ok) return unauthorized();
    state_.auth_cache.insert(key);
    serve();
  }

  void unauthorized() {
    respond(401, text("unauthorized\n"), request_.keep_alive(),
            {{"WWW-Authenticate", "Basic realm=\"pgpulse\", charset=\"UTF-8\""}});
  }

  void serve() {
    HttpResponse response;
    try {
      response = state_.handler(HttpRequest{std::string(request_.method_string()), target_,
                                            std::string(request_[http::field::accept]),
                                            std::string(request_[http::field::accept_encoding])});
    } catch (const std::exception& e) {
      spdlog::error("http handler failed: {}", e.what());
      response = HttpResponse{500, kTextType, text("internal error\n")};
    }
    bool head = request_.method() == http::verb::head;
    respond(response.status, head ? std::make_shared<const std::string>() : response.body,
            request_.keep_alive(), response.headers, response.content_type);
  }

  void respond(unsigned status, std::shared_ptr<const std::string> body, bool keep_alive,
               const Headers& headers = {}, const std::string& content_type = kTextType) {
    body_ = body ? std::move(body) : std::make_shared<const std::string>();
    response_.emplace();
    response_->result(status);
    response_->version(11);
    response_->set(http::field::server, "pgpulse");
    response_->set(http::field::content_type, content_type);
    response_->set(http::field::cache_control, "no-store");
    for (const auto& [name, value] : headers) response_->set(name, value);
    response_->keep_alive(keep_alive);
    response_->body() = beast::span<const char>(body_->data(), body_->size());
    response_->prepare_payload();
    serializer_.emplace(*response_);
    lowest().expires_after(state_.limits.write_timeout);
    write_started();
    write_some(keep_alive);
  }

  // http::async_write's loop, written out so that each piece written counts as progress: a client
  // that reads slowly is not stalled, one that stopped reading is (Connection::claim_eviction).
  void write_some(bool keep_alive) {
    http::async_write_some(
        derived().stream(), *serializer_,
        beast::bind_front_handler(&HttpSession::on_write_some, self(), keep_alive));
  }

  void on_write_some(bool keep_alive, beast::error_code ec, std::size_t written) {
    if (!ec && !serializer_->is_done()) {
      if (written > 0) write_progressed();
      return write_some(keep_alive);
    }
    write_ended();
    on_write(keep_alive, ec);
  }

  void on_write(bool keep_alive, beast::error_code ec) {
    serializer_.reset();
    response_.reset();
    body_.reset();
    if (ec) return close_now();
    if (!keep_alive) return derived().shutdown();
    if (!become_waiting()) return;
    do_read();
  }

 protected:
  beast::flat_buffer buffer_;

 private:
  bool tls_expected_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> request_;
  std::string target_;  // the request's target in origin form ("/metrics?x")
  std::optional<http::response<http::span_body<const char>>> response_;
  std::optional<http::response_serializer<http::span_body<const char>>> serializer_;
  std::shared_ptr<const std::string> body_;
};

class PlainSession : public HttpSession<PlainSession> {
 public:
  PlainSession(ServerState& state, beast::tcp_stream&& stream, beast::flat_buffer&& buffer,
               bool tls_expected)
      : HttpSession(state, std::move(buffer), tls_expected), stream_(std::move(stream)) {}
  beast::tcp_stream& stream() { return stream_; }

  void run() override {
    enroll();
    asio::dispatch(stream_.get_executor(), [self = self()] { self->do_read(); });
  }

  // Half-closes, then reads and discards what the client still sends for up to a second (64 KiB)
  // before closing: closing with unread bytes would send a reset that can destroy the response
  // (a 431 or 413) before the client reads it.
  void shutdown() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (!become_waiting()) return;  // evicted meanwhile: the close is queued
    drain_ = std::make_unique<std::array<char, 4096>>();
    stream_.expires_after(1s);
    drain();
  }

 private:
  void drain() {
    stream_.async_read_some(asio::buffer(*drain_),
                            [self = self()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > 64 * 1024) return self->stream_.close();
                              self->drain();
                            });
  }

  beast::tcp_stream stream_;
  std::unique_ptr<std::array<char, 4096>> drain_;
  std::size_t drained_ = 0;
};

class TlsSession : public HttpSession<TlsSession> {
 public:
  TlsSession(ServerState& state, beast::tcp_stream&& stream, std::shared_ptr<ssl::context> context,
             beast::flat_buffer&& buffer)
      : HttpSession(state, std::move(buffer), false),
        context_(std::move(context)),
        stream_(std::move(stream), *context_) {}
  beast::ssl_stream<beast::tcp_stream>& stream() { return stream_; }

  void run() override {
    enroll();
    asio::dispatch(stream_.get_executor(), [self = self()] {
      self->lowest().expires_after(self->state_.limits.read_timeout);
      self->stream_.async_handshake(ssl::stream_base::server, self->buffer_.data(),
                                    beast::bind_front_handler(&TlsSession::on_handshake, self));
    });
  }

  // Waits up to 2 s for the client's close_notify. Waiting on the client, so evictable: clients
  // that ask for a close and then never read or answer must not hold "busy" slots.
  void shutdown() {
    if (!become_waiting()) return;  // evicted meanwhile: the close is queued
    lowest().expires_after(2s);
    stream_.async_shutdown([self = self()](beast::error_code) { self->lowest().close(); });
  }

 private:
  void on_handshake(beast::error_code ec, std::size_t used) {
    if (ec) {
      if (!evicted()) close_now();
      return;
    }
    buffer_.consume(used);
    do_read();
  }

  std::shared_ptr<ssl::context> context_;  // before stream_: the stream's SSL refers to it
  beast::ssl_stream<beast::tcp_stream> stream_;
};

// On a TLS port: peeks at the first bytes, then hands the connection to a TLS session, or to a
// plain one that answers 400 to an http:// request (as Go's servers do).
class Detector : public Connection {
 public:
  Detector(ServerState& state, tcp::socket&& socket, std::size_t buffer_limit)
      : Connection(state), stream_(std::move(socket)), buffer_(buffer_limit) {}

  void run() override {
    enroll();
    asio::dispatch(stream_.get_executor(),
                   [self = std::static_pointer_cast<Detector>(shared_from_this())] {
                     self->stream_.expires_after(self->state_.limits.read_timeout);
                     beast::async_detect_ssl(self->stream_, self->buffer_,
                                             beast::bind_front_handler(&Detector::on_detect, self));
                   });
  }

 protected:
  asio::any_io_executor executor() override { return stream_.get_executor(); }
  void close_now() override {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

 private:
  void on_detect(beast::error_code ec, bool is_tls) {
    if (!become_busy()) return;  // evicted
    if (ec) return close_now();
    if (is_tls) {
      std::make_shared<TlsSession>(state_, std::move(stream_), state_.tls->current(),
                                   std::move(buffer_))
          ->run();
    } else {
      std::make_shared<PlainSession>(state_, std::move(stream_), std::move(buffer_), true)->run();
    }
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

}  // namespace

void start_connection(ServerState& state, tcp::socket socket) {
  std::size_t buffer_limit = state.limits.max_header_bytes + state.limits.max_body_bytes + 1024;
  if (state.tls) {
    std::make_shared<Detector>(state, std::move(socket), buffer_limit)->run();
  } else {
    std::make_shared<PlainSession>(state, beast::tcp_stream(std::move(socket)),
                                   beast::flat_buffer(buffer_limit), false)
        ->run();
  }
}

}  // namespace pgpulse::exporter
