// Targets of kind pgbouncer in the config: the server: link and its checks, and empty
// environment variables standing for unset ones (how a compose override or a Kubernetes patch
// hands the targets back to the file).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "config/config_loader.hpp"

using namespace pgpulse::config;

namespace {

const std::vector<CollectorInfo> kCollectors{{"connections", true, Millis{0}, "counts"}};

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

TEST_CASE("a pgbouncer target names the postgres target it fronts") {
  auto file = write_temp("pgbouncer.yml",
                         "targets:\n"
                         "  - name: bouncer\n"
                         "    kind: pgbouncer\n"
                         "    server: db\n"
                         "    dsn: host=pgb port=6432 dbname=pgbouncer user=stats\n"
                         "  - name: db\n"
                         "    dsn: host=db dbname=app\n"
                         "  - name: lone\n"
                         "    kind: pgbouncer\n"
                         "    dsn: host=pgb2 port=6432 dbname=pgbouncer\n");
  auto result = load({"--config", file});
  REQUIRE(result.error_text() == "");
  REQUIRE(result.config.targets.size() == 3);
  CHECK(result.config.targets[0].kind == TargetKind::PgBouncer);
  CHECK(result.config.targets[0].server == "db");
  CHECK(result.config.targets[1].kind == TargetKind::Postgres);
  CHECK(result.config.targets[1].server.empty());
  CHECK(result.config.targets[2].server.empty());  // server is optional
  CHECK(std::string(target_kind_name(TargetKind::PgBouncer)) == "pgbouncer");

  struct Case {
    std::string yaml, expected;
  };
  std::vector<Case> cases{
      {"targets:\n  - name: b\n    kind: pgbouncer\n    server: nowhere\n    dsn: "
       "dbname=pgbouncer\n",
       ":2: key \"targets.server\": no target is named \"nowhere\""},
      {"targets:\n  - name: b\n    kind: pgbouncer\n    server: c\n    dsn: dbname=pgbouncer\n"
       "  - name: c\n    kind: pgbouncer\n    dsn: dbname=pgbouncer\n",
       ":2: key \"targets.server\": \"c\" is not a postgres target: server names the PostgreSQL "
       "target this PgBouncer fronts"},
      {"targets:\n  - name: a\n    server: b\n    dsn: host=a\n"
       "  - name: b\n    dsn: host=b\n",
       ":3: key \"targets.server\": only a pgbouncer target (kind: pgbouncer) names the server it "
       "fronts"},
      {"targets:\n  - name: b\n    kind: pgbouncer\n    dsn: host=pgb dbname=app\n",
       ":4: key \"targets.dsn\": a pgbouncer target connects to the admin console: "
       "dbname=pgbouncer, not \"app\""},
      {"targets:\n  - name: b\n    kind: bouncer\n    dsn: host=pgb\n",
       ":3: key \"targets.kind\": unknown target kind \"bouncer\" (expected postgres or "
       "pgbouncer)"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    auto path = write_temp("pgbouncer-bad" + std::to_string(i) + ".yml", cases[i].yaml);
    auto bad = load({"--config", path});
    INFO(cases[i].yaml);
    CHECK(bad.error_text() == path + cases[i].expected + "\n");
  }
}

TEST_CASE("an empty environment variable counts as unset, so the file's targets apply") {
  auto file = write_temp("empty-env.yml",
                         "targets:\n  - name: db\n    dsn: host=db\n"
                         "  - name: bouncer\n    kind: pgbouncer\n    server: db\n"
                         "    dsn: host=db port=6432 dbname=pgbouncer\n");
  auto result = load({"--config", file}, {{"PGPULSE_DSN", ""},
                                          {"DATA_SOURCE_NAME", ""},
                                          {"PGPULSE_TARGET_NAME", ""},
                                          {"PGPULSE_LOG_LEVEL", ""}});
  REQUIRE(result.error_text() == "");
  CHECK(result.config.targets.size() == 2);
  CHECK(result.config.log_level == "info");
  auto set = load({"--config", file}, {{"PGPULSE_DSN", "host=x"}});
  REQUIRE(set.ok());
  CHECK(set.config.targets.size() == 1);  // a set one still outranks the file's list
}
