#pragma once
// SourceProxy: test connections that reach the test server from another loopback address, as
// application replicas on other hosts would (pg_stat_activity.client_addr).
#include <netinet/in.h>

#include <string>
#include <thread>

namespace pgpulse::testing {

// A TCP forwarder on 127.0.0.1:port() whose upstream sockets bind `source_address` (e.g.
// 127.0.0.3) before connecting to the test server, so the server sees that client address:
// connecting *to* 127.0.0.3 would not do, the kernel still picks 127.0.0.1 as the source. Stands
// in for a replica on another host (pg_stat_activity.client_addr). One thread relays every pair.
class SourceProxy {
 public:
  explicit SourceProxy(std::string source_address);
  ~SourceProxy();
  SourceProxy(const SourceProxy&) = delete;
  SourceProxy& operator=(const SourceProxy&) = delete;
  int port() const { return port_; }
  // The test server's DSN with host and port replaced by this proxy's.
  std::string dsn(const std::string& extra = "") const;

 private:
  void run();
  sockaddr_in source_;  // the upstream sockets' local address (port 0: any)
  sockaddr_in server_;  // the test server
  int listener_ = -1;
  int wake_[2] = {-1, -1};
  int port_ = 0;
  std::thread thread_;
};

}  // namespace pgpulse::testing
