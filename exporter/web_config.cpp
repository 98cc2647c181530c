#include "exporter/web_config.hpp"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <yaml-cpp/yaml.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

namespace pgpulse::exporter {

namespace {

const std::set<std::string> kTlsKeys{"cert_file",        "key_file",    "client_ca_file",
                                     "client_auth_type", "min_version", "max_version"};
// exporter-toolkit keys pgpulse does not implement: an error that says so beats "unknown key".
const std::set<std::string> kUnsupportedTlsKeys{"cert",
                                                "key",
                                                "cipher_suites",
                                                "curve_preferences",
                                                "prefer_server_cipher_suites",
                                                "client_allowed_sans"};
const char* const kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
const std::set<std::string> kClientAuthTypes{"NoClientCert", "VerifyClientCertIfGiven",
                                             "RequireAndVerifyClientCert"};

class Parser {
 public:
  Parser(const std::string& file, WebConfigResult& result) : file_(file), result_(result) {}

  void parse(const YAML::Node& root) {
    for (const auto& item : root) {
      std::string key = item.first.IsScalar() ? item.first.Scalar() : "";
      if (key == "tls_server_config") {
        tls(item.second);
      } else if (key == "basic_auth_users") {
        users(item.second);
      } else if (key == "http_server_config") {
        http_server(item.second);
      } else {
        error(item.first, key,
              "unknown key (expected tls_server_config, basic_auth_users, http_server_config)");
      }
    }
  }

 private:
  std::string origin(const YAML::Node& node) const {
    return file_ + ":" + std::to_string(node.Mark().line + 1);
  }

  void error(const YAML::Node& node, const std::string& key, const std::string& message) {
    result_.errors.push_back(config::ConfigError{origin(node), key, message});
  }

  // A file named in the web config, relative to the web config's own directory (as
  // exporter-toolkit does), so a config and its certificates can move together.
  std::string resolve(const std::string& path) const {
    if (path.empty() || path.front() == '/') return path;
    auto directory = std::filesystem::path(file_).parent_path();
    return directory.empty() ? path : (directory / path).string();
  }

  void tls(const YAML::Node& node) {
    if (node.IsNull()) {
      error(node, "tls_server_config", "is empty: it needs cert_file and key_file");
      return;
    }
    if (!node.IsMap()) {
      error(node, "tls_server_config", "expected a mapping (cert_file, key_file, ...)");
      return;
    }
    TlsServerConfig tls;
    for (const auto& item : node) {
      std::string name = item.first.IsScalar() ? item.first.Scalar() : "";
      std::string key = "tls_server_config." + name;
      if (kUnsupportedTlsKeys.count(name)) {
        error(item.first, key,
              "is not supported by pgpulse (supported: cert_file, key_file, "
              "client_ca_file, client_auth_type, min_version, max_version)");
        continue;
      }
      if (!kTlsKeys.count(name)) {
        error(item.first, key,
              "unknown key (expected cert_file, key_file, client_ca_file, "
              "client_auth_type, min_version, max_version)");
        continue;
      }
      if (!item.second.IsScalar()) {
        error(item.second, key, "expected a plain value");
        continue;
      }
      std::string value = item.second.Scalar();
      if (name == "cert_file") {
        tls.cert_file = resolve(value);
      } else if (name == "key_file") {
        tls.key_file = resolve(value);
      } else if (name == "client_ca_file") {
        tls.client_ca_file = resolve(value);
      } else if (name == "client_auth_type") {
        if (kClientAuthTypes.count(value)) {
          tls.client_auth_type = value;
        } else {
          error(item.second, key,
                "invalid value \"" + value +
                    "\" (pgpulse supports NoClientCert, VerifyClientCertIfGiven, "
                    "RequireAndVerifyClientCert)");
        }
      } else if (name == "min_version" || name == "max_version") {
        if (value == "TLS12" || value == "TLS13") {
          (name == "min_version" ? tls.min_version : tls.max_version) = value;
        } else if (value == "TLS10" || value == "TLS11") {
          error(item.second, key, "TLS 1.0 and 1.1 are not supported; use TLS12 or TLS13");
        } else {
          error(item.second, key, "invalid value \"" + value + "\" (expected TLS12 or TLS13)");
        }
      }
    }
    auto check = [&](bool ok, const std::string& key, const std::string& message) {
      if (!ok) error(node, "tls_server_config." + key, message);
    };
    check(!tls.cert_file.empty(), "cert_file", "is required with tls_server_config");
    check(!tls.key_file.empty(), "key_file", "is required with tls_server_config");
    bool verifies = tls.client_auth_type != "NoClientCert";
    check(!verifies || !tls.client_ca_file.empty(), "client_ca_file",
          "is required when client_auth_type is " + tls.client_auth_type);
    check(verifies || tls.client_ca_file.empty(), "client_auth_type",
          "client_ca_file is set but client_auth_type is NoClientCert (set "
          "RequireAndVerifyClientCert or VerifyClientCertIfGiven)");
    check(tls.max_version.empty() || !(tls.min_version == "TLS13" && tls.max_version == "TLS12"),
          "max_version", "is older than min_version");
    result_.config.tls = tls;
  }

  void users(const YAML::Node& node) {
    if (node.IsNull()) return;
    if (!node.IsMap()) {
      error(node, "basic_auth_users", "expected a mapping of user names to bcrypt hashes");
      return;
    }
    for (const auto& item : node) {
      if (!item.first.IsScalar()) {
        error(item.first, "basic_auth_users", "user names must be plain strings");
        continue;
      }
      std::string name = item.first.Scalar();
      std::string key = "basic_auth_users." + name;
      if (name.empty() || name.find(':') != std::string::npos) {
        error(item.first, "basic_auth_users",
              "a user name must be non-empty and must not contain \":\"");
        continue;
      }
      if (!item.second.IsScalar()) {
        error(item.second, key, "expected a bcrypt hash");
        continue;
      }
      // Never echo the value: a plaintext password put here by mistake must not reach a log.
      const std::string& hash = item.second.Scalar();
      bool bcrypt = hash.size() == 60 && hash[0] == '$' && hash[1] == '2' &&
                    (hash[2] == 'a' || hash[2] == 'b' || hash[2] == 'y') && hash[3] == '$' &&
                    std::isdigit(static_cast<unsigned char>(hash[4])) &&
                    std::isdigit(static_cast<unsigned char>(hash[5])) && hash[6] == '$';
      if (!bcrypt) {
        error(item.second, key,
              "not a bcrypt hash (expected 60 characters starting with $2y$, $2b$ or $2a$, e.g. "
              "from htpasswd -nBC 10 \"\" | tr -d ':\\n')");
        continue;
      }
      int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
      if (cost < 4 || cost > 31) {
        error(item.second, key, "bcrypt cost must be between 04 and 31");
        continue;
      }
      result_.config.basic_auth_users[name] = hash;
    }
  }

  void http_server(const YAML::Node& node) {
    if (node.IsNull()) return;
    if (!node.IsMap()) {
      error(node, "http_server_config", "expected a mapping");
      return;
    }
    for (const auto& item : node) {
      std::string name = item.first.IsScalar() ? item.first.Scalar() : "";
      if (name == "http2") continue;  // pgpulse speaks HTTP/1.1 only; accepted for compatibility
      error(item.first, "http_server_config." + name, "is not supported by pgpulse");
    }
  }

  const std::string& file_;
  WebConfigResult& result_;
};

std::string openssl_error() {
  std::string text;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

bool readable(const std::string& path) {
  return static_cast<bool>(std::ifstream(path));
}

}  // namespace

WebConfigResult parse_web_config(const std::string& text, const std::string& file_name) {
  WebConfigResult result;
  result.config.file = file_name;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    result.errors.push_back(config::ConfigError{file_name + ":" + std::to_string(e.mark.line + 1),
                                                "", "invalid YAML: " + e.msg});
    return result;
  }
  if (root.IsNull()) return result;  // an empty file: plain HTTP, no users (as exporter-toolkit)
  if (!root.IsMap()) {
    result.errors.push_back(config::ConfigError{
        file_name + ":" + std::to_string(root.Mark().line + 1), "",
        "the top level must be a mapping (tls_server_config, basic_auth_users)"});
    return result;
  }
  try {
    Parser(file_name, result).parse(root);
  } catch (const YAML::Exception& e) {
    result.errors.push_back(config::ConfigError{file_name + ":" + std::to_string(e.mark.line + 1),
                                                "", "invalid YAML: " + e.msg});
  }
  return result;
}

ssl_ctx_st* new_tls_context(const TlsServerConfig& tls, std::string& error) {
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_server_method()),
                                                        SSL_CTX_free);
  if (!ctx) {
    error = "cannot create a TLS context: " + openssl_error();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx.get(),
                                tls.min_version == "TLS13" ? TLS1_3_VERSION : TLS1_2_VERSION);
  if (!tls.max_version.empty()) {
    SSL_CTX_set_max_proto_version(ctx.get(),
                                  tls.max_version == "TLS12" ? TLS1_2_VERSION : TLS1_3_VERSION);
  }
  SSL_CTX_set_options(
      ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // TLS 1.2: forward-secret AEAD suites only, as Go's defaults that exporter-toolkit serves (no RSA
  // key exchange, no CBC). TLS 1.3's suites are all of that kind and keep OpenSSL's defaults.
  if (SSL_CTX_set_cipher_list(ctx.get(), kTls12Ciphers) != 1) {
    error = "cannot set the TLS 1.2 cipher suites: " + openssl_error();
    return nullptr;
  }
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert_file.c_str()) != 1) {
    error = "tls_server_config.cert_file: cannot load certificate \"" + tls.cert_file +
            "\": " + openssl_error();
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    auto reason = openssl_error();
    error = reason.find("mismatch") != std::string::npos
                ? "tls_server_config.key_file: the private key \"" + tls.key_file +
                      "\" does not match the certificate \"" + tls.cert_file + "\""
                : "tls_server_config.key_file: cannot load private key \"" + tls.key_file +
                      "\": " + reason;
    return nullptr;
  }
  if (!tls.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), tls.client_ca_file.c_str(), nullptr) != 1) {
      error = "tls_server_config.client_ca_file: cannot load \"" + tls.client_ca_file +
              "\": " + openssl_error();
      return nullptr;
    }
    if (auto* names = SSL_load_client_CA_file(tls.client_ca_file.c_str())) {
      SSL_CTX_set_client_CA_list(ctx.get(), names);
    }
    int mode = SSL_VERIFY_PEER;
    if (tls.client_auth_type == "RequireAndVerifyClientCert") {
      mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    }
    SSL_CTX_set_verify(ctx.get(), mode, nullptr);
  }
  ERR_clear_error();
  return ctx.release();
}

WebConfigResult load_web_config(const std::string& path) {
  if (path.empty()) return WebConfigResult{};
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    WebConfigResult result;
    result.config.file = path;
    result.errors.push_back(config::ConfigError{
        path, "", "cannot read web config file (does it exist and is it readable?)"});
    return result;
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto result = parse_web_config(text.str(), path);
  if (!result.ok()) return result;
  if (const auto& tls = result.config.tls) {
    bool files_ok = true;
    for (const auto& [key, file] :
         {std::pair{"cert_file", tls->cert_file}, std::pair{"key_file", tls->key_file},
          std::pair{"client_ca_file", tls->client_ca_file}}) {
      if (!file.empty() && !readable(file)) {
        files_ok = false;
        result.errors.push_back(config::ConfigError{path, std::string("tls_server_config.") + key,
                                                    "cannot read \"" + file + "\""});
      }
    }
    std::string error;
    if (files_ok) {
      if (auto* ctx = new_tls_context(*tls, error)) {
        SSL_CTX_free(ctx);
      } else {
        auto colon = error.find(": ");  // "tls_server_config.<key>: <reason>"
        result.errors.push_back(
            config::ConfigError{path, error.substr(0, colon), error.substr(colon + 2)});
      }
    }
  }
  for (const auto& [name, hash] : result.config.basic_auth_users) {
    // The hash's own format was checked; this catches a crypt(3) without bcrypt support.
    auto data = std::make_unique<crypt_data>();
    const char* out = crypt_rn("", hash.c_str(), data.get(), sizeof(crypt_data));
    if (!out || out[0] == '*') {
      result.errors.push_back(config::ConfigError{path, "basic_auth_users." + name,
                                                  "this system's crypt(3) cannot verify the hash"});
    }
  }
  return result;
}

bool verify_bcrypt(const std::string& password, const std::string& hash) {
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(password.c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
  if (!out || out[0] == '*') return false;
  std::size_t length = std::strlen(out);
  return length == hash.size() && CRYPTO_memcmp(out, hash.data(), length) == 0;
}

}  // namespace pgpulse::exporter
