#include "exporter/tls_contexts.hpp"

#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include <stdexcept>

namespace pgpulse::exporter {

using namespace std::chrono_literals;

TlsContexts::TlsContexts(TlsServerConfig config) : config_(std::move(config)) {
  std::string error;
  auto* raw = new_tls_context(config_, error);
  if (!raw) throw std::runtime_error(error);
  context_ = std::make_shared<boost::asio::ssl::context>(raw);
  stamp_ = stamp();
  last_check_ = std::chrono::steady_clock::now();
}

std::shared_ptr<boost::asio::ssl::context> TlsContexts::current() {
  std::lock_guard lock(mutex_);
  auto now = std::chrono::steady_clock::now();
  if (now - last_check_ < 1s) return context_;
  last_check_ = now;
  auto current_stamp = stamp();
  if (current_stamp == stamp_) return context_;
  stamp_ = current_stamp;  // a broken pair is retried when the files change again
  std::string error;
  if (auto* raw = new_tls_context(config_, error)) {
    context_ = std::make_shared<boost::asio::ssl::context>(raw);
    spdlog::info("TLS certificate or key changed on disk: reloaded {}", config_.cert_file);
  } else {
    spdlog::error(
        "TLS certificate or key changed on disk but does not load, keeping the "
        "previous one: {}",
        error);
  }
  return context_;
}

std::string TlsContexts::stamp() const {
  std::string out;
  for (const auto* path : {&config_.cert_file, &config_.key_file, &config_.client_ca_file}) {
    struct stat info {};
    if (path->empty() || ::stat(path->c_str(), &info) != 0) {
      out += "-;";
      continue;
    }
    out += std::to_string(info.st_mtim.tv_sec) + "." + std::to_string(info.st_mtim.tv_nsec) + ":" +
           std::to_string(info.st_size) + ":" + std::to_string(info.st_ino) + ";";
  }
  return out;
}

}  // namespace pgpulse::exporter
