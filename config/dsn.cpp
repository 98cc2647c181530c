#include "config/dsn.hpp"

#include <unistd.h>

#include <cctype>

namespace pgpulse::config {

namespace {

// libpq knows password and sslpassword; any key that looks like one is hidden too, so a typo
// such as "Password=..." (which libpq rejects) does not show the secret in logs and pages.
bool is_secret_key(std::string_view key) {
  std::string lower(key);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* hint : {"password", "passwd", "pwd", "secret"}) {
    if (lower.find(hint) != std::string::npos) return true;
  }
  return false;
}

// libpq's connection keywords: the only words a parse error echoes. Any other word may be the rest
// of an unquoted value, such as "words" in password=two words.
bool is_keyword(std::string_view key) {
  static const char* const kKeywords[] = {"host",
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
    if (key == keyword) return true;
  }
  return false;
}

std::string keyword_text(const std::string& key) {
  return is_keyword(key) ? "keyword \"" + key + "\""
                         : "a word that is not a keyword (quote values with spaces: key='a b')";
}

std::optional<std::string> percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size() || !std::isxdigit(static_cast<unsigned char>(in[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      return std::nullopt;
    }
    out.push_back(static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16)));
    i += 2;
  }
  return out;
}

DsnResult fail(std::string message) {
  return DsnResult{std::nullopt, std::move(message)};
}

// Splits "host1:5432,host2" into libpq's comma-separated host and port lists.
bool split_hosts(std::string_view hostlist, std::string& hosts, std::string& ports) {
  std::size_t start = 0;
  bool first = true;
  while (start <= hostlist.size()) {
    auto comma = hostlist.find(',', start);
    auto item = hostlist.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    std::string_view host = item, port;
    if (!item.empty() && item.front() == '[') {  // [ipv6]:port
      auto close = item.find(']');
      if (close == std::string_view::npos) return false;
      host = item.substr(1, close - 1);
      if (close + 1 < item.size()) {
        if (item[close + 1] != ':') return false;
        port = item.substr(close + 2);
      }
    } else if (auto colon = item.rfind(':'); colon != std::string_view::npos) {
      host = item.substr(0, colon);
      port = item.substr(colon + 1);
    }
    auto decoded = percent_decode(host);
    if (!decoded) return false;
    if (!first) {
      hosts += ',';
      ports += ',';
    }
    hosts += *decoded;
    ports += port;
    first = false;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return true;
}

DsnResult parse_uri(std::string_view text, std::size_t scheme_len) {
  ParsedDsn dsn;
  std::string_view rest = text.substr(scheme_len);
  auto query_pos = rest.find('?');
  std::string_view query = query_pos == std::string_view::npos ? "" : rest.substr(query_pos + 1);
  rest = rest.substr(0, query_pos);
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);

  // The user information ends at the first '@', as libpq reads it: an unencoded '@' in the
  // password would otherwise make libpq take the rest of the password for the host name, and
  // then print it in "could not translate host name" errors.
  if (auto at = authority.find('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    if (authority.find('@') != std::string_view::npos) {
      return fail(
          "more than one '@' before the host of the URI: percent-encode an '@' in the user name "
          "or password as %40");
    }
    auto colon = userinfo.find(':');
    auto user = percent_decode(userinfo.substr(0, colon));
    if (!user) return fail("invalid percent-encoding in the user name of the URI");
    if (!user->empty()) dsn.params.push_back({"user", *user});
    if (colon != std::string_view::npos) {
      auto password = percent_decode(userinfo.substr(colon + 1));
      if (!password) return fail("invalid percent-encoding in the password of the URI");
      dsn.params.push_back({"password", *password});
    }
  }
  if (!authority.empty()) {
    std::string hosts, ports;
    if (!split_hosts(authority, hosts, ports)) return fail("invalid host list in the URI");
    if (hosts.find_first_not_of(',') != std::string::npos) dsn.params.push_back({"host", hosts});
    if (ports.find_first_not_of(',') != std::string::npos) {
      for (char c : ports) {
        if (c != ',' && !std::isdigit(static_cast<unsigned char>(c))) {
          return fail("invalid port in the URI");
        }
      }
      dsn.params.push_back({"port", ports});
    }
  }
  if (!path.empty()) {
    auto dbname = percent_decode(path);
    if (!dbname) return fail("invalid percent-encoding in the database name of the URI");
    dsn.params.push_back({"dbname", *dbname});
  }
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return fail("URI query parameter without key=value");
    auto key = percent_decode(pair.substr(0, eq));
    auto value = percent_decode(pair.substr(eq + 1));
    if (!key || !value) return fail("invalid percent-encoding in a URI query parameter");
    dsn.params.push_back({*key, *value});
    query = amp == std::string_view::npos ? "" : query.substr(amp + 1);
  }
  return DsnResult{std::move(dsn), {}};
}

DsnResult parse_keyword_value(std::string_view text) {
  ParsedDsn dsn;
  std::size_t i = 0;
  auto skip_space = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  while (true) {
    skip_space();
    if (i >= text.size()) break;
    std::size_t key_start = i;
    while (i < text.size() && text[i] != '=' &&
           !std::isspace(static_cast<unsigned char>(text[i]))) {
      ++i;
    }
    std::string key(text.substr(key_start, i - key_start));
    skip_space();
    if (i >= text.size() || text[i] != '=') {
      return fail("missing \"=\" after " + keyword_text(key));
    }
    ++i;
    skip_space();
    std::string value;
    if (i < text.size() && text[i] == '\'') {
      ++i;
      bool closed = false;
      while (i < text.size()) {
        char c = text[i++];
        if (c == '\\' && i < text.size()) {
          value.push_back(text[i++]);
        } else if (c == '\'') {
          closed = true;
          break;
        } else {
          value.push_back(c);
        }
      }
      if (!closed) return fail("unterminated quoted value for " + keyword_text(key));
    } else {
      while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        value.push_back(text[i++]);
      }
    }
    if (key.empty()) return fail("empty keyword before \"=\"");
    dsn.params.push_back({std::move(key), std::move(value)});
  }
  return DsnResult{std::move(dsn), {}};
}

std::string quote_value(std::string_view value) {
  bool plain = !value.empty();
  for (char c : value) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '\'' || c == '\\') plain = false;
  }
  if (plain) return std::string(value);
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "'";
}

}  // namespace

std::optional<std::string> ParsedDsn::get(std::string_view key) const {
  std::optional<std::string> found;
  for (const auto& param : params) {
    if (param.key == key) found = param.value;
  }
  return found;
}

namespace {

// A key as an error may print it: plain keyword characters only, so that a value typed where a
// key was expected is never echoed.
// An unknown keyword is never echoed: it may be a piece of a password ("password=two words=x"
// makes "words" a keyword, and "passwordHunter2=x" misses its "=").
std::string hidden_key() {
  return "(not shown)";
}

bool valid_port_list(const std::string& ports) {
  std::size_t start = 0;
  while (start <= ports.size()) {
    auto comma = ports.find(',', start);
    auto port = ports.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!port.empty()) {  // an empty entry of a list means the default port
      if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) {
        return false;
      }
      long number = std::stol(port);
      if (number < 1 || number > 65535) return false;
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return true;
}

// What libpq itself would refuse before connecting: a keyword it does not know (a misspelled
// "passwd" among them), and a port that is not a number.
DsnResult validated(DsnResult parsed) {
  if (!parsed.dsn) return parsed;
  for (const auto& param : parsed.dsn->params) {
    if (!is_keyword(param.key)) {
      return fail("unknown connection keyword " + hidden_key() +
                  " (libpq's keywords: host, port, dbname, user, password, sslmode, ...)");
    }
    if (param.key == "port" && !valid_port_list(param.value)) {
      return fail("invalid port (expected a number from 1 to 65535, or a comma-separated list)");
    }
  }
  return parsed;
}

DsnResult parse_unvalidated(std::string_view text) {
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (text.substr(0, scheme.size()) == scheme) return parse_uri(text, scheme.size());
  }
  return parse_keyword_value(text);
}

}  // namespace

DsnResult parse_dsn(std::string_view text) {
  return validated(parse_unvalidated(text));
}

// Redaction shows what was written, unknown keywords included (redacted like a password when they
// look like one), so a config error about a DSN can show which one it is.
std::string redact_dsn(std::string_view text) {
  auto parsed = parse_unvalidated(text);
  if (!parsed.dsn) return "<unparseable DSN: " + parsed.error + ">";
  std::string out;
  for (const auto& param : parsed.dsn->params) {
    if (!out.empty()) out += ' ';
    // An unknown keyword may be a mistyped "password" ("passwrod", "pas\0\0word"): its value is
    // never shown, nor the keyword itself (it may be a piece of a password too).
    bool known = is_keyword(param.key);
    bool hide = !known || is_secret_key(param.key);
    std::string key = known ? param.key : "unknown_keyword";
    out += key + "=" + (hide ? "***" : quote_value(param.value));
  }
  return out;
}

std::string local_host_name() {
  char buffer[256] = {};
  if (gethostname(buffer, sizeof buffer - 1) != 0 || buffer[0] == '\0') return "localhost";
  return buffer;
}

std::string dsn_display_name(const ParsedDsn& dsn, const std::string& local_host) {
  auto host = dsn.get("host").value_or(dsn.get("hostaddr").value_or(""));
  auto port = dsn.get("port").value_or("");
  auto dbname = dsn.get("dbname").value_or("");
  bool local = host.empty() || host.front() == '/' || host.front() == '@' || host == "localhost" ||
               host == "127.0.0.1" || host == "::1";
  std::string name = local ? local_host : host;
  if (!port.empty()) name += ":" + port;
  if (!dbname.empty()) name += "/" + dbname;
  return name;
}

}  // namespace pgpulse::config
