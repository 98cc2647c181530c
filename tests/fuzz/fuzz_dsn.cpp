// DSN parser and redaction under arbitrary input. Properties, beyond "no crash" under ASan/UBSan:
//  - redact_dsn's output parses again, to the same keys and non-secret values, every secret "***";
//  - a password never appears in the redacted text or the display name unless it is also part of
//    a non-secret key or value;
//  - a parse error quotes nothing but "=" and libpq keywords: any other word could be a piece of
//    a password (e.g. the second word of an unquoted "password=two words").
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/dsn.hpp"

using pgpulse::config::dsn_display_name;
using pgpulse::config::DsnParam;
using pgpulse::config::parse_dsn;
using pgpulse::config::redact_dsn;

namespace {

// As redact_dsn: any key containing "password", whatever its case.
bool is_secret(const std::string& key) {
  std::string lower = key;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("password") != std::string::npos;
}

// A key libpq could accept (its keywords are identifiers). Other keys, which libpq rejects anyway,
// cannot always be written back as key=value ("a b", "x=y", "postgres://..."), so the round trip
// is checked without them.
bool plain_key(const std::string& key) {
  if (key.empty()) return false;
  for (unsigned char c : key) {
    if (!std::isalnum(c) && c != '_') return false;
  }
  return true;
}

[[noreturn]] void fail(const char* what, std::string_view input, std::string_view detail) {
  std::fprintf(stderr, "fuzz_dsn: %s\ninput: [%.*s]\ndetail: [%.*s]\n", what,
               static_cast<int>(input.size()), input.data(), static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

// A password that, if it shows up in a rendering, can only have been copied there: long enough,
// and made of none of the characters that separate, quote or replace values.
bool distinctive(const std::string& value) {
  if (value.size() < 6) return false;
  for (unsigned char c : value) {
    if (c == ' ' || c == '=' || c == '\'' || c == '\\' || c == '*' || c == '"' || c == '/' ||
        c == ':' || c == ',' || c == '@' || c == '?' || c == '&' || c == '%' ||
        (c >= 9 && c <= 13)) {
      return false;
    }
  }
  return true;
}

bool inside_non_secret(const std::vector<DsnParam>& params, const std::string& value) {
  for (const auto& param : params) {
    if (param.key.find(value) != std::string::npos) return true;
    if (!is_secret(param.key) && param.value.find(value) != std::string::npos) return true;
  }
  return false;
}

// The quoted parts of an error message: where input text could have been echoed.
std::vector<std::string> quoted(const std::string& message) {
  std::vector<std::string> parts;
  for (std::size_t open = message.find('"'); open != std::string::npos;) {
    auto close = message.find('"', open + 1);
    if (close == std::string::npos) break;
    parts.push_back(message.substr(open + 1, close - open - 1));
    open = message.find('"', close + 1);
  }
  return parts;
}

// The words a parse error may quote: "=" and libpq's keywords (as config/dsn.cpp lists them).
bool may_echo(const std::string& word) {
  static const char* const kKeywords[] = {"=",
                                          "host",
                                          "hostaddr",
                                          "port",
                                          "dbname",
                                          "user",
                                          "password",
                                          "passfile",
                                          "channel_binding",
                                          "connect_timeout",
                                          "client_encoding",
                                          "options",
                                          "application_name",
                                          "fallback_application_name",
                                          "keepalives",
                                          "keepalives_idle",
                                          "keepalives_interval",
                                          "keepalives_count",
                                          "tcp_user_timeout",
                                          "replication",
                                          "gssencmode",
                                          "sslmode",
                                          "requiressl",
                                          "sslcompression",
                                          "sslcert",
                                          "sslkey",
                                          "sslpassword",
                                          "sslcertmode",
                                          "sslrootcert",
                                          "sslcrl",
                                          "sslcrldir",
                                          "sslsni",
                                          "requirepeer",
                                          "require_auth",
                                          "ssl_min_protocol_version",
                                          "ssl_max_protocol_version",
                                          "krbsrvname",
                                          "gsslib",
                                          "gssdelegation",
                                          "service",
                                          "target_session_attrs",
                                          "load_balance_hosts"};
  for (const char* keyword : kKeywords) {
    if (word == keyword) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_dsn(text);
  auto redacted = redact_dsn(text);

  if (!parsed.dsn) {
    if (parsed.error.empty()) fail("parse failed without an error", text, "");
    // Text libpq rejects only for its keywords or port is still shown redacted (so a config error
    // can say which DSN), and then only known keywords keep their values.
    if (redacted.rfind("<unparseable DSN: ", 0) != 0) {
      if (redact_dsn(redacted) != redacted) fail("redaction is not stable", text, redacted);
    }
    // Anything else could be a piece of a password, as "words" in password=two words.
    for (const auto& echoed : quoted(parsed.error)) {
      if (!may_echo(echoed))
        fail("error message echoes input that is not a keyword", text, parsed.error);
    }
    return 0;
  }

  const auto& params = parsed.dsn->params;
  bool plain = true;
  for (const auto& param : params) plain = plain && plain_key(param.key);
  if (plain) {
    auto again = parse_dsn(redacted);
    if (!again.dsn) fail("redacted DSN does not parse", text, redacted);
    const auto& round = again.dsn->params;
    if (round.size() != params.size())
      fail("redaction changed the parameter count", text, redacted);
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (round[i].key != params[i].key) fail("redaction changed a key", text, redacted);
      if (is_secret(params[i].key) ? round[i].value != "***" : round[i].value != params[i].value) {
        fail("redaction changed a value or kept a secret", text, redacted);
      }
    }
  }
  auto display = dsn_display_name(*parsed.dsn);
  for (const auto& param : params) {
    if (!is_secret(param.key) || !distinctive(param.value)) continue;
    if (inside_non_secret(params, param.value)) continue;
    if (redacted.find(param.value) != std::string::npos) {
      fail("password in the redacted DSN", text, redacted);
    }
    bool display_default = std::string("localhost default").find(param.value) != std::string::npos;
    if (!display_default && display.find(param.value) != std::string::npos) {
      fail("password in the display name", text, display);
    }
  }
  return 0;
}
