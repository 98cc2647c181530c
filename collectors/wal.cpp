#include "collectors/wal.hpp"

namespace pgpulse::collectors {

// wal_bytes is numeric: cast, so that it parses as an integer.
const char* const kWalSql = R"SQL(
SELECT wal_bytes::bigint AS bytes, wal_records AS records, wal_fpi AS full_page_images,
       wal_buffers_full AS buffers_full
FROM pg_catalog.pg_stat_wal)SQL";

WalRow parse_wal(const pg::Result& result) {
  WalRow row;
  if (result.rows() < 1) return row;
  auto integer = [&](const char* name) { return result.integer(0, result.column_index(name)); };
  row.bytes = integer("bytes");
  row.records = integer("records");
  row.full_page_images = integer("full_page_images");
  row.buffers_full = integer("buffers_full");
  return row;
}

Families wal_families(const WalRow& row) {
  Families families;
  add_sample(add_counter(families, "pgpulse_wal_bytes_total", "Bytes of WAL generated."), {},
             static_cast<double>(row.bytes));
  add_sample(add_counter(families, "pgpulse_wal_records_total", "WAL records generated."), {},
             static_cast<double>(row.records));
  add_sample(add_counter(families, "pgpulse_wal_full_page_images_total",
                         "Full-page images written to WAL (the first change of each page after "
                         "a checkpoint): frequent checkpoints make many."),
             {}, static_cast<double>(row.full_page_images));
  add_sample(add_counter(families, "pgpulse_wal_buffers_full_total",
                         "Times WAL was written out because wal_buffers were full."),
             {}, static_cast<double>(row.buffers_full));
  return families;
}

Applicability WalCollector::applicability(PollContext& context) {
  if (context.server_version() < kWalStatsMinVersion) {
    return Applicability::no("pg_stat_wal needs PostgreSQL 14 or later");
  }
  return Applicability::yes();
}

CollectorOutput WalCollector::collect(PollContext& context) {
  return CollectorOutput{wal_families(parse_wal(context.query(kWalSql))), nullptr};
}

}  // namespace pgpulse::collectors
