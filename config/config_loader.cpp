#include "config/config_loader.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "config/dsn.hpp"
#include "config/secret_file.hpp"
#include "config/target_links.hpp"
#include "config/yaml_source.hpp"

namespace pgpulse::config {

namespace {

const KeySpec* find_by_key(const std::vector<KeySpec>& schema, const std::string& key) {
  for (const auto& spec : schema) {
    if (spec.key == key) return &spec;
  }
  return nullptr;
}

bool read_file(const std::string& path, std::string& out, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read config file (does it exist and is it readable?)";
    return false;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  out = buffer.str();
  return true;
}

// The single-target name when nothing names it: what libpq would connect to.
std::string default_target_name(const Environment& env) {
  auto get = [&](const char* name) {
    auto it = env.find(name);
    return it == env.end() ? std::string() : it->second;
  };
  ParsedDsn dsn;
  if (!get("PGHOST").empty()) dsn.params.push_back({"host", get("PGHOST")});
  if (!get("PGPORT").empty()) dsn.params.push_back({"port", get("PGPORT")});
  if (!get("PGDATABASE").empty()) dsn.params.push_back({"dbname", get("PGDATABASE")});
  return dsn_display_name(dsn);
}

class Merger {
 public:
  Merger(const CommandLine& cli, const Environment& env, const std::vector<CollectorInfo>& infos)
      : cli_(cli), env_(env), infos_(infos), schema_(build_schema(infos)) {}

  LoadResult run() {
    for (const auto& info : infos_) {
      result_.config.collectors[info.name] =
          CollectorConfig{info.default_enabled, info.default_interval};
    }
    result_.errors = cli_.errors;
    load_file();
    bool targets_from_list = apply_target_list();
    apply_pool_list();
    auto dsn_choice = pick(*find_by_key(schema_, "dsn"));
    if (targets_from_list && dsn_choice) {
      if (file_.values.count("dsn")) {
        error(dsn_choice->origin, "dsn", "set either \"dsn\" or \"targets\" in the file, not both");
      } else {
        result_.config.targets.clear();  // --dsn or PGPULSE_DSN outranks the file's targets
        target_origins_.clear();
        targets_from_list = false;
      }
    }
    if (!targets_from_list && !dsn_choice) {
      if (!result_.config.config_file.empty() && file_read_) {
        // A config file that names no server is a mistake (an empty ConfigMap, a bare
        // "targets:"), not a request for libpq's defaults: a SIGHUP with it would drop every
        // configured target.
        names_no_target_ = !file_.blank && !file_.empty.count("targets");
      } else {
        // Nothing named a server: libpq's own PG* variables and defaults decide, as psql would.
        result_.config.targets.push_back(TargetConfig{default_target_name(env_), "", ""});
      }
    }
    for (const auto& spec : schema_) {
      auto chosen = pick(spec);
      if (!chosen || (spec.key == "dsn" && targets_from_list)) continue;
      if (targets_from_list && (spec.key == "target_name" || spec.key == "password_file")) {
        error(chosen->origin, spec.key,
              "applies to the single --dsn target only; set it on each entry of \"targets\"");
        continue;
      }
      auto message = spec.apply(result_.config, chosen->value);
      if (!message.empty()) error(chosen->origin, spec.key, message);
    }
    finish();
    sort_by_file_line();
    return std::move(result_);
  }

 private:
  void load_file() {
    std::string path = cli_.config_path.value;
    std::string origin = cli_.config_path.origin;
    if (path.empty()) {
      if (auto it = env_.find("PGPULSE_CONFIG"); it != env_.end() && !it->second.empty()) {
        path = it->second;
        origin = "environment PGPULSE_CONFIG";
      }
    }
    if (path.empty()) return;
    result_.config.config_file = path;
    std::string text, message;
    if (!read_file(path, text, message)) {
      error(path, "", message + " (named by " + origin + ")");
      return;
    }
    file_ = read_yaml(text, path);
    file_read_ = true;
    result_.errors.insert(result_.errors.end(), file_.errors.begin(), file_.errors.end());
    if (file_.blank) {
      error(path, "",
            "the config file is empty (or only comments): it names no target; list them under "
            "\"targets:\"");
    }
    if (auto it = file_.empty.find("targets"); it != file_.empty.end()) {
      error(it->second, "targets", "is empty: list at least one target (name, dsn)");
    }
    for (const auto& [key, raw] : file_.values) {
      if (!find_by_key(schema_, key)) error(raw.origin, key, "unknown key" + suggestion(key));
    }
    for (const auto& [key, records] : file_.lists) {
      if (key != "targets" && key != "pools") {
        error(records.front().origin, key, "unknown key, or not a list of mappings");
      }
    }
  }

  std::string suggestion(const std::string& key) const {
    auto dot = key.rfind('.');
    std::string leaf = dot == std::string::npos ? key : key.substr(dot + 1);
    for (const auto& spec : schema_) {
      if (spec.key.size() >= leaf.size() &&
          spec.key.compare(spec.key.size() - leaf.size(), leaf.size(), leaf) == 0) {
        return " (did you mean \"" + spec.key + "\"?)";
      }
    }
    return "";
  }

  bool apply_target_list() {
    auto it = file_.lists.find("targets");
    if (it == file_.lists.end()) return false;
    for (const auto& record : it->second) {
      TargetConfig target;
      for (const auto& [field, raw] : record.fields) {
        if (field == "name") {
          target.name = raw.value;
        } else if (field == "dsn") {
          auto parsed = parse_dsn(raw.value);
          if (!parsed.dsn) {
            error(raw.origin, "targets.dsn", "invalid DSN: " + parsed.error);
            continue;
          }
          target.dsn = raw.value;
          if (target.name.empty()) target.name = dsn_display_name(*parsed.dsn);
        } else if (field == "password_file") {
          target.password_file = raw.value;
        } else if (field == "kind") {
          if (raw.value == target_kind_name(TargetKind::Postgres)) {
            target.kind = TargetKind::Postgres;
          } else if (raw.value == target_kind_name(TargetKind::PgBouncer)) {
            target.kind = TargetKind::PgBouncer;
          } else {
            error(raw.origin, "targets.kind",
                  "unknown target kind \"" + raw.value + "\" (expected postgres or pgbouncer)");
          }
        } else if (field == "server") {
          target.server = raw.value;
          if (target.server.empty()) error(raw.origin, "targets.server", "must not be empty");
        } else {
          error(raw.origin, "targets." + field,
                "unknown key in a target (expected name, kind, dsn, password_file, server)");
        }
      }
      if (record.fields.find("dsn") == record.fields.end()) {
        error(record.origin, "targets.dsn", "every target needs a dsn");
      }
      if (auto name = record.fields.find("name"); name != record.fields.end()) {
        target.name = name->second.value;
        if (target.name.empty()) error(name->second.origin, "targets.name", "must not be empty");
      }
      for (auto& e : check_target_kind(target, record)) result_.errors.push_back(std::move(e));
      result_.config.targets.push_back(target);
      target_origins_.push_back(record.origin);
    }
    return true;
  }

  void apply_pool_list() {
    auto it = file_.lists.find("pools");
    if (it == file_.lists.end()) return;
    for (const auto& record : it->second) {
      PoolConfig pool;
      for (const auto& [field, raw_value] : record.fields) {
        const RawValue& raw = raw_value;  // clang < 16 cannot capture a structured binding
        std::string key = "pools." + field;
        auto number = [&](long& out, long minimum) {
          auto message = parse_int(raw.value, minimum, 100000, out);
          if (!message.empty()) error(raw.origin, key, message);
        };
        if (field == "name") {
          pool.name = raw.value;
        } else if (field == "application_name") {
          pool.application_name = raw.value;
        } else if (field == "usename") {
          pool.usename = raw.value;
        } else if (field == "target") {
          pool.target = raw.value;
        } else if (field == "replicas") {
          number(pool.replicas, 1);
        } else if (field == "pool_size") {
          number(pool.pool_size, 0);
        } else if (field == "max_overflow") {
          number(pool.max_overflow, 0);
        } else {
          error(raw.origin, key,
                "unknown key in a pool (expected name, application_name, usename, target, "
                "replicas, pool_size, max_overflow)");
        }
      }
      if (pool.application_name.empty() && pool.usename.empty()) {
        error(record.origin, "pools.application_name",
              "a pool needs an application_name or a usename to match connections");
      }
      if (pool.name.empty())
        pool.name = pool.application_name.empty() ? pool.usename : pool.application_name;
      result_.config.pools.push_back(pool);
      pool_origins_.push_back(record.origin);
    }
  }

  std::optional<RawValue> pick(const KeySpec& spec) const {
    if (auto it = cli_.values.find(spec.key); it != cli_.values.end()) return it->second;
    // An empty variable is an unset one: a compose override or a Kubernetes patch can only set
    // PGPULSE_DSN="" to hand the targets back to the config file, not remove the variable.
    if (auto it = env_.find(spec.env); it != env_.end() && !it->second.empty()) {
      return RawValue{it->second, "environment " + spec.env};
    }
    if (spec.key == "dsn") {
      if (auto it = env_.find("DATA_SOURCE_NAME"); it != env_.end() && !it->second.empty()) {
        return RawValue{it->second, "environment DATA_SOURCE_NAME"};
      }
    }
    if (auto it = file_.values.find(spec.key); it != file_.values.end()) return it->second;
    return std::nullopt;
  }

  void finish() {
    auto& config = result_.config;
    if (names_no_target_ && result_.errors.empty()) {  // said last, when nothing else explains it
      error(config.config_file, "targets",
            "the file names no target: list them under \"targets:\" (name, dsn), or set "
            "\"dsn:\", --dsn or PGPULSE_DSN");
    }
    std::set<std::string> names;
    for (std::size_t i = 0; i < config.targets.size(); ++i) {
      const auto& target = config.targets[i];
      std::string origin = i < target_origins_.size() ? target_origins_[i] : "targets";
      if (!names.insert(target.name).second) {
        error(origin, "targets.name", "duplicate target name \"" + target.name + "\"");
      }
      if (!target.password_file.empty()) {
        if (auto secret = read_secret_file(target.password_file); !secret.error.empty()) {
          error(origin, "password_file", secret.error);
        }
      }
    }
    for (auto& e : check_target_links(config.targets, target_origins_)) {
      result_.errors.push_back(std::move(e));
    }
    std::set<std::pair<std::string, std::string>> pool_names;
    for (std::size_t i = 0; i < config.pools.size(); ++i) {
      const auto& pool = config.pools[i];
      if (!pool.target.empty() && !names.count(pool.target)) {
        error(pool_origins_[i], "pools.target", "no target is named \"" + pool.target + "\"");
      }
      if (!pool_names.insert({pool.target, pool.name}).second) {
        error(pool_origins_[i], "pools.name", "duplicate pool \"" + pool.name + "\"");
      }
    }
    for (auto& [name, collector] : config.collectors) {
      if (collector.interval.count() == 0) collector.interval = config.interval;
    }
  }

  // Flag and environment errors first, in the order given; then the file's, top to bottom.
  void sort_by_file_line() {
    const std::string& file = result_.config.config_file;
    auto line_of = [&](const ConfigError& e) -> long {
      if (file.empty() || e.origin.rfind(file + ":", 0) != 0) return -1;
      return std::strtol(e.origin.c_str() + file.size() + 1, nullptr, 10);
    };
    std::stable_sort(result_.errors.begin(), result_.errors.end(),
                     [&](const auto& a, const auto& b) { return line_of(a) < line_of(b); });
  }

  void error(const std::string& origin, const std::string& key, const std::string& message) {
    result_.errors.push_back(ConfigError{origin, key, message});
  }

  const CommandLine& cli_;
  const Environment& env_;
  const std::vector<CollectorInfo>& infos_;
  std::vector<KeySpec> schema_;
  YamlDocument file_;
  bool file_read_ = false;
  bool names_no_target_ = false;
  std::vector<std::string> target_origins_;
  std::vector<std::string> pool_origins_;
  LoadResult result_;
};

}  // namespace

const char* target_kind_name(TargetKind kind) {
  switch (kind) {
    case TargetKind::PgBouncer:
      return "pgbouncer";
    case TargetKind::Postgres:
      break;
  }
  return "postgres";
}

LoadResult load_config(const CommandLine& command_line, const Environment& env,
                       const std::vector<CollectorInfo>& collectors) {
  return Merger(command_line, env, collectors).run();
}

}  // namespace pgpulse::config
