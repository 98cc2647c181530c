#include "collectors/checkpoints.hpp"

namespace pgpulse::collectors {

namespace {

// Times are milliseconds (float8), converted in C++.
constexpr const char* kBgwriterSql = R"SQL(
SELECT checkpoints_timed AS timed, checkpoints_req AS requested,
       checkpoint_write_time AS write_ms, checkpoint_sync_time AS sync_ms,
       buffers_checkpoint AS by_checkpointer, buffers_clean AS by_bgwriter,
       buffers_backend AS by_backend, maxwritten_clean, buffers_alloc
FROM pg_catalog.pg_stat_bgwriter)SQL";

// 17 moved buffers_backend to pg_stat_io: the shared-buffer writes of every process other than
// the checkpointer and the background writer, as pg_stat_bgwriter counted them (autovacuum and
// other background workers included). Each write of a relation block is one operation there.
constexpr const char* kCheckpointerSql = R"SQL(
SELECT c.num_timed AS timed, c.num_requested AS requested,
       c.write_time AS write_ms, c.sync_time AS sync_ms,
       c.buffers_written AS by_checkpointer, b.buffers_clean AS by_bgwriter,
       (SELECT coalesce(sum(writes), 0)::bigint FROM pg_catalog.pg_stat_io
         WHERE object = 'relation'
           AND backend_type NOT IN ('checkpointer', 'background writer')) AS by_backend,
       b.maxwritten_clean, b.buffers_alloc
FROM pg_catalog.pg_stat_checkpointer c, pg_catalog.pg_stat_bgwriter b)SQL";

}  // namespace

const char* checkpoints_sql(int server_version) {
  return server_version >= kCheckpointerViewMinVersion ? kCheckpointerSql : kBgwriterSql;
}

CheckpointRow parse_checkpoints(const pg::Result& result) {
  CheckpointRow row;
  if (result.rows() < 1) return row;
  auto integer = [&](const char* name) { return result.integer(0, result.column_index(name)); };
  row.timed = integer("timed");
  row.requested = integer("requested");
  row.write_seconds = result.number(0, result.column_index("write_ms")) / 1000;
  row.sync_seconds = result.number(0, result.column_index("sync_ms")) / 1000;
  row.by_checkpointer = integer("by_checkpointer");
  row.by_bgwriter = integer("by_bgwriter");
  row.by_backend = integer("by_backend");
  row.maxwritten_clean = integer("maxwritten_clean");
  row.buffers_alloc = integer("buffers_alloc");
  return row;
}

Families checkpoint_families(const CheckpointRow& row) {
  Families families;
  auto& checkpoints = add_counter(families, "pgpulse_checkpoints_total",
                                  "Checkpoints by what started them: timed (checkpoint_timeout) or "
                                  "requested (max_wal_size reached, CHECKPOINT, a base backup).");
  add_sample(checkpoints, {{"kind", "timed"}}, static_cast<double>(row.timed));
  add_sample(checkpoints, {{"kind", "requested"}}, static_cast<double>(row.requested));
  auto& seconds = add_counter(families, "pgpulse_checkpoint_seconds_total",
                              "Time checkpoints spent writing buffers out and syncing them to "
                              "disk.");
  add_sample(seconds, {{"phase", "write"}}, row.write_seconds);
  add_sample(seconds, {{"phase", "sync"}}, row.sync_seconds);
  auto& written =
      add_counter(families, "pgpulse_buffers_written_total",
                  "Shared buffers written out, by whom: the checkpointer, the background writer, "
                  "or backends themselves (when neither kept up: a query waits on the write).");
  add_sample(written, {{"by", "checkpointer"}}, static_cast<double>(row.by_checkpointer));
  add_sample(written, {{"by", "bgwriter"}}, static_cast<double>(row.by_bgwriter));
  add_sample(written, {{"by", "backend"}}, static_cast<double>(row.by_backend));
  add_sample(add_counter(families, "pgpulse_bgwriter_maxwritten_clean_total",
                         "Background writer rounds stopped at bgwriter_lru_maxpages."),
             {}, static_cast<double>(row.maxwritten_clean));
  add_sample(add_counter(families, "pgpulse_buffers_allocated_total", "Shared buffers allocated."),
             {}, static_cast<double>(row.buffers_alloc));
  return families;
}

CollectorOutput CheckpointsCollector::collect(PollContext& context) {
  auto row = parse_checkpoints(context.query(checkpoints_sql(context.server_version())));
  return CollectorOutput{checkpoint_families(row), nullptr};
}

}  // namespace pgpulse::collectors
