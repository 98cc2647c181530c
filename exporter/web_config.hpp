#pragma once
// The web config file (--web.config-file) in the style of Prometheus' exporter-toolkit: TLS
// certificate and key, optional client certificates, and basic-auth users with bcrypt hashes.
//
//   tls_server_config:
//     cert_file: /etc/pgpulse/tls.crt      # relative paths are relative to this file
//     key_file: /etc/pgpulse/tls.key
//     min_version: TLS12                   # or TLS13
//     client_auth_type: NoClientCert       # or RequireAndVerifyClientCert, VerifyClientCertIfGiven
//     client_ca_file: /etc/pgpulse/ca.crt  # needed by the two verifying client_auth_types
//   basic_auth_users:
//     prometheus: $2y$10$...               # bcrypt; e.g. htpasswd -nBC 10 "" | tr -d ':\n'
//
// Errors name the file, the line and the key, like config/, and never echo a hash or a value that
// might be a password typed in by mistake.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config_error.hpp"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace pgpulse::exporter {

struct TlsServerConfig {
  std::string cert_file;  // PEM certificate chain, resolved against the web config's directory
  std::string key_file;   // PEM private key
  std::string client_ca_file;
  std::string client_auth_type = "NoClientCert";
  std::string min_version = "TLS12";
  std::string max_version;  // empty: the newest OpenSSL offers
  bool operator==(const TlsServerConfig&) const = default;
};

struct WebConfig {
  std::string file;  // empty: no web config, plain HTTP without authentication
  std::optional<TlsServerConfig> tls;
  std::map<std::string, std::string> basic_auth_users;  // name -> bcrypt hash
  bool operator==(const WebConfig&) const = default;
};

struct WebConfigResult {
  WebConfig config;
  std::vector<config::ConfigError> errors;
  bool ok() const { return errors.empty(); }
  std::string error_text() const { return config::error_lines(errors); }
};

// Parses the text only: structure, keys, versions, bcrypt hash format. Paths are resolved against
// the directory of `file_name` but not opened.
WebConfigResult parse_web_config(const std::string& text, const std::string& file_name);

// Reads and parses `path` ("" gives the empty config), then checks what a server start needs:
// the certificate and key load and match, the client CA loads, every hash is one this system's
// crypt(3) verifies. What --check-config and the daemon run before serving.
WebConfigResult load_web_config(const std::string& path);

// A new OpenSSL server context with the certificate, key, versions and client verification of
// `tls`; nullptr with `error` set (naming the key and OpenSSL's reason) when they do not load.
ssl_ctx_st* new_tls_context(const TlsServerConfig& tls, std::string& error);

// Whether `password` matches the bcrypt `hash` (libxcrypt's crypt_rn; constant-time compare).
bool verify_bcrypt(const std::string& password, const std::string& hash);

}  // namespace pgpulse::exporter
