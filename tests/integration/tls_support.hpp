#pragma once
// TLS for integration tests: certificates made by `openssl req` at test time, pgpulse serving
// TLS, and a blocking OpenSSL client that can pin a protocol version or cipher list, bind a
// source address, and hold a connection open without ever reading (a hostile client).
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "raw_client.hpp"
#include "support.hpp"

namespace pgpulse::testing {

inline std::filesystem::path fresh_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("pgpulse-sec-" + std::to_string(::getpid()) + "-" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// A self-signed certificate for 127.0.0.1 and localhost; an EC P-256 key unless `rsa`.
inline void make_cert(const std::filesystem::path& cert, const std::filesystem::path& key,
                      const std::string& cn = "localhost", bool rsa = false) {
  std::string output;
  std::vector<std::string> argv{"/usr/bin/openssl", "req", "-x509"};
  if (rsa) {
    argv.insert(argv.end(), {"-newkey", "rsa:2048"});
  } else {
    argv.insert(argv.end(), {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"});
  }
  argv.insert(argv.end(), {"-nodes", "-days", "2", "-subj", "/CN=" + cn, "-addext",
                           "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key.string(),
                           "-out", cert.string()});
  REQUIRE(run_command(argv, output) == 0);
}

inline void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// "Authorization: Basic ...\r\n" for "user:password".
inline std::string basic_auth_header(const std::string& user_password) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned value = 0;
  int bits = 0;
  for (unsigned char c : user_password) {
    value = (value << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(value >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(alphabet[(value << (6 - bits)) & 0x3F]);
  while (out.size() % 4) out.push_back('=');
  return "Authorization: Basic " + out + "\r\n";
}

// pgpulse serving TLS: PgpulseProcess waits on plain-HTTP /healthz, so this one waits on the port.
class TlsPgpulse {
 public:
  explicit TlsPgpulse(const std::vector<std::string>& args) : port_(free_port()) {
    log_ = write_temp_file("tls-pgpulse-" + std::to_string(++counter_) + ".log", "");
    std::vector<std::string> argv{pgpulse_binary(), "--web.listen-address",
                                  "127.0.0.1:" + std::to_string(port_)};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      int fd = ::open(log_.c_str(), O_WRONLY | O_TRUNC);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> raw;
      for (auto& arg : argv) raw.push_back(arg.data());
      raw.push_back(nullptr);
      ::execv(raw[0], raw.data());
      ::_exit(127);
    }
    bool up = eventually([&] { return RawClient(port_).connected(); }, 10s);
    if (!up) FAIL("pgpulse did not start; its log:\n" << log());
  }
  ~TlsPgpulse() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  TlsPgpulse(const TlsPgpulse&) = delete;
  TlsPgpulse& operator=(const TlsPgpulse&) = delete;
  int port() const { return port_; }
  int pid() const { return pid_; }
  std::string url(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::string log() const { return read_file(log_); }

 private:
  static inline int counter_ = 0;
  int pid_ = -1;
  int port_;
  std::string log_;
};

// Client settings; empty strings keep OpenSSL's defaults. The server certificate is not
// verified: these tests are about the server's behaviour, curl covers trust (security_test).
struct TlsOptions {
  int min_version = 0;       // e.g. TLS1_2_VERSION
  int max_version = 0;       // e.g. TLS1_2_VERSION
  std::string ciphers;       // TLS 1.2 and older, OpenSSL cipher-list syntax
  std::string ciphersuites;  // TLS 1.3
};

using TlsContextPtr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

inline TlsContextPtr tls_client_context(const TlsOptions& options = {}) {
  ::signal(SIGPIPE, SIG_IGN);  // OpenSSL writes with write(2): a closed peer must not kill the test
  TlsContextPtr ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (options.min_version) SSL_CTX_set_min_proto_version(ctx.get(), options.min_version);
  if (options.max_version) SSL_CTX_set_max_proto_version(ctx.get(), options.max_version);
  if (!options.ciphers.empty()) SSL_CTX_set_cipher_list(ctx.get(), options.ciphers.c_str());
  if (!options.ciphersuites.empty()) {
    SSL_CTX_set_ciphersuites(ctx.get(), options.ciphersuites.c_str());
  }
  return ctx;
}

// One blocking TLS connection: connects and completes the handshake in the constructor (3 s at
// most for each step); handshaken() tells whether it did.
class TlsClient {
 public:
  TlsClient(int port, SSL_CTX* ctx, const char* source = nullptr)
      : raw_(port, source), ssl_(SSL_new(ctx)) {
    if (!raw_.connected()) return;
    timeval timeout{3, 0};
    ::setsockopt(raw_.fd(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(raw_.fd(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    SSL_set_fd(ssl_, raw_.fd());
    handshaken_ = SSL_connect(ssl_) == 1;
    ERR_clear_error();
  }
  ~TlsClient() { SSL_free(ssl_); }
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  bool handshaken() const { return handshaken_; }
  int fd() const { return raw_.fd(); }
  std::string cipher() const { return handshaken_ ? SSL_get_cipher_name(ssl_) : ""; }
  std::string version() const { return handshaken_ ? SSL_get_version(ssl_) : ""; }
  bool send(const std::string& data) {
    return handshaken_ && SSL_write(ssl_, data.data(), static_cast<int>(data.size())) ==
                              static_cast<int>(data.size());
  }
  // Decrypted bytes until the server closes (close_notify or EOF) or `timeout` passes.
  std::string read_all(std::chrono::milliseconds timeout) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (handshaken_ && std::chrono::steady_clock::now() < deadline) {
      if (SSL_pending(ssl_) == 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd fd{raw_.fd(), POLLIN, 0};
        if (::poll(&fd, 1, static_cast<int>(std::max<long>(1, left.count()))) <= 0) break;
      }
      char buffer[8192];
      int n = SSL_read(ssl_, buffer, sizeof buffer);
      if (n <= 0) break;
      out.append(buffer, static_cast<std::size_t>(n));
    }
    ERR_clear_error();
    return out;
  }
  // Whether the server has closed its side (FIN received), without reading anything.
  bool peer_closed() const {
    pollfd fd{raw_.fd(), POLLRDHUP, 0};
    return ::poll(&fd, 1, 0) > 0 && (fd.revents & (POLLRDHUP | POLLHUP | POLLERR));
  }

 private:
  RawClient raw_;
  SSL* ssl_;
  bool handshaken_ = false;
};

// A GET over a fresh TLS connection with `headers`; the status, 0 when there was no answer.
inline int tls_status(int port, SSL_CTX* ctx, const std::string& path,
                      const std::string& headers = "", const char* source = nullptr) {
  TlsClient client(port, ctx, source);
  if (!client.send("GET " + path + " HTTP/1.1\r\nHost: pgpulse\r\n" + headers +
                   "Connection: close\r\n\r\n")) {
    return 0;
  }
  return status_of(client.read_all(3000ms));
}

}  // namespace pgpulse::testing
