#pragma once
// PgBouncer's admin console answers SHOW commands whose column sets change between versions
// (1.18 split cl_cancel_req into cl_active_cancel_req and cl_waiting_cancel_req; 1.24 renamed
// SHOW DATABASES' reserve_pool to reserve_pool_size; 1.23 added per-user limits to SHOW USERS).
// A SHOW result is copied once into a ShowTable and read by column name, with the older and newer
// names of a column tried in turn and a missing column read as absent, never as an error: the
// pgbouncer collectors' maths then work on plain rows that the unit tests build by hand with the
// column sets of each version.
//
// Thread-safety: a ShowTable is a value; immutable once built.
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgpulse::pg {
class Result;
}

namespace pgpulse::collectors {

struct ShowTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;  // nullopt: NULL

  // The index of the first of `names` that is a column, or -1.
  int column(std::initializer_list<std::string_view> names) const;
  bool has(std::initializer_list<std::string_view> names) const { return column(names) >= 0; }
  // Row r's value under the first of `names` present; "" when NULL or no such column.
  std::string text(std::size_t r, std::initializer_list<std::string_view> names) const;
  // As a number; `if_missing` when NULL, not a number or no such column.
  long long integer(std::size_t r, std::initializer_list<std::string_view> names,
                    long long if_missing = 0) const;
  std::optional<long long> maybe_integer(std::size_t r,
                                         std::initializer_list<std::string_view> names) const;
};

ShowTable show_table(const pg::Result& result);

// SHOW CONFIG as key -> value (its "key" and "value" columns).
std::map<std::string, std::string> show_config_values(const ShowTable& table);
// A SHOW CONFIG value as a number; `if_missing` when absent or not a number.
long long config_integer(const std::map<std::string, std::string>& config, const std::string& key,
                         long long if_missing);

// The admin console itself: a database of that name never opens server connections.
inline constexpr const char* kPgBouncerAdminDatabase = "pgbouncer";

}  // namespace pgpulse::collectors
