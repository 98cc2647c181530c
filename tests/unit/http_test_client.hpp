#pragma once
// A blocking loopback HTTP client for the in-process server tests: sends raw bytes, reads a
// response or everything until close, tells when the server closed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "exporter/http_server.hpp"

namespace pgpulse::exporter::testing {

using namespace std::chrono_literals;

class Client {
 public:
  // `source`: the local address to connect from ("127.0.0.2": all of 127/8 is loopback).
  explicit Client(unsigned short port, const char* source = nullptr)
      : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    if (source) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      ::inet_pton(AF_INET, source, &local.sin_addr);
      ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local);
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  bool connected() const { return connected_; }
  bool send(const std::string& data) {
    return ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }
  // Everything until the peer closes or `timeout` passes.
  std::string read_all(std::chrono::milliseconds timeout = 3000ms) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      if (left <= 0) break;
      pollfd fd{fd_, POLLIN, 0};
      if (::poll(&fd, 1, static_cast<int>(left)) <= 0) break;
      char buffer[4096];
      auto n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
  }
  // One response on a keep-alive connection: reads until the body announced by Content-Length.
  std::string read_response(std::chrono::milliseconds timeout = 3000ms) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto end = out.find("\r\n\r\n");
      if (end != std::string::npos) {
        auto at = out.find("Content-Length: ");
        std::size_t length = at == std::string::npos ? 0 : std::stoul(out.substr(at + 16));
        if (out.size() >= end + 4 + length) return out;
      }
      pollfd fd{fd_, POLLIN, 0};
      if (::poll(&fd, 1, 100) <= 0) continue;
      char buffer[4096];
      auto n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
  }
  bool closed() const { return closed_; }

 private:
  int fd_;
  bool connected_ = false;
  bool closed_ = false;
};

inline std::string get(const std::string& path, const std::string& extra_headers = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: test\r\n" + extra_headers + "\r\n";
}

inline int status_of(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0) return 0;
  return std::stoi(response.substr(9, 3));
}

inline int fetch(unsigned short port, const std::string& path, const std::string& headers = "") {
  Client client(port);
  client.send(get(path, headers + "Connection: close\r\n"));
  return status_of(client.read_all());
}

inline bool eventually_open(const HttpServer& server, std::size_t count) {
  for (int i = 0; i < 100; ++i) {
    if (server.open_connections() == count) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

}  // namespace pgpulse::exporter::testing
