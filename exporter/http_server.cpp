#include "exporter/http_server.hpp"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <sys/stat.h>

#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detect_ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <array>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <unordered_set>

namespace pgpulse::exporter {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

const char* const kTextType = "text/plain; charset=utf-8";
using Headers = std::vector<std::pair<std::string, std::string>>;

std::shared_ptr<const std::string> text(const char* body) {
  return std::make_shared<const std::string>(body);
}

// Logs at most once a minute per call site: an attacker must not be able to flood the log.
class RateLimitedLog {
 public:
  bool due() {
    auto now = Clock::now().time_since_epoch().count();
    auto last = last_.load();
    if (last != 0 && now - last < std::chrono::nanoseconds(60s).count()) return false;
    return last_.compare_exchange_strong(last, now);
  }

 private:
  std::atomic<Clock::rep> last_{0};
};

// ---- basic auth ----

std::optional<std::string> base64_decode(std::string_view in) {
  auto sextet = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  for (int pad = 0; pad < 2 && !in.empty() && in.back() == '='; ++pad) in.remove_suffix(1);
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    int value = sextet(c);
    if (value < 0) return std::nullopt;
    buffer = ((buffer << 6) | static_cast<unsigned>(value)) & 0xFFFFFFu;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFFu));
    }
  }
  if (bits >= 6) return std::nullopt;  // a dangling sextet: not base64
  return out;
}

struct Credentials {
  std::string user;
  std::string password;
};

std::optional<Credentials> parse_basic_auth(std::string_view header) {
  constexpr std::string_view kScheme = "basic";
  if (header.size() <= kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return std::nullopt;
  }
  header.remove_prefix(kScheme.size());
  if (header.front() != ' ') return std::nullopt;
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
  auto decoded = base64_decode(header);
  if (!decoded) return std::nullopt;
  auto colon = decoded->find(':');
  if (colon == std::string::npos || decoded->find('\0') != std::string::npos) return std::nullopt;
  return Credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

// Successful verifications, so Prometheus' scrapes cost a SHA-256, not a bcrypt, each time.
// Failures are never cached (an attacker would fill the cache).
class AuthCache {
 public:
  static std::string key(const Credentials& credentials, const std::string& hash) {
    std::string input = credentials.user + '\0' + credentials.password + '\0' + hash;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha256(), nullptr);
    return std::string(reinterpret_cast<const char*>(digest), length);
  }
  bool contains(const std::string& key) const {
    std::lock_guard lock(mutex_);
    return keys_.count(key) > 0;
  }
  void insert(const std::string& key) {
    std::lock_guard lock(mutex_);
    if (keys_.size() >= 256) keys_.clear();
    keys_.insert(key);
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_set<std::string> keys_;
};

// ---- TLS contexts, reloaded when the certificate or key files change (cert-manager, certbot) ----

class TlsContexts {
 public:
  explicit TlsContexts(TlsServerConfig config) : config_(std::move(config)) {
    std::string error;
    auto* raw = new_tls_context(config_, error);
    if (!raw) throw std::runtime_error(error);
    context_ = std::make_shared<ssl::context>(raw);
    stamp_ = stamp();
    last_check_ = Clock::now();
  }

  std::shared_ptr<ssl::context> current() {
    std::lock_guard lock(mutex_);
    auto now = Clock::now();
    if (now - last_check_ < 1s) return context_;
    last_check_ = now;
    auto current_stamp = stamp();
    if (current_stamp == stamp_) return context_;
    stamp_ = current_stamp;  // a broken pair is retried when the files change again
    std::string error;
    if (auto* raw = new_tls_context(config_, error)) {
      context_ = std::make_shared<ssl::context>(raw);
      spdlog::info("TLS certificate or key changed on disk: reloaded {}", config_.cert_file);
    } else {
      spdlog::error(
          "TLS certificate or key changed on disk but does not load, keeping the "
          "previous one: {}",
          error);
    }
    return context_;
  }

 private:
  std::string stamp() const {
    std::string out;
    for (const auto* path : {&config_.cert_file, &config_.key_file, &config_.client_ca_file}) {
      struct stat info {};
      if (path->empty() || ::stat(path->c_str(), &info) != 0) {
        out += "-;";
        continue;
      }
      out += std::to_string(info.st_mtim.tv_sec) + "." + std::to_string(info.st_mtim.tv_nsec) +
             ":" + std::to_string(info.st_size) + ":" + std::to_string(info.st_ino) + ";";
    }
    return out;
  }

  TlsServerConfig config_;
  std::mutex mutex_;
  std::shared_ptr<ssl::context> context_;
  std::string stamp_;
  Clock::time_point last_check_;
};

// ---- connections ----

class Connection;

// What every connection needs; owned by the server and outliving every connection.
struct Shared {
  HttpHandler handler;
  HttpLimits limits;
  std::map<std::string, std::string> users;
  std::string dummy_hash;  // bcrypt for unknown users too, so timing does not reveal names
  std::optional<TlsContexts> tls;
  AuthCache auth_cache;
  asio::thread_pool* auth_pool = nullptr;
  std::atomic<std::size_t> pending_checks{0};
  std::atomic<std::size_t> active{0};
  std::mutex mutex;
  std::list<Connection*> connections;  // in accept order: the oldest first
  RateLimitedLog busy_log;
};

// Waiting: for the client (TLS handshake, request bytes, or a password check): may be evicted.
// Busy: answering. Evicted: claimed by the acceptor, a close is on its way.
enum State : int { kWaiting, kBusy, kEvicted };

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  explicit Connection(Shared& shared) : shared_(shared) { ++shared_.active; }
  virtual ~Connection() {
    if (enrolled_) {
      std::lock_guard lock(shared_.mutex);
      shared_.connections.erase(slot_);
    }
    --shared_.active;
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  virtual void run() = 0;

  // Called by the acceptor under shared.mutex; never blocks and never drops the last reference
  // (that would re-enter the mutex from the destructor).
  bool claim_eviction() {
    int expected = kWaiting;
    return state_.compare_exchange_strong(expected, kEvicted);
  }
  void evict() {
    asio::post(executor(), [self = shared_from_this()] { self->close_now(); });
  }

 protected:
  void enroll() {
    std::lock_guard lock(shared_.mutex);
    slot_ = shared_.connections.insert(shared_.connections.end(), this);
    enrolled_ = true;
  }
  // Waiting -> Busy; false when the acceptor evicted this connection first.
  bool become_busy() {
    int expected = kWaiting;
    return state_.compare_exchange_strong(expected, kBusy);
  }
  bool become_waiting() {
    int expected = kBusy;
    return state_.compare_exchange_strong(expected, kWaiting);
  }
  bool evicted() const { return state_.load() == kEvicted; }

  virtual asio::any_io_executor executor() = 0;
  virtual void close_now() = 0;  // on the connection's strand

  Shared& shared_;

 private:
  std::atomic<int> state_{kWaiting};
  std::list<Connection*>::iterator slot_;
  bool enrolled_ = false;
};

bool is_parse_error(const beast::error_code& ec) {
  static const auto& category = beast::error_code(http::error::bad_target).category();
  return ec.category() == category && ec != http::error::end_of_stream &&
         ec != http::error::partial_message;
}

template <class Derived>
class HttpSession : public Connection {
 public:
  HttpSession(Shared& shared, beast::flat_buffer buffer, bool tls_expected)
      : Connection(shared), buffer_(std::move(buffer)), tls_expected_(tls_expected) {}

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
    parser_->header_limit(static_cast<std::uint32_t>(shared_.limits.max_header_bytes));
    parser_->body_limit(shared_.limits.max_body_bytes);
    lowest().expires_after(shared_.limits.read_timeout);
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
    std::string target(request_.target().data(), request_.target().size());
    std::string path = target.substr(0, target.find('?'));
    bool open = std::find(kUnauthenticatedPaths.begin(), kUnauthenticatedPaths.end(), path) !=
                kUnauthenticatedPaths.end();
    // Plain HTTP on the TLS port: only the open paths (/healthz, for probes that cannot speak
    // TLS, such as the image's HEALTHCHECK); everything else is refused in the clear.
    if (tls_expected_ && !open) {
      return respond(400, text("Client sent an HTTP request to an HTTPS server.\n"), false);
    }
    if (shared_.users.empty() || open) return serve();
    authenticate();
  }

  void authenticate() {
    auto header = request_[http::field::authorization];
    auto credentials = parse_basic_auth(std::string_view(header.data(), header.size()));
    if (!credentials) return unauthorized();
    auto user = shared_.users.find(credentials->user);
    bool known = user != shared_.users.end();
    const std::string& hash = known ? user->second : shared_.dummy_hash;
    auto key = AuthCache::key(*credentials, hash);
    if (known && shared_.auth_cache.contains(key)) return serve();
    if (shared_.pending_checks.load() >= shared_.limits.max_pending_password_checks) {
      return respond(503, text("too many password checks in progress, retry\n"), false,
                     {{"Retry-After", "1"}});
    }
    ++shared_.pending_checks;
    become_waiting();  // evictable while its bcrypt waits its turn
    asio::post(*shared_.auth_pool, [self = self(), credentials = std::move(*credentials), hash,
                                    known, key = std::move(key)] {
      bool ok = verify_bcrypt(credentials.password, hash) && known;
      --self->shared_.pending_checks;
      asio::post(self->executor(), [self, ok, key] { self->on_checked(ok, key); });
    });
  }

  void on_checked(bool ok, const std::string& key) {
    if (!become_busy()) return;
    if (!ok) return unauthorized();
    shared_.auth_cache.insert(key);
    serve();
  }

  void unauthorized() {
    respond(401, text("unauthorized\n"), request_.keep_alive(),
            {{"WWW-Authenticate", "Basic realm=\"pgpulse\", charset=\"UTF-8\""}});
  }

  void serve() {
    HttpResponse response;
    try {
      response = shared_.handler(
          HttpRequest{std::string(request_.method_string()), std::string(request_.target())});
    } catch (const std::exception& e) {
      spdlog::error("http handler failed: {}", e.what());
      response = HttpResponse{500, kTextType, text("internal error\n")};
    }
    bool head = request_.method() == http::verb::head;
    respond(response.status, head ? std::make_shared<const std::string>() : response.body,
            request_.keep_alive(), {}, response.content_type);
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
    lowest().expires_after(shared_.limits.write_timeout);
    http::async_write(derived().stream(), *response_,
                      beast::bind_front_handler(&HttpSession::on_write, self(), keep_alive));
  }

  void on_write(bool keep_alive, beast::error_code ec, std::size_t) {
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
  std::optional<http::response<http::span_body<const char>>> response_;
  std::shared_ptr<const std::string> body_;
};

class PlainSession : public HttpSession<PlainSession> {
 public:
  PlainSession(Shared& shared, beast::tcp_stream&& stream, beast::flat_buffer&& buffer,
               bool tls_expected)
      : HttpSession(shared, std::move(buffer), tls_expected), stream_(std::move(stream)) {}
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
  TlsSession(Shared& shared, beast::tcp_stream&& stream, std::shared_ptr<ssl::context> context,
             beast::flat_buffer&& buffer)
      : HttpSession(shared, std::move(buffer), false),
        context_(std::move(context)),
        stream_(std::move(stream), *context_) {}
  beast::ssl_stream<beast::tcp_stream>& stream() { return stream_; }

  void run() override {
    enroll();
    asio::dispatch(stream_.get_executor(), [self = self()] {
      self->lowest().expires_after(self->shared_.limits.read_timeout);
      self->stream_.async_handshake(ssl::stream_base::server, self->buffer_.data(),
                                    beast::bind_front_handler(&TlsSession::on_handshake, self));
    });
  }

  void shutdown() {
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
  Detector(Shared& shared, tcp::socket&& socket, std::size_t buffer_limit)
      : Connection(shared), stream_(std::move(socket)), buffer_(buffer_limit) {}

  void run() override {
    enroll();
    asio::dispatch(stream_.get_executor(),
                   [self = std::static_pointer_cast<Detector>(shared_from_this())] {
                     self->stream_.expires_after(self->shared_.limits.read_timeout);
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
      std::make_shared<TlsSession>(shared_, std::move(stream_), shared_.tls->current(),
                                   std::move(buffer_))
          ->run();
    } else {
      std::make_shared<PlainSession>(shared_, std::move(stream_), std::move(buffer_), true)->run();
    }
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

}  // namespace

struct HttpServer::Impl {
  Impl(HttpHandler handler, HttpLimits limits, const WebConfig& web) {
    shared.handler = std::move(handler);
    shared.limits = limits;
    shared.users = web.basic_auth_users;
    if (!shared.users.empty()) shared.dummy_hash = shared.users.begin()->second;
    if (web.tls) shared.tls.emplace(*web.tls);
    shared.auth_pool = &auth_pool;
  }

  std::size_t buffer_limit() const {
    return shared.limits.max_header_bytes + shared.limits.max_body_bytes + 1024;
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
    if (shared.active.load() >= shared.limits.max_connections && !evict_one()) {
      reject(socket);
      return;
    }
    if (shared.tls) {
      std::make_shared<Detector>(shared, std::move(socket), buffer_limit())->run();
    } else {
      std::make_shared<PlainSession>(shared, beast::tcp_stream(std::move(socket)),
                                     beast::flat_buffer(buffer_limit()), false)
          ->run();
    }
  }

  // Closes the oldest connection that is only waiting on its client.
  bool evict_one() {
    std::shared_ptr<Connection> victim;
    bool claimed = false;
    {
      std::lock_guard lock(shared.mutex);
      for (Connection* connection : shared.connections) {
        if (!connection->claim_eviction()) continue;
        claimed = true;
        victim = connection->weak_from_this().lock();  // null: it is already going away
        break;
      }
    }
    if (claimed && shared.busy_log.due()) {
      spdlog::warn(
          "http: {} connections open (the limit); closing the oldest idle or slow ones "
          "to admit new clients",
          shared.limits.max_connections);
    }
    if (victim) victim->evict();
    return claimed;
  }

  void reject(tcp::socket& socket) {
    if (reject_log.due()) {
      spdlog::warn("http: {} connections open and all busy; refusing new ones",
                   shared.limits.max_connections);
    }
    beast::error_code ignored;
    if (!shared.tls) {
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
  // (sessions in its handlers) go before `shared`, which sessions use in their destructors.
  Shared shared;
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
  for (int i = 0; i < impl_->shared.limits.threads; ++i) {
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
  return impl_->shared.active.load();
}

}  // namespace pgpulse::exporter
