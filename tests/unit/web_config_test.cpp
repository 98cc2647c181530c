// The web config parser (exporter-toolkit style): every mistake gives file:line: key: message,
// never a hash or a password typed in by mistake; load_web_config checks the TLS material.
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "exporter/web_config.hpp"

using namespace pgpulse::exporter;

namespace {

// "s3cret-pass" at bcrypt cost 4 (fast enough for tests), in the three accepted prefixes.
const std::string kHash2b = "$2b$04$Oz37rc.iHIwUgjyVoaYCduhD9j9PWhA4ZIQRyy/5Xjwo5Mm.sVooK";
const std::string kHash2y = "$2y$04$Oz37rc.iHIwUgjyVoaYCduhD9j9PWhA4ZIQRyy/5Xjwo5Mm.sVooK";
const std::string kHash2a = "$2a$04$Oz37rc.iHIwUgjyVoaYCduhD9j9PWhA4ZIQRyy/5Xjwo5Mm.sVooK";

std::string errors_of(const WebConfigResult& result) {
  return result.error_text();
}

bool has_error(const WebConfigResult& result, const std::string& text) {
  return result.error_text().find(text) != std::string::npos;
}

// A directory with a self-signed certificate and key made by the openssl command line.
struct CertDir {
  std::filesystem::path dir;
  CertDir() {
    dir = std::filesystem::temp_directory_path() / ("pgpulse-webcfg-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    make("cert.pem", "key.pem");
    make("other-cert.pem", "other-key.pem");
  }
  ~CertDir() { std::filesystem::remove_all(dir); }
  void make(const std::string& cert, const std::string& key) const {
    std::string command =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
        "-nodes -days 2 -subj /CN=localhost -keyout '" +
        (dir / key).string() + "' -out '" + (dir / cert).string() + "' >/dev/null 2>&1";
    REQUIRE(std::system(command.c_str()) == 0);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  }
};

}  // namespace

TEST_CASE("web config - an empty file means plain HTTP without users") {
  auto result = parse_web_config("", "/etc/pgpulse/web.yml");
  REQUIRE(result.ok());
  CHECK_FALSE(result.config.tls.has_value());
  CHECK(result.config.basic_auth_users.empty());
  auto none = load_web_config("");
  CHECK(none.ok());
  CHECK(none.config.file.empty());
}

TEST_CASE("web config - TLS and users parse with paths relative to the file") {
  auto result = parse_web_config(
      "tls_server_config:\n"
      "  cert_file: tls/server.crt\n"
      "  key_file: /abs/server.key\n"
      "  min_version: TLS13\n"
      "basic_auth_users:\n"
      "  prometheus: " +
          kHash2y +
          "\n"
          "  alice: '" +
          kHash2b + "'\n",
      "/etc/pgpulse/web.yml");
  REQUIRE(result.ok());
  REQUIRE(result.config.tls.has_value());
  CHECK(result.config.tls->cert_file == "/etc/pgpulse/tls/server.crt");
  CHECK(result.config.tls->key_file == "/abs/server.key");
  CHECK(result.config.tls->min_version == "TLS13");
  CHECK(result.config.tls->client_auth_type == "NoClientCert");
  CHECK(result.config.basic_auth_users.size() == 2);
  CHECK(result.config.basic_auth_users.at("prometheus") == kHash2y);
}

TEST_CASE("web config - mistakes name the file - the line and the key") {
  SECTION("an unknown top-level key") {
    auto result = parse_web_config("basic_auth_users: {}\ntls_config:\n  cert_file: x\n", "w.yml");
    CHECK(errors_of(result) ==
          "w.yml:2: key \"tls_config\": unknown key (expected tls_server_config, "
          "basic_auth_users, http_server_config)\n");
  }
  SECTION("a certificate without its key") {
    auto result = parse_web_config("tls_server_config:\n  cert_file: c.pem\n", "w.yml");
    CHECK(errors_of(result) ==
          "w.yml:2: key \"tls_server_config.key_file\": is required with tls_server_config\n");
  }
  SECTION("an empty tls_server_config") {
    auto result = parse_web_config("tls_server_config:\n", "w.yml");
    CHECK(
        has_error(result, "key \"tls_server_config\": is empty: it needs cert_file and key_file"));
  }
  SECTION("exporter-toolkit keys pgpulse does not implement") {
    auto result = parse_web_config(
        "tls_server_config:\n  cert_file: c\n  key_file: k\n  cipher_suites: "
        "[TLS_AES_128_GCM_SHA256]\n",
        "w.yml");
    CHECK(has_error(result, "w.yml:4: key \"tls_server_config.cipher_suites\": is not supported"));
  }
  SECTION("old TLS versions and nonsense versions") {
    auto result = parse_web_config(
        "tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS11\n  max_version: "
        "1.3\n",
        "w.yml");
    CHECK(has_error(result, "w.yml:4: key \"tls_server_config.min_version\": TLS 1.0 and 1.1"));
    CHECK(
        has_error(result, "w.yml:5: key \"tls_server_config.max_version\": invalid value \"1.3\""));
  }
  SECTION("client certificates need a CA and a policy together") {
    auto no_ca = parse_web_config(
        "tls_server_config:\n  cert_file: c\n  key_file: k\n"
        "  client_auth_type: RequireAndVerifyClientCert\n",
        "w.yml");
    CHECK(has_error(no_ca, "key \"tls_server_config.client_ca_file\": is required when"));
    auto no_policy = parse_web_config(
        "tls_server_config:\n  cert_file: c\n  key_file: k\n  client_ca_file: ca.pem\n", "w.yml");
    CHECK(has_error(no_policy, "client_ca_file is set but client_auth_type is NoClientCert"));
    auto bad_policy = parse_web_config(
        "tls_server_config:\n  cert_file: c\n  key_file: k\n"
        "  client_auth_type: RequestClientCert\n",
        "w.yml");
    CHECK(has_error(bad_policy, "invalid value \"RequestClientCert\""));
  }
  SECTION("a plaintext password where a hash belongs is refused - and never echoed") {
    auto result = parse_web_config("basic_auth_users:\n  prometheus: hunter2-plaintext\n", "w.yml");
    CHECK(has_error(result, "w.yml:2: key \"basic_auth_users.prometheus\": not a bcrypt hash"));
    CHECK_FALSE(has_error(result, "hunter2"));
    auto sha =
        parse_web_config("basic_auth_users:\n  p: $6$salt$abcdefghijklmnopqrstuvwxyz\n", "w.yml");
    CHECK(has_error(sha, "not a bcrypt hash"));
  }
  SECTION("user names cannot hold a colon") {
    auto result = parse_web_config("basic_auth_users:\n  'a:b': " + kHash2y + "\n", "w.yml");
    CHECK(has_error(result, "w.yml:2: key \"basic_auth_users\": a user name must be non-empty"));
  }
  SECTION("users must be a mapping") {
    auto result = parse_web_config("basic_auth_users:\n  - alice\n", "w.yml");
    CHECK(has_error(result, "key \"basic_auth_users\": expected a mapping of user names"));
  }
  SECTION("invalid YAML gives its line") {
    auto result = parse_web_config("basic_auth_users:\n  a: [unclosed\n", "w.yml");
    CHECK(has_error(result, "w.yml:"));
    CHECK(has_error(result, "invalid YAML"));
  }
  SECTION("the top level must be a mapping") {
    auto result = parse_web_config("- a\n- b\n", "w.yml");
    CHECK(has_error(result, "w.yml:1: the top level must be a mapping"));
  }
  SECTION("http_server_config accepts http2 only") {
    CHECK(parse_web_config("http_server_config:\n  http2: false\n", "w.yml").ok());
    auto headers =
        parse_web_config("http_server_config:\n  headers:\n    X-Frame-Options: deny\n", "w.yml");
    CHECK(has_error(headers, "key \"http_server_config.headers\": is not supported by pgpulse"));
  }
}

TEST_CASE("web config - load checks the certificate and key") {
  CertDir certs;
  SECTION("a matching pair loads") {
    auto path = certs.write("web.yml",
                            "tls_server_config:\n  cert_file: cert.pem\n"
                            "  key_file: key.pem\nbasic_auth_users:\n  u: " +
                                kHash2y + "\n");
    auto result = load_web_config(path);
    CHECK(errors_of(result).empty());
    CHECK(result.config.tls->cert_file == (certs.dir / "cert.pem").string());
  }
  SECTION("a key that belongs to another certificate") {
    auto path = certs.write(
        "web.yml", "tls_server_config:\n  cert_file: cert.pem\n  key_file: other-key.pem\n");
    CHECK(errors_of(load_web_config(path)) ==
          path + ": key \"tls_server_config.key_file\": the private key \"" +
              (certs.dir / "other-key.pem").string() + "\" does not match the certificate \"" +
              (certs.dir / "cert.pem").string() + "\"\n");
  }
  SECTION("a missing certificate file") {
    auto path = certs.write("web.yml",
                            "tls_server_config:\n  cert_file: missing.pem\n  key_file: key.pem\n");
    CHECK(has_error(load_web_config(path), "key \"tls_server_config.cert_file\": cannot read \"" +
                                               (certs.dir / "missing.pem").string() + "\""));
  }
  SECTION("a file that is not a certificate") {
    certs.write("garbage.pem", "not a certificate\n");
    auto path = certs.write("web.yml",
                            "tls_server_config:\n  cert_file: garbage.pem\n  key_file: key.pem\n");
    CHECK(has_error(load_web_config(path),
                    "key \"tls_server_config.cert_file\": cannot load certificate"));
  }
  SECTION("client certificate verification with a CA") {
    auto path = certs.write("web.yml",
                            "tls_server_config:\n  cert_file: cert.pem\n"
                            "  key_file: key.pem\n  client_ca_file: other-cert.pem\n"
                            "  client_auth_type: RequireAndVerifyClientCert\n");
    CHECK(errors_of(load_web_config(path)).empty());
  }
  SECTION("a web config file that does not exist") {
    auto result = load_web_config((certs.dir / "nope.yml").string());
    CHECK(has_error(result, "nope.yml: cannot read web config file"));
  }
}

TEST_CASE("web config - bcrypt verification with libxcrypt") {
  for (const auto& hash : {kHash2b, kHash2y, kHash2a}) {
    CHECK(verify_bcrypt("s3cret-pass", hash));
    CHECK_FALSE(verify_bcrypt("s3cret-pas", hash));
    CHECK_FALSE(verify_bcrypt("", hash));
  }
  CHECK_FALSE(verify_bcrypt("s3cret-pass", "$2y$04$tooshort"));
  CHECK_FALSE(verify_bcrypt("s3cret-pass", ""));
}
