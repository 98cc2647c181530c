#include "collectors/archiver.hpp"

#include <cmath>

namespace pgpulse::collectors {

const char* const kArchiverSql = R"SQL(
SELECT archived_count, failed_count,
       date_part('epoch', last_archived_time) AS last_archived,
       date_part('epoch', last_failed_time) AS last_failed,
       date_part('epoch', statement_timestamp()) AS now
FROM pg_catalog.pg_stat_archiver)SQL";

ArchiverSummary summarize_archiver(const ArchiverRow& row) {
  ArchiverSummary summary;
  summary.archived = row.archived;
  summary.failed = row.failed;
  bool archived_ever = std::isfinite(row.last_archived);
  if (archived_ever) summary.last_archived_age_seconds = std::max(0.0, row.now - row.last_archived);
  // Failures before the last success are history; one after it means archiving is stuck (the
  // archiver retries the same segment, and WAL piles up in pg_wal meanwhile).
  summary.failing =
      std::isfinite(row.last_failed) && (!archived_ever || row.last_failed > row.last_archived);
  return summary;
}

Families archiver_families(const ArchiverSummary& s) {
  Families families;
  add_sample(add_counter(families, "pgpulse_archiver_archived_total",
                         "WAL files archived successfully by archive_command or archive_library."),
             {}, static_cast<double>(s.archived));
  add_sample(add_counter(families, "pgpulse_archiver_failed_total",
                         "Failed attempts to archive a WAL file."),
             {}, static_cast<double>(s.failed));
  auto& age = add_gauge(families, "pgpulse_archiver_last_archived_age_seconds",
                        "Seconds since the last WAL file was archived; absent before the first.");
  if (s.last_archived_age_seconds) add_sample(age, {}, *s.last_archived_age_seconds);
  add_sample(add_gauge(families, "pgpulse_archiver_failing",
                       "1 when the last archive attempt failed (a failure after the last "
                       "success): WAL accumulates in pg_wal until archiving succeeds."),
             {}, s.failing ? 1 : 0);
  return families;
}

Applicability archiver_applies(const std::string& archive_mode, bool in_recovery) {
  if (archive_mode == "off") return Applicability::no("archive_mode is off");
  if (in_recovery && archive_mode != "always") {
    return Applicability::no("standby with archive_mode on: only the primary archives");
  }
  return Applicability::yes();
}

Applicability ArchiverCollector::applicability(PollContext& context) {
  auto result = context.query(
      "SELECT current_setting('archive_mode') AS archive_mode, pg_is_in_recovery() AS recovery");
  return archiver_applies(std::string(result.text(0, result.column_index("archive_mode"))),
                          result.boolean(0, result.column_index("recovery")));
}

CollectorOutput ArchiverCollector::collect(PollContext& context) {
  auto result = context.query(kArchiverSql);
  ArchiverRow row;
  if (result.rows() > 0) {
    const double nan = std::nan("");
    row.archived = result.integer(0, result.column_index("archived_count"));
    row.failed = result.integer(0, result.column_index("failed_count"));
    row.last_archived = result.number(0, result.column_index("last_archived"), nan);
    row.last_failed = result.number(0, result.column_index("last_failed"), nan);
    row.now = result.number(0, result.column_index("now"), nan);
  }
  return CollectorOutput{archiver_families(summarize_archiver(row)), nullptr};
}

}  // namespace pgpulse::collectors
