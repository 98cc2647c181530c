#pragma once
// The only code that includes libpq-fe.h. A connection whose every wait (connect and query) has a
// client-side deadline and can be interrupted for shutdown: a server that stopped answering cannot
// enforce its own statement_timeout, and SIGTERM must not wait for it either.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/pg/error.hpp"

struct pg_conn;
struct pg_result;

namespace pgpulse::pg {

// Wakes any thread blocked in Connection::open or Connection::query. Once triggered it stays
// triggered: it exists for shutdown.
class Interrupter {
 public:
  Interrupter();
  ~Interrupter();
  Interrupter(const Interrupter&) = delete;
  Interrupter& operator=(const Interrupter&) = delete;
  void trigger();
  bool triggered() const;
  int fd() const { return fd_; }

 private:
  int fd_;
};

struct ConnectOptions {
  std::string dsn;                      // conninfo or URI, expanded by libpq
  std::optional<std::string> password;  // from a password file; overrides the DSN's
  std::optional<std::string> dbname;    // visit another database of the same server
  std::string application_name = "pgpulse";
  Millis connect_timeout{5000};
  Millis statement_timeout{5000};
  Millis lock_timeout{1000};
  // PostgreSQL's session guards: lock_timeout and statement_timeout in the startup packet, then
  // SET statements. PgBouncer's admin console refuses both (an unknown startup parameter, and a
  // SET it does not know), so a pgbouncer target connects with false: the client-side deadline
  // (statement_timeout + 1 s) and the non-blocking poll() still bound every wait.
  bool session_settings = true;
};

class Result {
 public:
  explicit Result(pg_result* result);
  int rows() const;
  bool is_null(int row, int column) const;
  std::string_view text(int row, int column) const;  // "" for NULL
  double number(int row, int column, double if_null = 0.0) const;
  long long integer(int row, int column, long long if_null = 0) const;
  bool boolean(int row, int column) const;   // "t"
  int column_index(const char* name) const;  // throws Error when the column is missing
  int columns() const;
  std::string column_name(int column) const;

 private:
  std::shared_ptr<pg_result> result_;
};

class Connection {
 public:
  // Connects, then (with session_settings) makes the session read-only with statement_timeout
  // and lock_timeout set.
  static Connection open(const ConnectOptions& options, const Interrupter& interrupter);

  // Runs one statement and returns its rows. The deadline is statement_timeout plus a margin;
  // on expiry or interrupt the query is cancelled and the connection is closed.
  Result query(std::string_view sql, const Interrupter& interrupter,
               const std::vector<std::string>& params = {});

  bool usable() const;
  int server_version() const { return server_version_; }

 private:
  explicit Connection(pg_conn* conn, Millis statement_timeout);
  [[noreturn]] void fail_and_close(ErrorKind kind, const std::string& message);

  std::shared_ptr<pg_conn> conn_;
  Millis query_deadline_;
  int server_version_ = 0;
};

// `message` with every secret, and every fragment of one, replaced by "***": libpq's connect
// errors name host and user, and a password misread as part of a host name would follow them.
std::string scrub_secrets(std::string message, const std::vector<std::string>& secrets);

}  // namespace pgpulse::pg
