// The web config parser under arbitrary YAML. Beyond "no crash": a rejected file has errors that
// name the file; an accepted one has complete TLS settings and only bcrypt-shaped hashes; a value
// rejected as "not a bcrypt hash" (possibly a password typed in by mistake) is never echoed.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "exporter/web_config.hpp"

using namespace pgpulse::exporter;

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_web_config: %s: %s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto result = parse_web_config(text, "/etc/pgpulse/web.yml");
  if (!result.ok()) {
    for (const auto& error : result.errors) {
      if (error.origin.rfind("/etc/pgpulse/web.yml", 0) != 0) fail("origin", error.to_string());
      if (error.message.empty()) fail("empty message", error.to_string());
      // Hashes and mistaken plaintext passwords are never part of a message.
      if (error.key == "basic_auth_users" || error.key.rfind("basic_auth_users.", 0) == 0) {
        bool fixed = false;
        for (const char* text :
             {"unknown key (expected tls_server_config",
              "not a bcrypt hash (expected 60 characters", "expected a bcrypt hash",
              "bcrypt cost must be between", "a user name must be non-empty",
              "user names must be plain", "expected a mapping of user names"}) {
          fixed = fixed || error.message.rfind(text, 0) == 0;
        }
        if (!fixed) fail("a basic_auth_users error with input in it", error.to_string());
      }
    }
    return 0;
  }
  const auto& config = result.config;
  if (config.tls) {
    if (config.tls->cert_file.empty() || config.tls->key_file.empty()) fail("incomplete TLS", text);
    if (config.tls->client_auth_type != "NoClientCert" && config.tls->client_ca_file.empty()) {
      fail("client verification without a CA", text);
    }
  }
  for (const auto& [user, hash] : config.basic_auth_users) {
    if (user.empty() || user.find(':') != std::string::npos) fail("bad user name", user);
    if (hash.size() != 60 || hash.rfind("$2", 0) != 0) fail("not a bcrypt hash accepted", hash);
  }
  return 0;
}
