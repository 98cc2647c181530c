#include "config/help.hpp"

#include <algorithm>
#include <sstream>
#include <vector>

namespace pgpulse::config {

namespace {

constexpr std::size_t kIndent = 2;       // before a flag
constexpr std::size_t kColumn = 34;      // where descriptions start
constexpr std::size_t kWidth = 79;       // the last column used
constexpr std::size_t kNameColumn = 18;  // collector descriptions, after the name

// A word longer than a line (a comma-separated default list) is cut after its commas, so that
// no line passes the width; a piece with no comma to cut at still gets a line of its own.
std::vector<std::string> pieces(const std::string& word, std::size_t room) {
  std::vector<std::string> out;
  std::string rest = word;
  while (rest.size() > room) {
    auto cut = rest.rfind(',', room - 1);
    if (cut == std::string::npos) break;
    out.push_back(rest.substr(0, cut + 1));
    rest.erase(0, cut + 1);
  }
  out.push_back(rest);
  return out;
}

// Words of `text` from column `column` on, on as many lines as the width needs; every line but
// the first starts with `column` spaces.
std::string wrap(const std::string& text, std::size_t column) {
  std::istringstream words(text);
  std::string out, word;
  std::size_t at = column;
  bool first = true;
  auto put = [&](const std::string& piece, bool glued) {
    if (!first && at + (glued ? 0 : 1) + piece.size() > kWidth) {
      out += "\n" + std::string(column, ' ');
      at = column;
      first = true;
    }
    if (!first && !glued) {
      out += ' ';
      ++at;
    }
    out += piece;
    at += piece.size();
    first = false;
  };
  while (words >> word) {
    bool glued = false;
    for (const auto& piece : pieces(word, kWidth - column)) {
      put(piece, glued);
      glued = true;
    }
  }
  return out;
}

// "  --flag VALUE" then the description in the column, or on the next line when the flag
// reaches it: columns never run together.
void entry(std::ostringstream& out, const std::string& flag, const std::string& text) {
  std::string head = std::string(kIndent, ' ') + flag;
  if (head.size() + 2 > kColumn) {
    out << head << "\n" << std::string(kColumn, ' ');
  } else {
    out << head << std::string(kColumn - head.size(), ' ');
  }
  out << wrap(text, kColumn) << "\n";
}

std::string joined(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

std::string describe(const KeySpec& spec) {
  std::string text = spec.help;
  std::vector<std::string> notes;
  if (!spec.choices.empty()) notes.push_back("one of: " + joined(spec.choices, ", "));
  if (!spec.default_text.empty()) notes.push_back("default " + spec.default_text);
  if (!notes.empty()) text += " (" + joined(notes, "; ") + ")";
  return text + "; env " + spec.env + ", key " + spec.key;
}

}  // namespace

std::string render_help(const std::vector<KeySpec>& schema,
                        const std::vector<CollectorInfo>& collectors) {
  std::ostringstream out;
  out << "Usage: pgpulse [flags]          run the daemon\n"
         "       pgpulse check [flags]    run the incident runbook once against every\n"
         "                                target and exit 0 healthy, 1 warning, 2\n"
         "                                critical, 3 could not run\n\n"
         "Watches PostgreSQL (connections, locks, row-level security, database health,\n"
         "replication, statements) and PgBouncer, and serves Prometheus metrics on\n"
         "/metrics. Precedence: flags > environment > config file > defaults. Every flag\n"
         "is also an environment variable (env) and a YAML config file key (key).\n"
         "Flag words are joined by dashes (--collector.idle-trend); the underscore\n"
         "spelling (--collector.idle_trend) is a deprecated alias.\n\n"
         "Options:\n";
  entry(out, "--config FILE", "YAML config file; env PGPULSE_CONFIG");
  entry(out, "--check-config", "validate the configuration, list the targets and exit");
  entry(out, "--version", "print the version and exit");
  entry(out, "-h, --help", "print this help and exit");
  for (const auto& spec : schema) {
    entry(out, spec.boolean ? "--[no-]" + spec.flag : "--" + spec.flag + " " + spec.metavar,
          describe(spec));
  }
  out << "\nCollectors:\n";
  std::size_t name_width = kNameColumn - kIndent - 2;
  for (const auto& info : collectors) name_width = std::max(name_width, info.name.size());
  for (const auto& info : collectors) {
    std::string every =
        info.default_interval.count() ? format_duration(info.default_interval) : "--interval";
    std::string line = std::string(kIndent, ' ') + info.name +
                       std::string(name_width + 2 - info.name.size(), ' ') +
                       (info.default_enabled ? "enabled " : "disabled") + "  every " + every;
    out << line << "\n"
        << std::string(kIndent + name_width + 2, ' ') << wrap(info.help, kIndent + name_width + 2)
        << "\n";
  }
  out << "\nDurations: 500ms, 15s, 1m30s, 2h. DURATIONS and LIST: comma-separated.\n";
  return out.str();
}

}  // namespace pgpulse::config
