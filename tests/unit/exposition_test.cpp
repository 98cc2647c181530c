#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/exposition.hpp"
#include "core/label_folding.hpp"
#include "core/snapshot_store.hpp"
#include "exporter/metrics_page.hpp"

using namespace pgpulse::core;

namespace {

std::string render_one(const std::string& target, const std::string& label_value) {
  Families families;
  add_sample(add_gauge(families, "example_gauge", "A test gauge."),
             {{"application_name", label_value}}, 1);
  auto rendered = render_families(target, std::move(families));
  REQUIRE(rendered.size() == 1);
  return rendered[0].header + rendered[0].samples;
}

bool valid_utf8(const std::string& s) {
  // Decodes strictly; any invalid sequence fails.
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = s[i];
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

}  // namespace

TEST_CASE("hostile label values are escaped or repaired") {
  CHECK(render_one("t", "a\"b") ==
        "# HELP example_gauge A test gauge.\n# TYPE example_gauge gauge\n"
        "example_gauge{target=\"t\",application_name=\"a\\\"b\"} 1\n");
  CHECK(render_one("t", "back\\slash").find("application_name=\"back\\\\slash\"") !=
        std::string::npos);
  CHECK(render_one("t", "new\nline").find("application_name=\"new\\nline\"") != std::string::npos);
  auto invalid = render_one("t", std::string("caf\xC3", 4) + "\xFF\xFE" + "ok");
  CHECK(valid_utf8(invalid));
  CHECK(invalid.find("application_name=\"caf\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDok\"") !=
        std::string::npos);
}

TEST_CASE("label values are cut at 128 bytes on a character boundary") {
  std::string long_value(200, 'x');
  CHECK(sanitize_label_value(long_value).size() == 128);
  std::string accents;
  for (int i = 0; i < 100; ++i) accents += "\xC3\xA9";  // 200 bytes of "é"
  auto cut = sanitize_label_value(accents);
  CHECK(cut.size() == 128);
  CHECK(valid_utf8(cut));
  CHECK(sanitize_label_value("\xED\xA0\x80") ==
        "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");                          // surrogate
  CHECK(sanitize_label_value("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong "/"
  CHECK(sanitize_label_value("plain") == "plain");
}

TEST_CASE("label folding keeps the heaviest values and folds the rest into other") {
  std::map<std::string, std::size_t> weights{{"web", 10}, {"worker", 5}, {"cron", 5}, {"psql", 1}};
  LabelFold fold(weights, 2);
  CHECK(fold.apply("web") == "web");
  CHECK(fold.apply("cron") == "cron");  // ties broken by name: cron < worker
  CHECK(fold.apply("worker") == "other");
  CHECK(fold.apply("psql") == "other");
  CHECK(fold.folded_values() == 2);
  LabelFold roomy(weights, 4);
  CHECK(roomy.folded_values() == 0);
  CHECK(roomy.apply("psql") == "psql");
}

TEST_CASE("families from several snapshots merge under one header - valid for promtool") {
  SnapshotStore store;
  for (const char* target : {"alpha", "beta"}) {
    Families families;
    add_sample(add_gauge(families, "pgpulse_up", "Up."), {}, 1);
    add_sample(add_counter(families, "pgpulse_connect_errors_total", "Errors."),
               {{"reason", "refused"}}, 3);
    add_sample(add_gauge(families, "pgpulse_connections", "Connections."),
               {{"application_name", std::string("evil\"\n\\\xFF", 7)}}, 2);
    auto snapshot = std::make_shared<Snapshot>();
    snapshot->target = target;
    snapshot->collector = "c";
    snapshot->families = render_families(target, std::move(families));
    store.publish(snapshot);
  }
  auto body = pgpulse::exporter::merge_families(store.view());
  auto count = [&](const std::string& needle) {
    std::size_t n = 0;
    for (auto pos = body.find(needle); pos != std::string::npos; pos = body.find(needle, pos + 1))
      ++n;
    return n;
  };
  CHECK(count("# TYPE pgpulse_up gauge") == 1);
  CHECK(count("pgpulse_up{target=") == 2);
  CHECK(count("# TYPE pgpulse_connect_errors_total counter") == 1);

  auto path = std::filesystem::temp_directory_path() / "pgpulse-merged.prom";
  std::ofstream(path) << body;
  if (std::system("command -v promtool >/dev/null") == 0) {
    auto command = "promtool check metrics < " + path.string();
    CHECK(std::system(command.c_str()) == 0);
  } else {
    WARN("promtool not installed; the integration suite checks live scrapes with it");
  }
}

TEST_CASE("the metrics page is cached until the store changes") {
  SnapshotStore store;
  pgpulse::exporter::MetricsPage page(store);
  auto first = page.body();
  CHECK(page.body() == first);  // same pointer: no re-render
  Families families;
  add_sample(add_gauge(families, "pgpulse_up", "Up."), {}, 1);
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->target = "t";
  snapshot->collector = "c";
  snapshot->families = render_families("t", std::move(families));
  store.publish(snapshot);
  auto second = page.body();
  CHECK(second != first);
  CHECK(second->find("pgpulse_up{target=\"t\"} 1") != std::string::npos);
  store.remove("t", "c");
  CHECK(page.body()->empty());
}
