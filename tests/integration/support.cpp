#include "support.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace pgpulse::testing {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

std::string TestDatabase::env(const char* name) {
  const char* value = std::getenv(name);
  if (!value || !*value) {
    FAIL("environment variable " << name
                                 << " is unset: run integration tests through scripts/test.sh");
  }
  return value;
}

std::string TestDatabase::dsn(const std::string& extra) {
  return env("PGPULSE_TEST_DSN") + (extra.empty() ? "" : " " + extra);
}

void TestDatabase::control(const std::string& action) {
  std::string output;
  int rc =
      run_command({env("PGPULSE_TEST_SERVER_SCRIPT"), action, env("PGPULSE_TEST_PGDIR")}, output);
  if (rc != 0) FAIL("pg_test_server.sh " << action << " failed: " << output);
}

Session::Session(const std::string& dsn) : conn_(PQconnectdb(dsn.c_str())) {
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn_);
    PQfinish(conn_);
    throw std::runtime_error("test session cannot connect: " + message);
  }
}
Session::~Session() {
  if (conn_) PQfinish(conn_);
}
Session::Session(Session&& other) noexcept : conn_(other.conn_) {
  other.conn_ = nullptr;
}

void Session::exec(const std::string& sql) {
  scalar(sql);
}

std::string Session::scalar(const std::string& sql) {
  while (PGresult* pending = PQgetResult(conn_)) PQclear(pending);  // after send()
  PGresult* result = PQexec(conn_, sql.c_str());
  auto status = PQresultStatus(result);
  std::string value;
  if (status == PGRES_TUPLES_OK && PQntuples(result) > 0) value = PQgetvalue(result, 0, 0);
  std::string error = PQresultErrorMessage(result);
  PQclear(result);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    throw std::runtime_error("test query failed: " + sql + ": " + error);
  }
  return value;
}

void Session::send(const std::string& sql) {
  if (!PQsendQuery(conn_, sql.c_str())) {
    throw std::runtime_error(std::string("send failed: ") + PQerrorMessage(conn_));
  }
}

int Session::backend_pid() {
  return PQbackendPID(conn_);
}

HttpResult http_get(int port, const std::string& path, std::chrono::milliseconds timeout) {
  try {
    boost::asio::io_context context;
    beast::tcp_stream stream(context);
    stream.expires_after(timeout);
    stream.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"),
                                 static_cast<unsigned short>(port)));
    http::request<http::empty_body> request{http::verb::get, path, 11};
    request.set(http::field::host, "127.0.0.1");
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    http::read(stream, buffer, parser);
    return HttpResult{static_cast<int>(parser.get().result_int()), parser.get().body()};
  } catch (const std::exception&) {
    return HttpResult{};
  }
}

Scrape::Scrape(const std::string& body) : text_(body) {
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    Series series;
    auto brace = line.find('{');
    auto space = line.rfind(' ');
    if (brace != std::string::npos && brace < space) {
      series.name = line.substr(0, brace);
      auto close = line.rfind('}');
      std::string labels = line.substr(brace + 1, close - brace - 1);
      std::size_t i = 0;
      while (i < labels.size()) {
        auto eq = labels.find('=', i);
        std::string key = labels.substr(i, eq - i);
        std::string value;
        std::size_t j = eq + 2;  // after ="
        for (; j < labels.size() && labels[j] != '"'; ++j) {
          if (labels[j] == '\\' && j + 1 < labels.size()) {
            ++j;
            value.push_back(labels[j] == 'n' ? '\n' : labels[j]);
          } else {
            value.push_back(labels[j]);
          }
        }
        series.labels[key] = value;
        i = j + 2;  // skip closing quote and comma
      }
    } else {
      series.name = line.substr(0, space);
    }
    series.value = std::strtod(line.c_str() + space + 1, nullptr);
    if (line.compare(space + 1, std::string::npos, "+Inf") == 0) series.value = HUGE_VAL;
    series_.push_back(std::move(series));
  }
}

std::optional<double> Scrape::value(const std::string& name,
                                    const std::map<std::string, std::string>& labels) const {
  for (const auto& series : series_) {
    if (series.name != name) continue;
    bool match = true;
    for (const auto& [key, value] : labels) {
      auto it = series.labels.find(key);
      match = match && it != series.labels.end() && it->second == value;
    }
    if (match) return series.value;
  }
  return std::nullopt;
}

double Scrape::sum(const std::string& name,
                   const std::map<std::string, std::string>& labels) const {
  double total = 0;
  for (const auto& series : series_) {
    if (series.name != name) continue;
    bool match = true;
    for (const auto& [key, value] : labels) {
      auto it = series.labels.find(key);
      match = match && it != series.labels.end() && it->second == value;
    }
    if (match) total += series.value;
  }
  return total;
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(step);
  }
  return condition();
}

// PGPULSE_TEST_BINARY runs the tests against another build, e.g. an older one, to see a new
// test fail before the fix it covers.
std::string pgpulse_binary() {
  const char* other = std::getenv("PGPULSE_TEST_BINARY");
  return other && *other ? other : PGPULSE_BINARY;
}

std::string write_temp_file(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() /
              ("pgpulse-it-" + std::to_string(::getpid()) + "-" + name);
  std::ofstream(path) << text;
  return path.string();
}

namespace {

pid_t spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
            int output_fd) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::dup2(output_fd, 1);
    ::dup2(output_fd, 2);
    for (const auto& [key, value] : env) ::setenv(key.c_str(), value.c_str(), 1);
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

}  // namespace

int run_command(const std::vector<std::string>& argv, std::string& output,
                const std::map<std::string, std::string>& env) {
  auto path = write_temp_file("command-output", "");
  int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC);
  pid_t pid = spawn(argv, env, fd);
  ::close(fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::ifstream in(path);
  output.assign(std::istreambuf_iterator<char>(in), {});
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

PgpulseProcess::PgpulseProcess(std::vector<std::string> args,
                               std::map<std::string, std::string> env)
    : port_(free_port()) {
  static int counter = 0;
  log_path_ = write_temp_file("pgpulse-" + std::to_string(++counter) + ".log", "");
  std::vector<std::string> argv{pgpulse_binary(), "--web.listen-address",
                                "127.0.0.1:" + std::to_string(port_)};
  argv.insert(argv.end(), args.begin(), args.end());
  int fd = ::open(log_path_.c_str(), O_WRONLY | O_TRUNC);
  pid_ = spawn(argv, env, fd);
  ::close(fd);
  bool up = eventually([&] { return http_get(port_, "/healthz", 500ms).status == 200; }, 10s);
  if (!up) FAIL("pgpulse did not start; its log:\n" << log());
}

PgpulseProcess::~PgpulseProcess() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

Scrape PgpulseProcess::scrape() const {
  auto result = http_get(port_, "/metrics");
  if (result.status != 200) FAIL("scrape failed with status " << result.status);
  return Scrape(result.body);
}

void PgpulseProcess::signal(int signal_number) const {
  ::kill(pid_, signal_number);
}

int PgpulseProcess::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(10ms);
  }
  return -1;
}

std::string PgpulseProcess::log() const {
  std::ifstream in(log_path_);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace pgpulse::testing
