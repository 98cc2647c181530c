#pragma once
// Successful basic-auth verifications, so Prometheus' scrapes cost a SHA-256, not a bcrypt, each
// time. Failures are never cached (an attacker would fill the cache). A key covers the user, the
// password and the hash it was verified against, so a changed hash never matches an old entry.
//
// Thread-safety: every member may be called from any thread (one mutex). Owns its keys only.
#include <mutex>
#include <string>
#include <unordered_set>

#include "exporter/basic_auth.hpp"

namespace pgpulse::exporter {

class AuthCache {
 public:
  static constexpr std::size_t kMaxEntries = 256;  // then cleared whole: bounded, never a leak

  static std::string key(const Credentials& credentials, const std::string& hash);
  bool contains(const std::string& key) const;
  void insert(const std::string& key);
  void clear();

 private:
  mutable std::mutex mutex_;
  std::unordered_set<std::string> keys_;
};

}  // namespace pgpulse::exporter
