#pragma once
// The second kind of collector: one whose data lives in each database's own catalogs (pg_class,
// pg_policy, pg_stat_user_tables). The framework's DatabaseScanner visits every database once
// per scan, one at a time on a short-lived connection of its own, on a thread beside the target's
// fast collectors, and runs every due per-database collector on that visit. A database that
// cannot be read is handed to visit_failed(), so the collector can say "unknown for <db>".
#include <chrono>
#include <string>

#include "collectors/collector.hpp"
#include "collectors/pg/connection.hpp"

namespace pgpulse::collectors {

// One visit: a connection to one database. Lives for one visit on the scanner's thread.
struct VisitContext {
  pg::Connection& connection;
  const pg::Interrupter& interrupter;
  std::string datname;
  std::chrono::system_clock::time_point now;
  std::size_t label_limit = 50;

  pg::Result query(std::string_view sql, const std::vector<std::string>& params = {}) {
    return connection.query(sql, interrupter, params);
  }
};

// Thread-safety: a per-database collector belongs to one target's scanner and is only called
// from that scanner's thread, in the order begin_scan, then visit / visit_failed per database,
// then end_scan.
class DatabaseCollector {
 public:
  virtual ~DatabaseCollector() = default;
  // Cluster-wide reads (roles, settings), once per scan, on the visit to the target's own
  // database, before any visit. Throws pg::Error; the scan then fails as a whole.
  virtual void begin_scan(VisitContext& home) = 0;
  // Whether this collector reads `datname` (include/exclude lists).
  virtual bool wants(const std::string& datname) const = 0;
  // Reads one database. Throws pg::Error: the database is then reported as failed.
  virtual void visit(VisitContext& database) = 0;
  // A database that could not be read this scan, and why (connect refused, no CONNECT
  // privilege, timed out, backed off after earlier timeouts, no connection slot left).
  virtual void visit_failed(const std::string& datname, const std::string& reason) = 0;
  // The scan's output. failed_parts() counts the databases it could not read.
  virtual CollectorOutput end_scan(std::size_t label_limit) = 0;
  virtual std::size_t failed_parts() const = 0;
};

}  // namespace pgpulse::collectors
