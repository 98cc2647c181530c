#include "collectors/pgbouncer_show.hpp"

#include <charconv>

#include "collectors/pg/connection.hpp"

namespace pgpulse::collectors {

namespace {

std::optional<long long> parse_integer(std::string_view text) {
  // PgBouncer pads some numbers ("%9d" for SHOW USERS' pool_size in 1.23+).
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  long long value = 0;
  auto parsed = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || parsed.ec != std::errc() || parsed.ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

int ShowTable::column(std::initializer_list<std::string_view> names) const {
  for (auto name : names) {
    for (std::size_t i = 0; i < columns.size(); ++i) {
      if (columns[i] == name) return static_cast<int>(i);
    }
  }
  return -1;
}

std::string ShowTable::text(std::size_t r, std::initializer_list<std::string_view> names) const {
  int c = column(names);
  if (c < 0 || r >= rows.size() || static_cast<std::size_t>(c) >= rows[r].size()) return "";
  return rows[r][static_cast<std::size_t>(c)].value_or("");
}

std::optional<long long> ShowTable::maybe_integer(
    std::size_t r, std::initializer_list<std::string_view> names) const {
  int c = column(names);
  if (c < 0 || r >= rows.size() || static_cast<std::size_t>(c) >= rows[r].size()) {
    return std::nullopt;
  }
  const auto& value = rows[r][static_cast<std::size_t>(c)];
  if (!value) return std::nullopt;
  return parse_integer(*value);
}

long long ShowTable::integer(std::size_t r, std::initializer_list<std::string_view> names,
                             long long if_missing) const {
  return maybe_integer(r, names).value_or(if_missing);
}

ShowTable show_table(const pg::Result& result) {
  ShowTable table;
  for (int c = 0; c < result.columns(); ++c) table.columns.emplace_back(result.column_name(c));
  table.rows.reserve(static_cast<std::size_t>(result.rows()));
  for (int r = 0; r < result.rows(); ++r) {
    auto& row = table.rows.emplace_back();
    for (int c = 0; c < result.columns(); ++c) {
      if (result.is_null(r, c)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(result.text(r, c)));
      }
    }
  }
  return table;
}

std::map<std::string, std::string> show_config_values(const ShowTable& table) {
  std::map<std::string, std::string> values;
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    values[table.text(r, {"key"})] = table.text(r, {"value"});
  }
  return values;
}

long long config_integer(const std::map<std::string, std::string>& config, const std::string& key,
                         long long if_missing) {
  auto it = config.find(key);
  if (it == config.end()) return if_missing;
  return parse_integer(it->second).value_or(if_missing);
}

}  // namespace pgpulse::collectors
