#include "collectors/sqlcommenter.hpp"

#include <cctype>
#include <map>
#include <optional>

#include "core/exposition.hpp"

namespace pgpulse::collectors {

namespace {

constexpr std::size_t kMaxValueBytes = 256;
constexpr std::size_t kMaxCommentBytes = 4096;  // a longer comment is not sqlcommenter's

bool is_hex_lower(std::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool all_zero(std::string_view text) {
  return text.find_first_not_of('0') == std::string_view::npos;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoding; nullopt on a broken escape.
std::optional<std::string> url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    int high = hex_value(text[i + 1]), low = hex_value(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

bool is_key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
         c == '~' || c == '%';
}

// key='value'(,key='value')* with optional white space around the pairs; nullopt when the body
// is anything else.
std::optional<std::map<std::string, std::string>> parse_pairs(std::string_view body) {
  std::map<std::string, std::string> pairs;
  std::size_t i = 0, n = body.size();
  auto skip_space = [&] {
    while (i < n && std::isspace(static_cast<unsigned char>(body[i]))) ++i;
  };
  skip_space();
  if (i == n) return std::nullopt;
  while (true) {
    std::size_t key_start = i;
    while (i < n && is_key_char(body[i])) ++i;
    if (i == key_start || i >= n || body[i] != '=') return std::nullopt;
    auto key = url_decode(body.substr(key_start, i - key_start));
    ++i;
    if (!key || i >= n || body[i] != '\'') return std::nullopt;
    ++i;
    std::string raw;
    bool closed = false;
    while (i < n) {
      if (body[i] == '\\' && i + 1 < n) {  // meta-character escape: \' and \\ .
        raw.push_back(body[i + 1]);
        i += 2;
      } else if (body[i] == '\'') {
        closed = true;
        ++i;
        break;
      } else {
        raw.push_back(body[i++]);
      }
    }
    auto value = closed ? url_decode(raw) : std::nullopt;
    if (!value) return std::nullopt;
    pairs[*key] = *value;
    skip_space();
    if (i == n) return pairs;
    if (body[i] != ',') return std::nullopt;
    ++i;
    skip_space();
  }
}

// A display value: no control characters (they would garble logs and pages), valid UTF-8, capped.
std::string display_value(const std::string& value) {
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) return "";
  }
  return core::repair_utf8(value, kMaxValueBytes);
}

bool apply_traceparent(const std::string& value, core::TraceContext& out) {
  // version-traceid-parentid-flags: 2, 32, 16 and 2 lowercase hex digits (W3C Trace Context).
  if (value.size() != 55 || value[2] != '-' || value[35] != '-' || value[52] != '-') return false;
  std::string_view v(value);
  auto version = v.substr(0, 2), trace = v.substr(3, 32), span = v.substr(36, 16),
       flags = v.substr(53, 2);
  if (!is_hex_lower(version) || !is_hex_lower(trace) || !is_hex_lower(span) ||
      !is_hex_lower(flags) || version == "ff" || all_zero(trace) || all_zero(span)) {
    return false;
  }
  out.trace_id = std::string(trace);
  out.span_id = std::string(span);
  return true;
}

std::optional<core::TraceContext> from_comment(std::string_view body) {
  if (body.size() > kMaxCommentBytes) return std::nullopt;
  auto pairs = parse_pairs(body);
  if (!pairs) return std::nullopt;
  core::TraceContext out;
  bool known = false;
  for (const auto& [key, value] : *pairs) {
    std::string* field = key == "route"         ? &out.route
                         : key == "controller"  ? &out.controller
                         : key == "action"      ? &out.action
                         : key == "framework"   ? &out.framework
                         : key == "application" ? &out.application
                                                : nullptr;
    if (key == "traceparent") {
      known = true;
      apply_traceparent(value, out);
    } else if (field) {
      known = true;
      *field = display_value(value);
    }
  }
  if (!known) return std::nullopt;
  return out;
}

// Index just past a dollar-quote opening tag ($$ or $tag$) at i, or i when there is none.
std::size_t dollar_tag_end(std::string_view q, std::size_t i) {
  std::size_t j = i + 1;
  while (j < q.size() && (std::isalnum(static_cast<unsigned char>(q[j])) || q[j] == '_')) ++j;
  return j < q.size() && q[j] == '$' ? j + 1 : i;
}

}  // namespace

core::TraceContext parse_sqlcommenter(std::string_view q) {
  std::size_t i = 0, n = q.size();
  while (i < n) {
    char c = q[i];
    if (c == '/' && i + 1 < n && q[i + 1] == '*') {
      std::size_t body_start = i + 2;
      int depth = 0;
      std::size_t body_end = std::string_view::npos;
      while (i < n) {
        if (q.compare(i, 2, "/*") == 0) {
          ++depth;
          i += 2;
        } else if (q.compare(i, 2, "*/") == 0) {
          if (--depth == 0) body_end = i;
          i += 2;
          if (depth == 0) break;
        } else {
          ++i;
        }
      }
      if (body_end == std::string_view::npos) break;  // unterminated (cut by the server)
      if (auto found = from_comment(q.substr(body_start, body_end - body_start))) return *found;
    } else if (c == '-' && i + 1 < n && q[i + 1] == '-') {
      auto end = q.find('\n', i);
      i = end == std::string_view::npos ? n : end;
    } else if (c == '\'') {
      bool backslashes = i > 0 && (q[i - 1] == 'E' || q[i - 1] == 'e');
      ++i;
      while (i < n) {
        if (backslashes && q[i] == '\\') {
          i += 2;
        } else if (q[i] == '\'' && i + 1 < n && q[i + 1] == '\'') {
          i += 2;
        } else if (q[i] == '\'') {
          ++i;
          break;
        } else {
          ++i;
        }
      }
    } else if (c == '"') {
      auto close = q.find('"', i + 1);
      i = close == std::string_view::npos ? n : close + 1;
    } else if (c == '$' && dollar_tag_end(q, i) != i &&
               (i == 0 || !(std::isalnum(static_cast<unsigned char>(q[i - 1])) || q[i - 1] == '_' ||
                            q[i - 1] == '$'))) {
      auto tag_end = dollar_tag_end(q, i);
      auto close = q.find(q.substr(i, tag_end - i), tag_end);
      i = close == std::string_view::npos ? n : close + (tag_end - i);
    } else {
      ++i;
    }
  }
  return {};
}

std::string trace_url(const std::string& url_template, const core::TraceContext& trace) {
  if (url_template.empty() || trace.trace_id.empty()) return "";
  std::string out;
  for (std::size_t i = 0; i < url_template.size();) {
    if (url_template.compare(i, 10, "{trace_id}") == 0) {
      out += trace.trace_id;
      i += 10;
    } else if (url_template.compare(i, 9, "{span_id}") == 0) {
      out += trace.span_id;
      i += 9;
    } else {
      out.push_back(url_template[i++]);
    }
  }
  return out;
}

core::TraceContext trace_context(std::string_view query, const std::string& url_template) {
  auto trace = parse_sqlcommenter(query);
  trace.url = trace_url(url_template, trace);
  return trace;
}

}  // namespace pgpulse::collectors
