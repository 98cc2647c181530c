#include "exporter/auth_cache.hpp"

#include <openssl/evp.h>

namespace pgpulse::exporter {

std::string AuthCache::key(const Credentials& credentials, const std::string& hash) {
  std::string input = credentials.user + '\0' + credentials.password + '\0' + hash;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

bool AuthCache::contains(const std::string& key) const {
  std::lock_guard lock(mutex_);
  return keys_.count(key) > 0;
}

void AuthCache::insert(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (keys_.size() >= kMaxEntries) keys_.clear();
  keys_.insert(key);
}

void AuthCache::clear() {
  std::lock_guard lock(mutex_);
  keys_.clear();
}

}  // namespace pgpulse::exporter
