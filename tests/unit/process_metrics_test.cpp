#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <thread>

#include "core/snapshot_store.hpp"
#include "core/time.hpp"
#include "daemon/daemon.hpp"
#include "daemon/process_metrics.hpp"

using namespace pgpulse;

TEST_CASE("process metrics: /proc/self/stat fields, counted from the last parenthesis") {
  // man 5 proc: utime 14, stime 15, num_threads 20, starttime 22, vsize 23, rss 24.
  std::string stat =
      "4242 (pg (pulse) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 7 0 3000 "
      "104857600 2560 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n";
  auto stats = daemon::parse_proc_stat(stat, 100, 4096, 1700000000);
  REQUIRE(stats);
  CHECK(stats->cpu_seconds == Approx(3.0));  // (250 + 50) / 100
  CHECK(stats->threads == 7);
  CHECK(stats->start_time_seconds == Approx(1700000030.0));  // boot + 3000 / 100
  CHECK(stats->virtual_memory_bytes == 104857600);
  CHECK(stats->resident_memory_bytes == 2560.0 * 4096);
  CHECK_FALSE(daemon::parse_proc_stat("4242 (pgpulse) S 1 2 3", 100, 4096, 0));
  CHECK_FALSE(daemon::parse_proc_stat("no parenthesis", 100, 4096, 0));
  CHECK(daemon::parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n") ==
        1700000000);
  CHECK_FALSE(daemon::parse_boot_time("cpu  1 2 3\n"));
}

TEST_CASE("process metrics: this process, read from /proc") {
  auto stats = daemon::read_process_stats();
  REQUIRE(stats);
  CHECK(stats->cpu_seconds >= 0);
  CHECK(stats->resident_memory_bytes > 0);
  CHECK(stats->virtual_memory_bytes >= stats->resident_memory_bytes);
  CHECK(stats->threads >= 1);
  CHECK(stats->open_fds >= 3);
  CHECK((stats->max_fds == -1 || stats->max_fds >= stats->open_fds));
  double now = core::unix_now();
  CHECK(stats->start_time_seconds <= now + 1);
  CHECK(stats->start_time_seconds > now - 86400);
}

TEST_CASE("the daemon publishes process_* with its own series and refreshes them on a timer") {
  core::SnapshotStore store;
  daemon::Daemon daemon(store, std::chrono::milliseconds(20));
  daemon.publish_process_metrics(true, 1234);
  auto first = store.view();
  REQUIRE(first.snapshots.size() == 1);
  std::set<std::string> names;
  for (const auto& family : first.snapshots[0]->families) names.insert(family.name);
  for (const char* name :
       {"pgpulse_build_info", "pgpulse_config_last_reload_successful", "process_cpu_seconds_total",
        "process_resident_memory_bytes", "process_virtual_memory_bytes", "process_open_fds",
        "process_max_fds", "process_start_time_seconds", "process_threads"}) {
    INFO(name);
    CHECK(names.count(name) == 1);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (store.generation() < first.generation + 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(store.generation() >= first.generation + 2);  // republished without a reload
  daemon.stop();
  auto stopped = store.generation();
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  CHECK(store.generation() == stopped);  // the timer ends with stop()
}
