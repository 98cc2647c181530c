#pragma once
// The TLS server context of the web config, reloaded when the certificate, key or client CA files
// change on disk (cert-manager, certbot rename new files over the old ones). A pair that does not
// load is logged and the previous context kept; it is retried when the files change again.
//
// Thread-safety: current() may be called from any thread (one mutex; the files are stat'ed at
// most once a second). Owns the current context; a session keeps the one it started with alive
// through the shared_ptr it was handed, so a reload never pulls a context from under it.
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "exporter/web_config.hpp"

namespace pgpulse::exporter {

class TlsContexts {
 public:
  // Throws std::runtime_error when the material does not load.
  explicit TlsContexts(TlsServerConfig config);
  std::shared_ptr<boost::asio::ssl::context> current();

 private:
  std::string stamp() const;  // mtime, size and inode of each file

  TlsServerConfig config_;
  std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> context_;
  std::string stamp_;
  std::chrono::steady_clock::time_point last_check_;
};

}  // namespace pgpulse::exporter
