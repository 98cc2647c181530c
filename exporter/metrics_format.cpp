#include "exporter/metrics_format.hpp"

#include <zlib.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <stdexcept>
#include <vector>

namespace pgpulse::exporter {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// One element of an Accept or Accept-Encoding list: its value and parameters, q apart.
struct Element {
  std::string value;
  std::string version;  // the version parameter, "" when absent
  double q = 1;
};

std::vector<Element> elements(std::string_view header) {
  std::vector<Element> out;
  while (!header.empty()) {
    auto comma = header.find(',');
    auto item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    Element element;
    bool first = true;
    while (true) {
      auto semicolon = item.find(';');
      auto part = trim(item.substr(0, semicolon));
      if (first) {
        element.value = lower(part);
        first = false;
      } else if (auto eq = part.find('='); eq != std::string_view::npos) {
        auto key = lower(trim(part.substr(0, eq)));
        auto value = trim(part.substr(eq + 1));
        if (!value.empty() && value.front() == '"' && value.back() == '"' && value.size() >= 2) {
          value = value.substr(1, value.size() - 2);
        }
        if (key == "q") {
          element.q = std::strtod(std::string(value).c_str(), nullptr);
        } else if (key == "version") {
          element.version = std::string(value);
        }
      }
      if (semicolon == std::string_view::npos) break;
      item = item.substr(semicolon + 1);
    }
    if (!element.value.empty()) out.push_back(std::move(element));
  }
  return out;
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// The HELP text of the 0.0.4 format escapes only '\' and newlines; OpenMetrics also '"'.
std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '"') out += '\\';
    out += c;
  }
  return out;
}

// A sample line "name{labels} value [timestamp]": the value and timestamp spelled as
// OpenMetrics spells them, and counters' samples named name_total.
std::string sample_line(std::string_view line, bool counter_without_total) {
  std::size_t name_end = 0;
  while (name_end < line.size() && line[name_end] != '{' && line[name_end] != ' ') ++name_end;
  std::size_t labels_end = name_end;
  if (labels_end < line.size() && line[labels_end] == '{') {
    bool quoted = false;
    for (++labels_end; labels_end < line.size(); ++labels_end) {
      char c = line[labels_end];
      if (quoted && c == '\\') {
        ++labels_end;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (!quoted && c == '}') {
        ++labels_end;
        break;
      }
    }
  }
  std::string out(line.substr(0, name_end));
  if (counter_without_total) out += "_total";
  out += line.substr(name_end, labels_end - name_end);
  auto rest = trim(line.substr(labels_end));
  auto space = rest.find(' ');
  auto value = rest.substr(0, space);
  if (lower(value) == "nan") value = "NaN";
  out += ' ';
  out += value;
  if (space != std::string_view::npos) {
    auto timestamp = trim(rest.substr(space + 1));
    long long ms = 0;
    auto [end, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ms);
    if (ec == std::errc() && end == timestamp.data() + timestamp.size()) {
      std::string seconds = std::to_string(ms / 1000) + "." + std::to_string(1000 + ms % 1000);
      seconds.erase(seconds.size() - 4, 1);  // "1000+x": three digits of milliseconds
      out += ' ' + seconds;
    }
  }
  return out;
}

}  // namespace

MetricsFormat negotiate_format(std::string_view accept) {
  double openmetrics = -1, text = -1;
  for (const auto& element : elements(accept)) {
    if (element.value == "application/openmetrics-text") {
      if (element.version.empty() || element.version == "1.0.0" || element.version == "0.0.1") {
        openmetrics = std::max(openmetrics, element.q);
      }
    } else if (element.value == "text/plain" || element.value == "*/*" ||
               element.value == "text/*") {
      text = std::max(text, element.q);
    }
  }
  return openmetrics > 0 && openmetrics > text ? MetricsFormat::OpenMetrics : MetricsFormat::Text;
}

bool accepts_gzip(std::string_view accept_encoding) {
  for (const auto& element : elements(accept_encoding)) {
    if ((element.value == "gzip" || element.value == "x-gzip" || element.value == "*") &&
        element.q > 0) {
      return true;
    }
  }
  return false;
}

std::string to_openmetrics(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 16 + 8);
  bool counter_without_total = false;          // the current family: a counter not named *_total
  std::vector<std::string_view> pending_help;  // HELP comes before TYPE: held until TYPE is read
  while (!text.empty()) {
    auto newline = text.find('\n');
    auto line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    if (line.empty()) continue;
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      auto rest = line.substr(7);
      auto space = rest.find(' ');
      std::string name(rest.substr(0, space));
      auto value = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
      if (line[2] == 'H') {
        pending_help.push_back(line);
        continue;
      }
      std::string type(trim(value));
      counter_without_total = false;
      std::string om_name = name;
      if (type == "counter") {
        if (ends_with(name, "_total")) {
          om_name = name.substr(0, name.size() - 6);
        } else {
          counter_without_total = true;
        }
      } else if (type == "untyped") {
        type = "unknown";
      }
      for (auto help : pending_help) {
        auto help_rest = help.substr(7);
        auto help_space = help_rest.find(' ');
        if (help_rest.substr(0, help_space) != name) continue;
        out += "# HELP " + om_name + " ";
        if (help_space != std::string_view::npos)
          out += escape_help(help_rest.substr(help_space + 1));
        out += '\n';
      }
      pending_help.clear();
      out += "# TYPE " + om_name + " " + type + "\n";
      continue;
    }
    if (line.front() == '#') continue;  // other comments have no place in OpenMetrics
    out += sample_line(line, counter_without_total);
    out += '\n';
  }
  out += "# EOF\n";
  return out;
}

std::string gzip(std::string_view data) {
  z_stream stream{};
  // 15 window bits + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    throw std::runtime_error("gzip: deflateInit2 failed");
  }
  std::string out(deflateBound(&stream, static_cast<uLong>(data.size())) + 32, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&stream, Z_FINISH);
  deflateEnd(&stream);
  if (rc != Z_STREAM_END) throw std::runtime_error("gzip: deflate did not finish");
  out.resize(stream.total_out);
  return out;
}

}  // namespace pgpulse::exporter
