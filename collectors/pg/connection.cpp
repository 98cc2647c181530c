#include "collectors/pg/connection.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace pgpulse::pg {

namespace {

using Clock = std::chrono::steady_clock;

// libpq's messages span lines ("...failed: Connection refused\n\tIs the server running...");
// one line each keeps text logs greppable.
std::string trimmed(const char* text) {
  std::string message;
  bool in_space = false;
  for (const char* p = text ? text : ""; *p; ++p) {
    bool space = *p == '\n' || *p == '\t' || *p == '\r' || *p == ' ';
    if (space && !in_space && !message.empty()) message.push_back(' ');
    if (!space) message.push_back(*p);
    in_space = space;
  }
  while (!message.empty() && message.back() == ' ') message.pop_back();
  return message.empty() ? "unknown libpq error" : message;
}

// Server notices (e.g. "terminating connection due to immediate shutdown") go to the log, not
// straight to stderr.
void log_notice(void*, const char* message) {
  spdlog::debug("server notice: {}", trimmed(message));
}

enum class WaitResult { Ready, Deadline, Interrupted, Failed };

WaitResult wait_socket(int socket, bool for_write, Clock::time_point deadline,
                       const Interrupter& interrupter) {
  while (true) {
    auto remaining = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
    if (remaining <= 0) return WaitResult::Deadline;
    pollfd fds[2] = {{socket, static_cast<short>(for_write ? POLLOUT : POLLIN), 0},
                     {interrupter.fd(), POLLIN, 0}};
    int rc = ::poll(fds, 2, static_cast<int>(std::min<long long>(remaining, 1000)));
    if (rc < 0) {
      if (errno == EINTR) continue;
      return WaitResult::Failed;
    }
    if (fds[1].revents & POLLIN) return WaitResult::Interrupted;
    if (fds[0].revents) return WaitResult::Ready;
  }
}

// PQcancel blocks until the server answers, and a hung server never does: cancel on a detached
// thread, and never let more than a few pile up behind a hung server.
std::atomic<int> cancels_in_flight{0};

void cancel_in_background(PGconn* conn) {
  if (cancels_in_flight.load() >= 4) return;
  PGcancel* cancel = PQgetCancel(conn);
  if (!cancel) return;
  ++cancels_in_flight;
  std::thread([cancel] {
    char buffer[256];
    PQcancel(cancel, buffer, sizeof buffer);
    PQfreeCancel(cancel);
    --cancels_in_flight;
  }).detach();
}

// The DSN's own startup options (options='-c search_path=app'), which ours are appended to: the
// last "options" keyword wins in PQconnectStartParams, so ours must carry theirs. PGOPTIONS is
// what libpq would use when the DSN sets none.
std::string dsn_startup_options(const std::string& dsn) {
  std::string found;
  bool set_in_dsn = false;
  if (dsn.find('=') != std::string::npos || dsn.rfind("postgres", 0) == 0) {
    char* error = nullptr;
    if (PQconninfoOption* parsed = PQconninfoParse(dsn.c_str(), &error)) {
      for (auto* option = parsed; option->keyword; ++option) {
        if (std::strcmp(option->keyword, "options") == 0 && option->val) {
          found = option->val;
          set_in_dsn = true;
        }
      }
      PQconninfoFree(parsed);
    }
    if (error) PQfreemem(error);
  }
  if (!set_in_dsn) {
    if (const char* env = std::getenv("PGOPTIONS")) found = env;
  }
  return found;
}

// The passwords a connect error must not show: the password file's, and every password keyword
// of the DSN as libpq reads it (so a misread URI's pieces are covered too).
std::vector<std::string> secrets_of(const ConnectOptions& options) {
  std::vector<std::string> secrets;
  if (options.password) secrets.push_back(*options.password);
  char* error = nullptr;
  if (PQconninfoOption* parsed = PQconninfoParse(options.dsn.c_str(), &error)) {
    for (auto* option = parsed; option->keyword; ++option) {
      if (option->val && *option->val &&
          (std::strcmp(option->keyword, "password") == 0 ||
           std::strcmp(option->keyword, "sslpassword") == 0)) {
        secrets.emplace_back(option->val);
      }
    }
    PQconninfoFree(parsed);
  }
  if (error) PQfreemem(error);
  return secrets;
}

}  // namespace

std::string scrub_secrets(std::string message, const std::vector<std::string>& secrets) {
  // Each secret, and every piece of it between URI delimiters and every tail after one: the
  // fragments that end up in host names or user names when an unencoded delimiter splits it.
  std::vector<std::string> needles;
  for (const auto& secret : secrets) {
    if (secret.empty()) continue;
    needles.push_back(secret);
    std::size_t start = 0;
    for (std::size_t i = 0; i <= secret.size(); ++i) {
      bool delimiter = i == secret.size() || std::strchr("@:/?&,=#", secret[i]) != nullptr;
      if (!delimiter) continue;
      if (i > start) needles.push_back(secret.substr(start, i - start));
      if (i + 1 < secret.size()) needles.push_back(secret.substr(i + 1));  // the tail
      start = i + 1;
    }
  }
  // Longest first, so a piece never leaves part of a longer one behind; pieces of fewer than 3
  // characters would blank out ordinary words and say nothing anyway.
  std::sort(needles.begin(), needles.end(),
            [](const auto& a, const auto& b) { return a.size() > b.size(); });
  for (const auto& needle : needles) {
    if (needle.size() < 3) continue;
    for (auto at = message.find(needle); at != std::string::npos;
         at = message.find(needle, at + 3)) {
      message.replace(at, needle.size(), "***");
    }
  }
  return message;
}

Interrupter::Interrupter() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (fd_ < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
}
Interrupter::~Interrupter() {
  ::close(fd_);
}
void Interrupter::trigger() {
  std::uint64_t one = 1;
  [[maybe_unused]] auto written = ::write(fd_, &one, sizeof one);
}
bool Interrupter::triggered() const {
  pollfd fd{fd_, POLLIN, 0};
  return ::poll(&fd, 1, 0) > 0;
}

Result::Result(pg_result* result) : result_(result, PQclear) {}
int Result::rows() const {
  return PQntuples(result_.get());
}
bool Result::is_null(int row, int column) const {
  return PQgetisnull(result_.get(), row, column) != 0;
}
std::string_view Result::text(int row, int column) const {
  return {PQgetvalue(result_.get(), row, column),
          static_cast<std::size_t>(PQgetlength(result_.get(), row, column))};
}
double Result::number(int row, int column, double if_null) const {
  if (is_null(row, column)) return if_null;
  // from_chars: several times cheaper than strtod (whose exact multi-precision path costs ~1,000
  // instructions per float8 such as "1795312345.123456", 6 per pg_stat_activity row) and
  // independent of the locale. strtod stays the fallback for anything from_chars refuses.
  auto digits = text(row, column);
  double value = 0;
  auto parsed = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (parsed.ec == std::errc()) return value;
  return std::strtod(PQgetvalue(result_.get(), row, column), nullptr);
}
long long Result::integer(int row, int column, long long if_null) const {
  if (is_null(row, column)) return if_null;
  auto digits = text(row, column);
  long long value = 0;
  auto parsed = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (parsed.ec == std::errc()) return value;
  return std::strtoll(PQgetvalue(result_.get(), row, column), nullptr, 10);
}
bool Result::boolean(int row, int column) const {
  return text(row, column) == "t";
}
int Result::column_index(const char* name) const {
  int index = PQfnumber(result_.get(), name);
  if (index < 0) throw Error(ErrorKind::Query, std::string("result has no column ") + name);
  return index;
}

int Result::columns() const {
  return PQnfields(result_.get());
}
std::string Result::column_name(int column) const {
  const char* name = PQfname(result_.get(), column);
  return name ? name : "";
}

Connection::Connection(pg_conn* conn, Millis statement_timeout)
    : conn_(conn, PQfinish), query_deadline_(statement_timeout + Millis{1000}) {}

Connection Connection::open(const ConnectOptions& options, const Interrupter& interrupter) {
  const auto secrets = secrets_of(options);
  auto connect_error = [&](PGconn* conn) {
    auto message = scrub_secrets(trimmed(PQerrorMessage(conn)), secrets);
    return Error(classify_connect_message(message), message, {}, true);
  };
  std::vector<const char*> keys{"dbname", "application_name", "connect_timeout"};
  std::string timeout_seconds = std::to_string(std::max<long long>(
      1, std::chrono::duration_cast<std::chrono::seconds>(options.connect_timeout).count()));
  std::vector<const char*> values{options.dsn.c_str(), options.application_name.c_str(),
                                  timeout_seconds.c_str()};
  if (options.password) {
    keys.push_back("password");
    values.push_back(options.password->c_str());
  }
  if (options.dbname) {  // only the first dbname is expanded as a connection string
    keys.push_back("dbname");
    values.push_back(options.dbname->c_str());
  }
  // The startup packet carries lock_timeout and statement_timeout too: the server applies them
  // before it reads its catalogs, so a backend whose startup waits on a locked pg_class (VACUUM
  // FULL or REINDEX of it) gives up after lock_timeout instead of holding a connection slot
  // until the lock goes, long after pgpulse stopped waiting for it.
  std::string startup;
  if (options.session_settings) {
    startup = dsn_startup_options(options.dsn);
    startup += (startup.empty() ? "" : " ") + std::string("-c lock_timeout=") +
               std::to_string(options.lock_timeout.count()) +
               " -c statement_timeout=" + std::to_string(options.statement_timeout.count());
    keys.push_back("options");
    values.push_back(startup.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);

  PGconn* raw = PQconnectStartParams(keys.data(), values.data(), 1);
  if (!raw) throw Error(ErrorKind::Other, "out of memory starting a connection");
  Connection connection(raw, options.statement_timeout);
  PQsetNoticeProcessor(raw, log_notice, nullptr);
  if (PQstatus(raw) == CONNECTION_BAD) throw connect_error(raw);
  auto deadline = Clock::now() + options.connect_timeout;
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) throw connect_error(raw);
    auto waited = wait_socket(PQsocket(raw), state == PGRES_POLLING_WRITING, deadline, interrupter);
    if (waited == WaitResult::Interrupted) {
      throw Error(ErrorKind::Interrupted, "interrupted by shutdown", {}, true);
    }
    if (waited == WaitResult::Deadline) {
      throw Error(
          ErrorKind::Timeout,
          "connect timeout expired after " + std::to_string(options.connect_timeout.count()) + "ms",
          {}, true);
    }
    state = PQconnectPoll(raw);
  }
  PQsetnonblocking(raw, 1);
  // PgBouncer's console reports its own version ("1.18.0/bouncer"): 11800 here.
  connection.server_version_ = PQserverVersion(raw);
  if (!options.session_settings) return connection;
  // Session guards: a monitor never writes, never waits long on a lock, never runs long.
  // jit=off because JIT compile time dwarfs these small catalog queries; no parallel workers,
  // which the rls catalog query gets at 10,000 tables: two more processes on the server.
  // idle_session_timeout (14+): a role or server setting shorter than the poll interval would end
  // the session between polls and make a healthy server look down.
  connection.query(
      "SET statement_timeout = " + std::to_string(options.statement_timeout.count()) +
          "; SET lock_timeout = " + std::to_string(options.lock_timeout.count()) +
          "; SET default_transaction_read_only = on; SET jit = off"
          "; SET max_parallel_workers_per_gather = 0" +
          (connection.server_version_ >= 140000 ? "; SET idle_session_timeout = 0" : ""),
      interrupter);
  return connection;
}

bool Connection::usable() const {
  return conn_ && PQstatus(conn_.get()) == CONNECTION_OK;
}

void Connection::fail_and_close(ErrorKind kind, const std::string& message) {
  if (conn_ && kind != ErrorKind::Refused) cancel_in_background(conn_.get());
  conn_.reset();
  throw Error(kind, message, {}, true);
}

Result Connection::query(std::string_view sql, const Interrupter& interrupter,
                         const std::vector<std::string>& params) {
  if (!usable()) throw Error(ErrorKind::Refused, "connection is not open", {}, true);
  PGconn* conn = conn_.get();
  std::string statement(sql);
  std::vector<const char*> values;
  for (const auto& param : params) values.push_back(param.c_str());
  // Parameters need the extended protocol; the session setup sends several statements and
  // needs the simple one.
  int sent = params.empty()
                 ? PQsendQuery(conn, statement.c_str())
                 : PQsendQueryParams(conn, statement.c_str(), static_cast<int>(params.size()),
                                     nullptr, values.data(), nullptr, nullptr, 0);
  if (!sent) {
    fail_and_close(ErrorKind::Refused, trimmed(PQerrorMessage(conn)));
  }
  auto deadline = Clock::now() + query_deadline_;
  auto wait = [&](bool for_write) {
    auto waited = wait_socket(PQsocket(conn), for_write, deadline, interrupter);
    if (waited == WaitResult::Interrupted) {
      fail_and_close(ErrorKind::Interrupted, "query interrupted by shutdown");
    }
    if (waited == WaitResult::Deadline) {
      fail_and_close(ErrorKind::Timeout, "no answer within the client deadline of " +
                                             std::to_string(query_deadline_.count()) + "ms");
    }
    if (waited == WaitResult::Failed) fail_and_close(ErrorKind::Other, "poll failed");
  };
  int flushed;
  while ((flushed = PQflush(conn)) == 1) wait(true);
  if (flushed < 0) fail_and_close(ErrorKind::Refused, trimmed(PQerrorMessage(conn)));

  std::optional<Result> last;
  std::optional<Error> error;
  while (true) {
    while (PQisBusy(conn)) {
      wait(false);
      if (!PQconsumeInput(conn)) fail_and_close(ErrorKind::Refused, trimmed(PQerrorMessage(conn)));
    }
    PGresult* raw = PQgetResult(conn);
    if (!raw) break;
    Result result(raw);
    auto status = PQresultStatus(raw);
    if (status == PGRES_FATAL_ERROR && !error) {
      const char* state = PQresultErrorField(raw, PG_DIAG_SQLSTATE);
      std::string sqlstate = state ? state : "";
      error.emplace(classify_sqlstate(sqlstate), trimmed(PQresultErrorMessage(raw)), sqlstate,
                    PQstatus(conn) != CONNECTION_OK);
    }
    last = std::move(result);
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    conn_.reset();
    throw Error(error ? error->kind() : ErrorKind::Refused,
                error ? error->what() : "server closed the connection",
                error ? error->sqlstate() : "", true);
  }
  if (error) throw *error;
  if (!last) throw Error(ErrorKind::Other, "query returned no result");
  return std::move(*last);
}

}  // namespace pgpulse::pg
