#include "source_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <utility>
#include <vector>

#include "support.hpp"

namespace pgpulse::testing {

namespace {

sockaddr_in loopback_address(const std::string& address, int port) {
  sockaddr_in result{};
  result.sin_family = AF_INET;
  result.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, address.c_str(), &result.sin_addr) != 1) {
    throw std::runtime_error("not an IPv4 address: " + address);
  }
  return result;
}

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t written = ::send(fd, data, size, MSG_NOSIGNAL);
    if (written <= 0) return false;
    data += written;
    size -= static_cast<std::size_t>(written);
  }
  return true;
}

}  // namespace

SourceProxy::SourceProxy(std::string source_address)
    : source_(loopback_address(source_address, 0)),
      server_(loopback_address(TestDatabase::host(), std::stoi(TestDatabase::port()))) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto address = loopback_address("127.0.0.1", 0);
  socklen_t length = sizeof address;
  if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(listener_, 64) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
      ::pipe2(wake_, O_CLOEXEC) != 0) {
    throw std::runtime_error("SourceProxy: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { run(); });
}

SourceProxy::~SourceProxy() {
  char stop = 1;
  (void)!::write(wake_[1], &stop, 1);
  thread_.join();
  ::close(listener_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

std::string SourceProxy::dsn(const std::string& extra) const {
  // A keyword given twice: libpq takes the last one.
  return TestDatabase::dsn("host=127.0.0.1 port=" + std::to_string(port_) +
                           (extra.empty() ? "" : " " + extra));
}

void SourceProxy::run() {
  std::vector<std::pair<int, int>> pairs;  // client, upstream
  auto close_pair = [](std::pair<int, int>& pair) {
    ::close(pair.first);
    ::close(pair.second);
    pair = {-1, -1};
  };
  for (;;) {
    std::vector<pollfd> fds{{wake_[0], POLLIN, 0}, {listener_, POLLIN, 0}};
    for (const auto& [client, upstream] : pairs) {
      fds.push_back({client, POLLIN, 0});
      fds.push_back({upstream, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) continue;
    if (fds[0].revents) break;
    const std::size_t polled = pairs.size();  // a pair accepted below has no pollfd yet
    if (fds[1].revents & POLLIN) {
      int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (client >= 0 && upstream >= 0 &&
          ::bind(upstream, reinterpret_cast<const sockaddr*>(&source_), sizeof source_) == 0 &&
          ::connect(upstream, reinterpret_cast<const sockaddr*>(&server_), sizeof server_) == 0) {
        pairs.emplace_back(client, upstream);
      } else {
        if (client >= 0) ::close(client);
        if (upstream >= 0) ::close(upstream);
      }
    }
    for (std::size_t i = 0; i < polled; ++i) {
      for (int side = 0; side < 2 && pairs[i].first >= 0; ++side) {
        const auto& fd = fds[2 + 2 * i + side];
        if (!fd.revents) continue;
        char buffer[64 * 1024];
        ssize_t got = ::recv(fd.fd, buffer, sizeof buffer, 0);
        int peer = side == 0 ? pairs[i].second : pairs[i].first;
        if (got <= 0 || !write_all(peer, buffer, static_cast<std::size_t>(got))) {
          close_pair(pairs[i]);
        }
      }
    }
    std::erase_if(pairs, [](const auto& pair) { return pair.first < 0; });
  }
  for (auto& pair : pairs) close_pair(pair);
}

}  // namespace pgpulse::testing
