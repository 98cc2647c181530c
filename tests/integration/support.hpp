#pragma once
// Helpers for integration tests: the PostgreSQL started by scripts/pg_test_server.sh (its
// settings arrive in PGPULSE_TEST_* variables), libpq sessions that create situations, a pgpulse
// child process, and a small HTTP client.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct pg_conn;

namespace pgpulse::testing {

using namespace std::chrono_literals;

struct TestDatabase {
  static std::string env(const char* name);  // fails the test when unset
  static std::string dsn(const std::string& extra = "");
  static std::string host() { return env("PGPULSE_TEST_PGHOST"); }
  static std::string port() { return env("PGPULSE_TEST_PGPORT"); }
  // scripts/pg_test_server.sh start|stop|kill on the test server.
  static void control(const std::string& action);
};

// A plain blocking libpq session, to create the situations pgpulse must see.
class Session {
 public:
  explicit Session(const std::string& dsn);
  ~Session();
  Session(Session&&) noexcept;
  void exec(const std::string& sql);           // throws std::runtime_error on error
  std::string scalar(const std::string& sql);  // first column of the first row
  void send(const std::string& sql);           // starts a query and returns at once
  int backend_pid();

 private:
  pg_conn* conn_;
};

struct HttpResult {
  int status = 0;  // 0: no answer within the timeout
  std::string body;
};
HttpResult http_get(int port, const std::string& path, std::chrono::milliseconds timeout = 3000ms);

// Parsed exposition text: value of the first series of `name` whose labels include `labels`.
class Scrape {
 public:
  explicit Scrape(const std::string& body);
  std::optional<double> value(const std::string& name,
                              const std::map<std::string, std::string>& labels = {}) const;
  double sum(const std::string& name, const std::map<std::string, std::string>& labels = {}) const;
  const std::string& text() const { return text_; }

 private:
  struct Series {
    std::string name;
    std::map<std::string, std::string> labels;
    double value;
  };
  std::vector<Series> series_;
  std::string text_;
};

class PgpulseProcess {
 public:
  // Starts build/pgpulse on a free port with `args` (plus --web.listen-address).
  explicit PgpulseProcess(std::vector<std::string> args,
                          std::map<std::string, std::string> env = {});
  ~PgpulseProcess();
  int port() const { return port_; }
  int pid() const { return pid_; }
  Scrape scrape() const;
  void signal(int signal_number) const;
  // Waits for the process to exit; returns its exit code or -1 after the timeout.
  int wait_exit(std::chrono::milliseconds timeout);
  std::string log() const;

 private:
  int pid_ = -1;
  int port_ = 0;
  std::string log_path_;
};

// Runs a binary to completion; returns exit code, stdout+stderr in `output`.
int run_command(const std::vector<std::string>& argv, std::string& output,
                const std::map<std::string, std::string>& env = {});

int free_port();
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step = 100ms);
std::string pgpulse_binary();
std::string write_temp_file(const std::string& name, const std::string& text);

}  // namespace pgpulse::testing
