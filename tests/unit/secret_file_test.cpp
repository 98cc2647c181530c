// Password files are read without blocking and without limits being exceeded: a FIFO, /dev/zero,
// a directory or an oversized file is an error naming the path, at once.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "config/secret_file.hpp"

using pgpulse::config::read_secret_file;

namespace {

std::string temp_path(const std::string& name) {
  auto path = std::filesystem::temp_directory_path() /
              ("pgpulse-secret-" + std::to_string(::getpid()) + "-" + name);
  std::filesystem::remove(path);
  return path.string();
}

}  // namespace

TEST_CASE("a password file's first line is the password; an empty file is none") {
  auto path = temp_path("ok");
  std::ofstream(path) << "s3cret-Pa55\r\nignored second line\n";
  auto secret = read_secret_file(path);
  CHECK(secret.error.empty());
  CHECK(secret.value == std::optional<std::string>("s3cret-Pa55"));
  std::ofstream(path, std::ios::trunc).flush();
  CHECK_FALSE(read_secret_file(path).value.has_value());
  CHECK(read_secret_file(path).error.empty());
  std::filesystem::remove(path);
}

TEST_CASE("a FIFO, /dev/zero, a directory or a large file is refused at once, content unseen") {
  auto fifo = temp_path("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto big = temp_path("big");
  std::ofstream(big) << std::string(5000, 'x');
  auto started = std::chrono::steady_clock::now();
  auto from_fifo = read_secret_file(fifo);  // no writer: a blocking open would never return
  auto from_zero = read_secret_file("/dev/zero");
  auto from_dir = read_secret_file(std::filesystem::temp_directory_path().string());
  auto from_big = read_secret_file(big);
  auto missing = read_secret_file(temp_path("missing"));
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(1));
  CHECK(from_fifo.error == "password file \"" + fifo + "\" is not a regular file");
  CHECK(from_zero.error == "password file \"/dev/zero\" is not a regular file");
  CHECK(from_dir.error.find("is not a regular file") != std::string::npos);
  CHECK(from_big.error == "password file \"" + big + "\" is larger than 4096 bytes");
  CHECK(from_big.error.find("xxx") == std::string::npos);
  CHECK(missing.error.find("cannot be opened: No such file or directory") != std::string::npos);
  for (const auto& s : {from_fifo, from_zero, from_dir, from_big, missing}) {
    CHECK_FALSE(s.value.has_value());
  }
  std::filesystem::remove(fifo);
  std::filesystem::remove(big);
}
