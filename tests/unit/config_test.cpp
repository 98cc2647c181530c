#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "config/config_loader.hpp"
#include "config/dsn.hpp"
#include "config/help.hpp"

using namespace pgpulse::config;

namespace {

const std::vector<CollectorInfo> kCollectors{{"connections", true, Millis{0}, "counts"},
                                             {"rls", false, Millis{300000}, "row-level security"}};

std::string write_temp(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / ("pgpulse-test-" + name);
  std::ofstream(path) << text;
  return path.string();
}

LoadResult load(std::vector<std::string> args, Environment env = {}) {
  auto cli = parse_command_line(args, build_schema(kCollectors));
  return load_config(cli, env, kCollectors);
}

}  // namespace

TEST_CASE("defaults apply when nothing is set") {
  auto result = load({});
  REQUIRE(result.ok());
  const auto& c = result.config;
  CHECK(c.listen_address == "0.0.0.0:9188");
  CHECK(c.interval == Millis{15000});
  CHECK(c.collectors.at("connections").enabled);
  CHECK(c.collectors.at("connections").interval == Millis{15000});
  CHECK_FALSE(c.collectors.at("rls").enabled);
  CHECK(c.collectors.at("rls").interval == Millis{300000});
  REQUIRE(c.targets.size() == 1);
  CHECK(c.targets[0].dsn.empty());                // libpq decides from PG* variables
  CHECK(c.targets[0].name == local_host_name());  // differs between hosts
}

TEST_CASE("the single target's name follows libpq's PG* variables") {
  auto result = load({}, {{"PGHOST", "db"}, {"PGPORT", "5433"}, {"PGDATABASE", "app"}});
  REQUIRE(result.ok());
  CHECK(result.config.targets[0].name == "db:5433/app");
}

TEST_CASE("precedence: flags > environment > file > defaults") {
  auto file = write_temp("precedence.yml",
                         "interval: 20s\n"
                         "log:\n  level: warn\n  format: json\n"
                         "web:\n  listen_address: 127.0.0.1:1111\n"
                         "dsn: host=from-file\n");
  struct Case {
    std::vector<std::string> args;
    Environment env;
    std::string interval, level, listen, dsn;
  };
  std::vector<Case> cases{
      {{"--config", file}, {}, "20s", "warn", "127.0.0.1:1111", "host=from-file"},
      {{"--config", file},
       {{"PGPULSE_INTERVAL", "30s"}, {"PGPULSE_DSN", "host=from-env"}},
       "30s",
       "warn",
       "127.0.0.1:1111",
       "host=from-env"},
      {{"--config", file, "--interval", "1s", "--dsn=host=from-flag"},
       {{"PGPULSE_INTERVAL", "30s"}, {"PGPULSE_DSN", "host=from-env"}},
       "1s",
       "warn",
       "127.0.0.1:1111",
       "host=from-flag"},
      {{},
       {{"DATA_SOURCE_NAME", "host=exporter-style"}},
       "15s",
       "info",
       "0.0.0.0:9188",
       "host=exporter-style"},
      {{},
       {{"DATA_SOURCE_NAME", "host=b"}, {"PGPULSE_DSN", "host=a"}},
       "15s",
       "info",
       "0.0.0.0:9188",
       "host=a"},
      {{},
       {{"PGPULSE_CONFIG", file}, {"PGPULSE_WEB_LISTEN_ADDRESS", "127.0.0.1:2"}},
       "20s",
       "warn",
       "127.0.0.1:2",
       "host=from-file"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i);
    auto result = load(cases[i].args, cases[i].env);
    REQUIRE(result.error_text() == "");
    CHECK(format_duration(result.config.interval) == cases[i].interval);
    CHECK(result.config.log_level == cases[i].level);
    CHECK(result.config.listen_address == cases[i].listen);
    REQUIRE(result.config.targets.size() == 1);
    CHECK(result.config.targets[0].dsn == cases[i].dsn);
  }
}

TEST_CASE("collector switches and intervals come from flags - environment and file") {
  auto file = write_temp("collectors.yml",
                         "dsn: host=a\ncollector:\n  rls:\n    enabled: true\n    interval: 2m\n");
  auto result =
      load({"--config", file, "--no-collector.connections", "--collector.rls.interval", "2s"});
  REQUIRE(result.ok());
  CHECK_FALSE(result.config.collectors.at("connections").enabled);
  CHECK(result.config.collectors.at("rls").enabled);
  CHECK(result.config.collectors.at("rls").interval == Millis{2000});
  auto env = load({"--interval", "1s"}, {{"PGPULSE_COLLECTOR_RLS", "true"}});
  REQUIRE(env.ok());
  CHECK(env.config.collectors.at("rls").enabled);
  CHECK(env.config.collectors.at("connections").interval == Millis{1000});
  auto enabled = load({"--collector.rls"});
  REQUIRE(enabled.ok());
  CHECK(enabled.config.collectors.at("rls").enabled);
}

TEST_CASE("a file lists several named targets") {
  auto password = write_temp("password", "s3cret\n");
  auto file = write_temp("targets.yml",
                         "targets:\n"
                         "  - name: orders\n"
                         "    dsn: postgresql://monitor@orders-db/orders\n"
                         "    password_file: " +
                             password +
                             "\n"
                             "  - dsn: host=billing-db dbname=billing\n");
  auto result = load({"--config", file});
  REQUIRE(result.error_text() == "");
  REQUIRE(result.config.targets.size() == 2);
  CHECK(result.config.targets[0].name == "orders");
  CHECK(result.config.targets[0].password_file == password);
  CHECK(result.config.targets[1].name == "billing-db/billing");
  // --dsn outranks the file's list
  auto overridden = load({"--config", file, "--dsn", "host=x", "--target-name", "x"});
  REQUIRE(overridden.ok());
  REQUIRE(overridden.config.targets.size() == 1);
  CHECK(overridden.config.targets[0].name == "x");
}

TEST_CASE("every configuration error names where it came from - the key and the problem") {
  auto bad_yaml = write_temp("bad.yml", "interval: 5s\nlog:\n  level: [\n");
  auto unknown = write_temp("unknown.yml", "interval: 5s\n\nintervall: 10s\nweb:\n  listen: x\n");
  auto bad_values = write_temp("values.yml",
                               "interval: fast\nlog:\n  level: loud\nlabels:\n  max_values: 0\n"
                               "collector:\n  rls:\n    enabled: maybe\n");
  auto top_list = write_temp("toplist.yml", "- a\n- b\n");
  auto targets = write_temp("targets-bad.yml",
                            "targets:\n  - name: a\n    dsn: host=a\n  - name: a\n    dsn: host=b\n"
                            "  - name: c\n    dns: host=c\n  - name: d\n    dsn: \"host='x\"\n");
  auto both = write_temp("both.yml", "dsn: host=a\ntargets:\n  - dsn: host=b\n");
  auto list_pw = write_temp("listpw.yml", "password_file: /x\ntargets:\n  - dsn: host=b\n");
  auto nested = write_temp("nested.yml", "targets:\n  - dsn: host=a\n    name: {x: 1}\n");
  auto listed = write_temp("listed.yml", "widgets:\n  - a: 1\n");

  struct Case {
    std::vector<std::string> args;
    Environment env;
    std::string expected;  // the first error, whole
  };
  std::vector<Case> cases{
      {{"--interval", "fast"},
       {},
       "flag --interval: key \"interval\": invalid duration \"fast\" (expected e.g. 500ms, 15s, "
       "1m, 2h)"},
      {{"--interval=10ms"},
       {},
       "flag --interval: key \"interval\": duration \"10ms\" is below the minimum of 100ms"},
      {{},
       {{"PGPULSE_LOG_LEVEL", "loud"}},
       "environment PGPULSE_LOG_LEVEL: key \"log.level\": invalid value \"loud\" (expected one "
       "of: trace, debug, info, warn, error)"},
      {{"--log.format", "xml"},
       {},
       "flag --log.format: key \"log.format\": invalid value \"xml\" (expected one of: text, "
       "json)"},
      {{"--web.listen-address", "9188"},
       {},
       "flag --web.listen-address: key \"web.listen_address\": invalid listen address \"9188\" "
       "(expected host:port)"},
      {{"--labels.max-values", "ten"},
       {},
       "flag --labels.max-values: key \"labels.max_values\": invalid integer \"ten\""},
      {{"--labels.max-values", "0"},
       {},
       "flag --labels.max-values: key \"labels.max_values\": value 0 is out of range [1, 100000]"},
      {{"--collector.rls=maybe"},
       {},
       "flag --collector.rls: key \"collector.rls.enabled\": invalid boolean \"maybe\" (expected "
       "true or false)"},
      {{"--no-collector.rls=true"},
       {},
       "flag --no-collector.rls: key \"collector.rls.enabled\": --no-collector.rls takes no value"},
      {{"--bogus"}, {}, "flag --bogus: unknown flag (see --help)"},
      {{"--no-interval"}, {}, "flag --no-interval: unknown flag (see --help)"},
      {{"stray"}, {}, "argument \"stray\": unexpected argument (see --help)"},
      {{"--interval"}, {}, "flag --interval: missing value"},
      {{"--dsn", "host=db password"},
       {},
       "flag --dsn: key \"dsn\": invalid DSN: missing \"=\" after keyword \"password\""},
      {{"--target-name="},
       {},
       "flag --target-name: key \"target_name\": target name must not be empty"},
      {{"--password-file", "/nonexistent/pw"},
       {},
       "targets: key \"password_file\": password file \"/nonexistent/pw\" cannot be opened: No "
       "such file or directory"},
      {{"--config", "/nonexistent.yml"},
       {},
       "/nonexistent.yml: cannot read config file (does it exist and is it readable?) (named by "
       "flag --config)"},
      {{"--config", bad_yaml}, {}, bad_yaml + ":4: invalid YAML: end of sequence flow not found"},
      {{"--config", unknown}, {}, unknown + ":3: key \"intervall\": unknown key"},
      {{"--config", bad_values},
       {},
       bad_values +
           ":1: key \"interval\": invalid duration \"fast\" (expected e.g. 500ms, 15s, 1m, "
           "2h)"},
      {{"--config", top_list},
       {},
       top_list + ":1: the top level must be a mapping of keys to values"},
      {{"--config", targets},
       {},
       targets + ":4: key \"targets.name\": duplicate target name \"a\""},
      {{"--config", both},
       {},
       both + ":1: key \"dsn\": set either \"dsn\" or \"targets\" in the file, not both"},
      {{"--config", list_pw},
       {},
       list_pw + ":1: key \"password_file\": applies to the single --dsn target only; set it on "
                 "each entry of \"targets\""},
      {{"--config", nested}, {}, nested + ":3: key \"targets.name\": expected a plain value"},
      {{"--config", listed},
       {},
       listed + ":2: key \"widgets\": unknown key, or not a list of mappings"},
  };
  for (const auto& c : cases) {
    INFO(c.expected);
    auto result = load(c.args, c.env);
    REQUIRE_FALSE(result.ok());
    CHECK(result.errors.front().to_string() == c.expected);
  }
}

TEST_CASE("all errors are reported at once - with lines") {
  auto targets = write_temp("targets-bad2.yml",
                            "targets:\n  - name: a\n    dsn: host=a\n  - name: a\n    dsn: host=b\n"
                            "  - name: c\n  - name: d\n    dsn: \"host='x\"\n");
  auto result = load({"--config", targets});
  auto text = result.error_text();
  CHECK(text.find(targets + ":6: key \"targets.dsn\": every target needs a dsn") !=
        std::string::npos);
  auto typo_field = write_temp("targets-typo.yml", "targets:\n  - name: c\n    dns: host=c\n");
  CHECK(load({"--config", typo_field}).error_text() ==
        typo_field + ":2: key \"targets.dsn\": every target needs a dsn\n" + typo_field +
            ":3: key \"targets.dns\": unknown key in a target (expected name, kind, dsn, "
            "password_file, server)\n");
  CHECK(text.find(targets + ":8: key \"targets.dsn\": invalid DSN: unterminated quoted value for "
                            "keyword \"host\"") != std::string::npos);
  CHECK(text.find(targets + ":4: key \"targets.name\": duplicate target name \"a\"") !=
        std::string::npos);
  auto unknown = write_temp("unknown2.yml", "web:\n  listen: x\n");
  auto suggestion = load({"--config", unknown});
  CHECK(suggestion.error_text() == unknown + ":2: key \"web.listen\": unknown key\n");
  auto typo = write_temp("typo.yml", "log:\n  levle: x\nlevel: y\n");
  CHECK(load({"--config", typo}).error_text() ==
        typo + ":2: key \"log.levle\": unknown key\n" + typo +
            ":3: key \"level\": unknown key (did you mean \"log.level\"?)\n");
}

TEST_CASE("help lists every flag with its environment variable and the collectors") {
  auto help = render_help(build_schema(kCollectors), kCollectors);
  for (const char* needle :
       {"--web.listen-address", "PGPULSE_WEB_LISTEN_ADDRESS", "--[no-]collector.rls",
        "PGPULSE_COLLECTOR_RLS_INTERVAL", "--check-config", "rls", "disabled", "every 5m"}) {
    INFO(needle);
    CHECK(help.find(needle) != std::string::npos);
  }
  CHECK(parse_command_line({"--help"}, build_schema(kCollectors)).action == Action::Help);
  CHECK(parse_command_line({"--version"}, build_schema(kCollectors)).action == Action::Version);
  CHECK(parse_command_line({"--check-config"}, build_schema(kCollectors)).action ==
        Action::CheckConfig);
}

TEST_CASE("pools come from the file with their budgets and are validated") {
  auto file = write_temp("pools.yml",
                         "dsn: host=db\n"
                         "pools:\n"
                         "  - application_name: web\n    replicas: 4\n    pool_size: 5\n"
                         "    max_overflow: 10\n"
                         "  - usename: celery\n    replicas: 8\n    pool_size: 2\n"
                         "    max_overflow: 0\n");
  auto result = load({"--config", file});
  REQUIRE(result.error_text() == "");
  REQUIRE(result.config.pools.size() == 2);
  CHECK(result.config.pools[0].name == "web");
  CHECK(result.config.pools[0].budget() == 60);
  CHECK(result.config.pools[1].name == "celery");
  CHECK(result.config.pools[1].budget() == 16);

  auto bad = write_temp("pools-bad.yml",
                        "dsn: host=db\n"
                        "pools:\n"
                        "  - replicas: 2\n"
                        "  - application_name: web\n    replicas: 0\n"
                        "  - application_name: web\n    target: nowhere\n    poolsize: 3\n");
  CHECK(load({"--config", bad}).error_text() ==
        bad +
            ":3: key \"pools.application_name\": a pool needs an application_name or a usename "
            "to match connections\n" +
            bad + ":5: key \"pools.replicas\": value 0 is out of range [1, 100000]\n" + bad +
            ":6: key \"pools.target\": no target is named \"nowhere\"\n" + bad +
            ":8: key \"pools.poolsize\": unknown key in a pool (expected name, application_name, "
            "usename, target, replicas, pool_size, max_overflow)\n");
}

TEST_CASE("idle trend and long query settings have flags") {
  auto result = load({"--idle-trend.window", "20s", "--idle-trend.min-growth-per-minute", "3",
                      "--idle-trend.min-r2", "0.7", "--long-queries.thresholds", "1s, 5m",
                      "--activity.top-n", "5"});
  REQUIRE(result.error_text() == "");
  CHECK(result.config.idle_trend.window == Millis{20000});
  CHECK(result.config.idle_trend.min_growth_per_minute == 3);
  CHECK(result.config.idle_trend.min_r2 == 0.7);
  CHECK(result.config.activity.long_query_thresholds ==
        std::vector<Millis>{Millis{1000}, Millis{300000}});
  CHECK(result.config.activity.top_n == 5);
  CHECK(
      load({"--long-queries.thresholds", "1s,soon"}).error_text() ==
      "flag --long-queries.thresholds: key \"long_queries.thresholds\": invalid duration \"soon\" "
      "(expected e.g. 500ms, 15s, 1m, 2h)\n");
  CHECK(load({"--idle-trend.min-r2", "1.5"}).error_text() ==
        "flag --idle-trend.min-r2: key \"idle_trend.min_r2\": value 1.5 is out of range "
        "[0.000000, 1.000000]\n");
}

TEST_CASE("a config file that names no target is an error naming the file, whatever its form") {
  for (const auto& [name, text] : std::vector<std::pair<std::string, std::string>>{
           {"empty.yml", ""},
           {"comments.yml", "# nothing here yet\n\n   # still nothing\n"},
           {"bare-targets.yml", "interval: 5s\ntargets:\n"},
           {"empty-list.yml", "targets: []\n"},
           {"no-targets.yml", "interval: 5s\n"}}) {
    auto path = write_temp(name, text);
    auto result = load({"--config", path});
    INFO(name << ": " << result.error_text());
    REQUIRE_FALSE(result.ok());
    CHECK(result.error_text().rfind(path, 0) == 0);  // starts with the file's name
    CHECK(result.error_text().find("unknown key") == std::string::npos);
    CHECK(result.config.targets.empty());  // never the local socket's "default" target
  }
  auto listed = write_temp("one-target.yml", "targets:\n  - name: a\n    dsn: host=a\n");
  CHECK(load({"--config", listed}).ok());
  auto flags_name_it = write_temp("settings-only.yml", "interval: 5s\n");
  CHECK(load({"--config", flags_name_it, "--dsn", "host=a"}).ok());
}

TEST_CASE("statements thresholds from flags and the file") {
  auto defaults = load({});
  REQUIRE(defaults.ok());
  CHECK(defaults.config.statements.top_n == 20);
  CHECK(defaults.config.statements.slow_mean == Millis{1000});
  auto result =
      load({"--statements.top-n", "5", "--statements.slow-mean", "250ms",
            "--statements.chatty-calls-per-second", "20", "--statements.chatty-max-mean", "2ms",
            "--statements.large-result-rows", "500", "--statements.text-max-length", "80"});
  REQUIRE(result.error_text() == "");
  const auto& s = result.config.statements;
  CHECK(s.top_n == 5);
  CHECK(s.slow_mean == Millis{250});
  CHECK(s.chatty_calls_per_second == 20);
  CHECK(s.chatty_max_mean == Millis{2});
  CHECK(s.large_result_rows == 500);
  CHECK(s.text_max_length == 80);
  auto path =
      write_temp("statements.yml", "dsn: host=db\nstatements:\n  top_n: 7\n  slow_mean: 2s\n");
  auto file = load({"--config", path});
  REQUIRE(file.error_text() == "");
  CHECK(file.config.statements.top_n == 7);
  CHECK(file.config.statements.slow_mean == Millis{2000});
  CHECK_THAT(load({"--statements.top-n", "0"}).error_text(), Catch::Contains("out of range"));
}

TEST_CASE("tracing.url_template: an http(s) URL with {trace_id}, from flags and the file") {
  CHECK(load({}).config.tracing.url_template.empty());
  auto result = load({"--tracing.url-template", "http://jaeger:16686/trace/{trace_id}"});
  REQUIRE(result.error_text() == "");
  CHECK(result.config.tracing.url_template == "http://jaeger:16686/trace/{trace_id}");
  auto path = write_temp("tracing.yml",
                         "dsn: host=db\ntracing:\n"
                         "  url_template: https://tempo/explore?trace={trace_id}&span={span_id}\n");
  auto file = load({"--config", path});
  REQUIRE(file.error_text() == "");
  CHECK(file.config.tracing.url_template ==
        "https://tempo/explore?trace={trace_id}&span={span_id}");
  CHECK(load({"--tracing.url-template", "javascript:alert(1)//{trace_id}"}).error_text() ==
        "flag --tracing.url-template: key \"tracing.url_template\": expected an http:// or "
        "https:// URL\n");
  CHECK_THAT(load({"--tracing.url-template", "http://jaeger/trace/"}).error_text(),
             Catch::Contains("expected {trace_id} in the template"));
}
