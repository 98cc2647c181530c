// Bad input at start: a DSN libpq would misread, misspelled password keywords, a password file
// that is a FIFO. pgpulse refuses at once with an error that names the problem and never the
// secret.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>

#include "support.hpp"

using namespace pgpulse::testing;

TEST_CASE("config input - an unencoded '@' in a URI password is refused and never echoed",
          "[config][security]") {
  std::string output;
  int code =
      run_command({pgpulse_binary(), "--check-config", "--dsn",
                   "postgresql://app:s3cr@et-Pa55@127.0.0.1:" + TestDatabase::port() + "/postgres"},
                  output);
  INFO(output);
  CHECK(code == 2);
  CHECK(output.find("%40") != std::string::npos);
  CHECK(output.find("et-Pa55") == std::string::npos);
  CHECK(output.find("s3cr") == std::string::npos);
}

TEST_CASE("config input - misspelled password keywords are errors that never echo the value",
          "[config][security]") {
  for (const auto* key : {"passwd", "pwd"}) {
    std::string output;
    int code = run_command(
        {pgpulse_binary(), "--check-config", "--dsn", std::string("host=db ") + key + "=Hunter2"},
        output);
    INFO(output);
    CHECK(code == 2);
    CHECK(output.find("unknown connection keyword") != std::string::npos);
    CHECK(output.find("Hunter2") == std::string::npos);
  }
}

TEST_CASE("config input - a FIFO as password file is refused at once, not waited on",
          "[config][security]") {
  auto fifo =
      std::filesystem::temp_directory_path() / ("pgpulse-it-fifo-" + std::to_string(::getpid()));
  std::filesystem::remove(fifo);
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto started = std::chrono::steady_clock::now();
  std::string output;
  int code = run_command({pgpulse_binary(), "--dsn", TestDatabase::dsn(), "--password-file",
                          fifo.string(), "--web.listen-address", "127.0.0.1:0"},
                         output);
  auto took = std::chrono::steady_clock::now() - started;
  std::filesystem::remove(fifo);
  INFO(output);
  CHECK(code == 2);
  CHECK(output.find("is not a regular file") != std::string::npos);
  CHECK(took < std::chrono::seconds(5));
}
