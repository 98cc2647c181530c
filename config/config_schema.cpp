#include "config/config_schema.hpp"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <regex>
#include <sstream>

#include "config/dsn.hpp"

namespace pgpulse::config {

namespace {

std::string env_name_for(const std::string& flag) {
  std::string env = "PGPULSE_";
  for (char c : flag) {
    env.push_back(c == '.' || c == '-' ? '_' : static_cast<char>(std::toupper(c)));
  }
  return env;
}

std::string flag_for(const std::string& key) {
  std::string flag = key;
  for (char& c : flag) {
    if (c == '_') c = '-';
  }
  return flag;
}

KeySpec make(std::string key, std::string default_text, std::string help,
             std::function<std::string(Config&, const std::string&)> apply,
             std::string metavar = "VALUE") {
  KeySpec spec;
  spec.metavar = std::move(metavar);
  spec.flag = flag_for(key);
  spec.env = env_name_for(spec.flag);
  spec.key = std::move(key);
  spec.default_text = std::move(default_text);
  spec.help = std::move(help);
  spec.apply = std::move(apply);
  return spec;
}

KeySpec duration(std::string key, std::string help, Millis minimum,
                 std::function<Millis&(Config&)> field) {
  Config defaults;
  std::string default_text = format_duration(field(defaults));
  return make(
      std::move(key), default_text, std::move(help),
      [minimum, field](Config& config, const std::string& value) {
        return parse_positive_duration(value, minimum, field(config));
      },
      "DURATION");
}

KeySpec choice(std::string key, std::string help, std::vector<std::string> allowed,
               std::function<std::string&(Config&)> field) {
  Config defaults;
  std::string default_text = field(defaults);
  auto spec = make(std::move(key), default_text, std::move(help),
                   [allowed, field](Config& config, const std::string& value) -> std::string {
                     for (const auto& option : allowed) {
                       if (value == option) {
                         field(config) = value;
                         return "";
                       }
                     }
                     std::string list;
                     for (const auto& option : allowed) list += (list.empty() ? "" : ", ") + option;
                     return "invalid value \"" + value + "\" (expected one of: " + list + ")";
                   });
  spec.metavar = "WORD";
  spec.choices = std::move(allowed);
  return spec;
}

std::string number_text(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

// The default is read from Config{}: written once, in config.hpp.
KeySpec integer(std::string key, std::string help, long minimum, long maximum,
                std::function<long&(Config&)> field) {
  Config defaults;
  return make(
      std::move(key), std::to_string(field(defaults)), std::move(help),
      [=](Config& config, const std::string& value) {
        return parse_int(value, minimum, maximum, field(config));
      },
      "N");
}

KeySpec real(std::string key, std::string help, double minimum, double maximum,
             std::function<double&(Config&)> field) {
  Config defaults;
  return make(
      std::move(key), number_text(field(defaults)), std::move(help),
      [=](Config& config, const std::string& value) {
        return parse_double(value, minimum, maximum, field(config));
      },
      "NUMBER");
}

}  // namespace

std::vector<KeySpec> build_schema(const std::vector<CollectorInfo>& collectors) {
  std::vector<KeySpec> schema;
  auto dsn = make(
      "dsn", "",
      "PostgreSQL connection string or URI of the single target "
      "(also DATA_SOURCE_NAME, and libpq's PG* variables when nothing is set)",
      [](Config& config, const std::string& value) -> std::string {
        auto parsed = parse_dsn(value);
        if (!parsed.dsn) return "invalid DSN: " + parsed.error;
        config.targets = {TargetConfig{dsn_display_name(*parsed.dsn), value, ""}};
        return "";
      },
      "DSN");
  dsn.secret = true;
  schema.push_back(std::move(dsn));
  schema.push_back(make(
      "target_name", "<host:port/dbname>", "target label of the single --dsn target",
      [](Config& config, const std::string& value) -> std::string {
        if (value.empty()) return "target name must not be empty";
        for (auto& target : config.targets) target.name = value;
        return "";
      },
      "NAME"));
  schema.push_back(make(
      "password_file", "", "file whose first line is the single target's password",
      [](Config& config, const std::string& value) -> std::string {
        for (auto& target : config.targets) target.password_file = value;
        return "";
      },
      "FILE"));
  schema.push_back(make(
      "web.listen_address", Config{}.listen_address, "address:port the HTTP endpoint listens on",
      [](Config& config, const std::string& value) -> std::string {
        auto colon = value.rfind(':');
        long port = 0;
        if (colon == std::string::npos ||
            !parse_int(value.substr(colon + 1), 0, 65535, port).empty()) {
          return "invalid listen address \"" + value + "\" (expected host:port)";
        }
        config.listen_address = value;
        return "";
      },
      "HOST:PORT"));
  schema.push_back(make(
      "web.config_file", "",
      "web config file (TLS certificate and key, basic auth users with bcrypt "
      "hashes), as Prometheus' exporter-toolkit",
      [](Config& config, const std::string& value) -> std::string {
        config.web_config_file = value;
        return "";
      },
      "FILE"));
  schema.push_back(choice("log.level", "log level", {"trace", "debug", "info", "warn", "error"},
                          [](Config& c) -> std::string& { return c.log_level; }));
  schema.push_back(choice("log.format", "log format", {"text", "json"},
                          [](Config& c) -> std::string& { return c.log_format; }));
  schema.push_back(make(
      "daemon", "",
      "pgpulse check: read the runbook report of the pgpulse daemon at this URL "
      "(http://host:port) instead of connecting to the targets",
      [](Config& config, const std::string& value) -> std::string {
        if (value.rfind("http://", 0) != 0 || value.size() <= 7) {
          return "expected an http:// URL of a running pgpulse, e.g. "
                 "http://127.0.0.1:9188";
        }
        config.daemon_url = value;
        return "";
      },
      "URL"));
  schema.push_back(choice("output", "report format of pgpulse check", {"text", "json"},
                          [](Config& c) -> std::string& { return c.output; }));
  schema.push_back(duration("interval", "default poll interval of every collector", Millis{100},
                            [](Config& c) -> Millis& { return c.interval; }));
  schema.push_back(duration("pg.connect_timeout", "timeout to establish a connection", Millis{100},
                            [](Config& c) -> Millis& { return c.pg.connect_timeout; }));
  schema.push_back(duration(
      "pg.statement_timeout", "statement_timeout of every query (the client deadline adds 1s)",
      Millis{100}, [](Config& c) -> Millis& { return c.pg.statement_timeout; }));
  schema.push_back(duration("pg.max_backoff", "cap of the reconnect backoff", Millis{100},
                            [](Config& c) -> Millis& { return c.pg.max_backoff; }));
  schema.push_back(integer("labels.max_values",
                           "distinct values per label before the rest fold into \"other\"", 1,
                           100000, [](Config& c) -> long& { return c.label_max_values; }));
  schema.push_back(duration("idle_trend.window", "window of the idle-connection trend",
                            Millis{1000},
                            [](Config& c) -> Millis& { return c.idle_trend.window; }));
  schema.push_back(real("idle_trend.min_growth_per_minute",
                        "idle connections per minute of steady growth that suggests a leak", 0.0001,
                        1e6,
                        [](Config& c) -> double& { return c.idle_trend.min_growth_per_minute; }));
  schema.push_back(real("idle_trend.min_r2",
                        "least-squares fit (R squared) the growth must reach to count as steady", 0,
                        1, [](Config& c) -> double& { return c.idle_trend.min_r2; }));
  std::vector<std::string> default_thresholds;
  for (auto threshold : Config{}.activity.long_query_thresholds) {
    default_thresholds.push_back(format_duration(threshold));
  }
  schema.push_back(make(
      "long_queries.thresholds", joined(default_thresholds),
      "query durations counted by pgpulse_long_queries (comma-separated)",
      [](Config& config, const std::string& value) -> std::string {
        std::vector<Millis> thresholds;
        for (const auto& item : split_list(value)) {
          Millis parsed{0};
          auto error = parse_positive_duration(item, Millis{1000}, parsed);
          if (!error.empty()) return error;
          thresholds.push_back(parsed);
        }
        if (thresholds.empty() || thresholds.size() > 10) {
          return "expected 1 to 10 durations, e.g. 30s,5m";
        }
        config.activity.long_query_thresholds = thresholds;
        return "";
      },
      "DURATIONS"));
  schema.push_back(integer("activity.top_n", "offenders listed on /activity", 1, 1000,
                           [](Config& c) -> long& { return c.activity.top_n; }));
  schema.push_back(integer("activity.query_max_length",
                           "characters of normalised query text shown on /activity", 16, 2048,
                           [](Config& c) -> long& { return c.activity.query_max_length; }));
  auto list = [&](std::string key, std::string help,
                  std::function<std::vector<std::string>&(Config&)> field, bool regex) {
    Config defaults;
    std::string default_text = joined(field(defaults));
    schema.push_back(make(
        std::move(key), default_text.empty() ? "<none>" : default_text, std::move(help),
        [field, regex](Config& config, const std::string& value) -> std::string {
          auto items = split_list(value);
          if (regex) {
            for (const auto& item : items) {
              try {
                std::regex compiled(item);
              } catch (const std::regex_error& e) {
                return "invalid regular expression \"" + item + "\": " + e.what();
              }
            }
          }
          field(config) = items;
          return "";
        },
        regex ? "REGEXES" : "LIST"));
  };
  list(
      "rls.tenant_columns", "columns that make a table a tenant table",
      [](Config& c) -> std::vector<std::string>& { return c.rls.tenant_columns; }, false);
  list(
      "rls.tenant_tables", "regexes over schema.table that are tenant tables too",
      [](Config& c) -> std::vector<std::string>& { return c.rls.tenant_tables; }, true);
  list(
      "rls.databases.include", "databases the rls collector visits (none: every connectable one)",
      [](Config& c) -> std::vector<std::string>& { return c.rls.include_databases; }, false);
  list(
      "rls.exempt_roles", "roles expected to bypass RLS (superuser or BYPASSRLS) without a finding",
      [](Config& c) -> std::vector<std::string>& { return c.rls.exempt_roles; }, false);
  schema.push_back(
      choice("rls.scope", "where tenant tables are judged: in_use (databases that use RLS) or all",
             {"in_use", "all"}, [](Config& c) -> std::string& { return c.rls.scope; }));
  schema.push_back(duration("rls.drift_window",
                            "how long a removed or altered RLS policy stays a finding",
                            Millis{1000}, [](Config& c) -> Millis& { return c.rls.drift_window; }));
  list(
      "rls.databases.exclude", "databases the rls collector skips",
      [](Config& c) -> std::vector<std::string>& { return c.rls.exclude_databases; }, false);
  schema.push_back(integer("rls.max_table_series", "cap of pgpulse_rls_table_protected series", 0,
                           100000, [](Config& c) -> long& { return c.rls.max_table_series; }));
  schema.push_back(integer("seq_scan.min_table_bytes",
                           "tables smaller than this are never seq-scan candidates", 0, 1L << 50,
                           [](Config& c) -> long& { return c.rls.seq_scan.min_table_bytes; }));
  schema.push_back(integer("seq_scan.top_n", "seq-scan-heavy tables with a series of their own", 0,
                           1000, [](Config& c) -> long& { return c.rls.seq_scan.top_n; }));
  schema.push_back(real("seq_scan.min_ratio",
                        "share of rows read by sequential scans that makes a table seq-scan heavy",
                        0, 1, [](Config& c) -> double& { return c.rls.seq_scan.min_ratio; }));
  schema.push_back(integer("vacuum.top_n",
                           "tables per database listed by dead tuples and by time since vacuum", 0,
                           1000, [](Config& c) -> long& { return c.vacuum.top_n; }));
  schema.push_back(integer("vacuum.max_table_series",
                           "cap of tables with pgpulse_table_* series per target", 0, 100000,
                           [](Config& c) -> long& { return c.vacuum.max_table_series; }));
  schema.push_back(integer("statements.top_n",
                           "statements with series of their own (the rest sum into \"other\")", 1,
                           500, [](Config& c) -> long& { return c.statements.top_n; }));
  schema.push_back(duration(
      "statements.slow_mean", "mean time per call over the interval that makes a statement slow",
      Millis{1}, [](Config& c) -> Millis& { return c.statements.slow_mean; }));
  schema.push_back(real("statements.chatty_calls_per_second",
                        "calls per second that make a fast statement chatty (a batch candidate)",
                        0.001, 1e9,
                        [](Config& c) -> double& { return c.statements.chatty_calls_per_second; }));
  schema.push_back(duration("statements.chatty_max_mean",
                            "mean time per call below which a frequent statement counts as chatty",
                            Millis{1},
                            [](Config& c) -> Millis& { return c.statements.chatty_max_mean; }));
  schema.push_back(real("statements.large_result_rows",
                        "rows per call that make a statement's results large", 1, 1e12,
                        [](Config& c) -> double& { return c.statements.large_result_rows; }));
  schema.push_back(integer("statements.text_max_length",
                           "bytes of normalised statement text shown on /statements", 16, 16384,
                           [](Config& c) -> long& { return c.statements.text_max_length; }));
  schema.push_back(make("tracing.url_template", "",
                        "link to a trace from its sqlcommenter traceparent, e.g. "
                        "http://jaeger:16686/trace/{trace_id} ({span_id} too)",
                        [](Config& config, const std::string& value) -> std::string {
                          if (value.empty()) {
                            config.tracing.url_template.clear();
                            return "";
                          }
                          if (value.rfind("http://", 0) != 0 && value.rfind("https://", 0) != 0) {
                            return "expected an http:// or https:// URL";
                          }
                          if (value.find("{trace_id}") == std::string::npos) {
                            return "expected {trace_id} in the template, e.g. "
                                   "http://jaeger:16686/trace/{trace_id}";
                          }
                          config.tracing.url_template = value;
                          return "";
                        }));
  for (const auto& collector : collectors) {
    auto enabled = make("collector." + collector.name + ".enabled",
                        collector.default_enabled ? "true" : "false",
                        "enable the " + collector.name + " collector: " + collector.help,
                        [name = collector.name](Config& config, const std::string& value) {
                          return parse_bool(value, config.collectors[name].enabled);
                        });
    enabled.flag = flag_for("collector." + collector.name);  // --collector.idle-trend
    enabled.env = env_name_for(enabled.flag);
    enabled.boolean = true;
    schema.push_back(std::move(enabled));
    schema.push_back(make(
        "collector." + collector.name + ".interval",
        collector.default_interval.count() > 0 ? format_duration(collector.default_interval)
                                               : "<interval>",
        "poll interval of the " + collector.name + " collector",
        [name = collector.name](Config& config, const std::string& value) {
          return parse_positive_duration(value, Millis{100}, config.collectors[name].interval);
        },
        "DURATION"));
  }
  return schema;
}

}  // namespace pgpulse::config
